"""A small watched city for the surveillance tests: four neighbourhoods, 40 days of EMS
overdoses from MFD with a planted spike in n1 on the last day, and an agreement sharing them
with PHD for overdose response at neighbourhood x day."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.web.governance.lake_support import NEIGHBOURHOOD_CENTRES, write_areas

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.ingest import ingest_batch

FIRST_DAY = dt.date(2025, 3, 1)
DAYS = 40
LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
SPIKE_AREA = "n1"
SPIKE_COUNT = 6


def daily_counts() -> dict[tuple[str, dt.date], int]:
    """A quiet background (one event every few days per area) and the spike."""
    counts: dict[tuple[str, dt.date], int] = {}
    for offset in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=offset)
        for i, area in enumerate(sorted(NEIGHBOURHOOD_CENTRES)):
            if (offset + i) % 4 == 0:
                counts[(area, day)] = 1
    counts[(SPIKE_AREA, LAST_DAY)] = SPIKE_COUNT
    return counts


def ingest_daily(data_dir: Path, agency: str, counts: dict[tuple[str, dt.date], int]) -> None:
    rows = []
    for (area, day), n in sorted(counts.items()):
        lon, lat = NEIGHBOURHOOD_CENTRES[area]
        for k in range(n):
            occurred = dt.datetime.combine(day, dt.time(12, k), tzinfo=dt.UTC)
            i = len(rows) + 1
            rows.append(
                {
                    "row_number": i,
                    "event_id": f"{agency}-{i}",
                    "agency": agency,
                    "sector": "fire_ems",
                    "kind": "ems_response",
                    "occurred_at": occurred.isoformat(),
                    "reported_at": (occurred + dt.timedelta(minutes=5)).isoformat(),
                    "lat": str(lat),
                    "lon": str(lon),
                    "codes": [],
                    "syndromes": ["overdose", "opioid_overdose"],
                    "person_token": None,
                    "linkage_code": None,
                    "age_band": "30-34",
                    "sex": "male",
                    "attributes": [],
                    "sensitivity": ["phi"],
                }
            )
    directory = data_dir.parent / f"batch-{agency}-daily"
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=BATCH_SCHEMA), directory / "events.parquet")
    meta = {
        "format": "wellbeat-batch/1",
        "agency": agency,
        "sector": "fire_ems",
        "connector": "generic",
        "profile": "surveillance-test",
        "rows": len(rows),
    }
    (directory / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
    result = ingest_batch(directory, data_dir)
    assert result.quarantined == 0, result


def ems_city(
    world: Any,
    data_dir: Path,
    *,
    min_cell: int = 1,
    syndromes: tuple[str, ...] = ("overdose", "opioid_overdose"),
) -> None:
    """Layers, MFD's daily EMS overdoses in the lake, and an active MFD -> PHD agreement
    (neighbourhood x day) with ``min_cell`` and ``syndromes``."""
    from wellbeat.web.governance import actions

    write_areas(data_dir)
    ingest_daily(data_dir, "MFD", daily_counts())
    agreement = actions.do_draft_agreement(
        world.users["mfd_admin"],
        title="EMS overdoses to public health",
        provider=world.agencies["MFD"],
        recipient=world.agencies["PHD"],
        purpose="overdose_response",
        granularity="aggregate",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=min_cell,
        valid_from=FIRST_DAY - dt.timedelta(days=30),
        syndromes=syndromes,
    )
    actions.do_approve_agreement(world.users["mfd_admin"], agreement, "ok")
    actions.do_approve_agreement(world.users["phd_admin"], agreement, "ok")


@pytest.fixture
def watched_city(hub_data_dir: Path, world: Any) -> Path:
    """The lake, layers and an active MFD -> PHD overdose agreement (neighbourhood x day)."""
    ems_city(world, hub_data_dir)
    return hub_data_dir


@pytest.fixture
def detected(watched_city: Path) -> Any:
    """Detection run once over the whole history."""
    from wellbeat.web.surveillance.detection import run_detection

    return run_detection(LAST_DAY, since=FIRST_DAY)
