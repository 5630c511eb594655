"""A small police city for the indicator and equity pages: MPD's stops and uses of force with
the canonical attributes, ingested through the real path into a lake with nested layers.

Twelve stops (hand-checkable, as in tests/analytics/equity): 6 of White people (2 searched,
1 with contraband), 4 of Black people (3 searched, 1 with contraband), 2 of Hispanic people
(none searched); force used in stops S0, S6 (two force types) and S7."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.web.governance.lake_support import NEIGHBOURHOOD_CENTRES, write_areas

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.ingest import ingest_batch

FIRST = dt.date(2025, 3, 3)
LAST = dt.date(2025, 3, 16)
STOPS: list[tuple[str, str, str | None, str, int]] = [
    # (race, searched, contraband_found, neighbourhood, day offset)
    ("white", "true", "true", "n0", 0),
    ("white", "true", "false", "n0", 1),
    *[("white", "false", None, "n1", d) for d in (2, 3, 8, 9)],
    ("black", "true", "true", "n2", 0),
    ("black", "true", "false", "n2", 7),
    ("black", "true", "false", "n3", 8),
    ("black", "false", None, "n3", 9),
    *[("hispanic", "false", None, "n1", d) for d in (1, 10)],
]
FORCE = [("S0", "bodily_force"), ("S6", "bodily_force"), ("S6", "chemical_irritant"),
         ("S7", "restraint")]  # fmt: skip


def stop_rows() -> pd.DataFrame:
    """The stops as the equity functions take them (for checking the page by hand)."""
    frame = pd.DataFrame(
        [(f"S{i}", r, s, c) for i, (r, s, c, _, _) in enumerate(STOPS)],
        columns=["event_id", "race", "searched", "contraband_found"],
    )
    return frame


def _batch(data_dir: Path, agency: str, kind: str, rows: list[dict[str, Any]], name: str) -> None:
    directory = data_dir.parent / f"batch-{agency}-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=BATCH_SCHEMA), directory / "events.parquet")
    meta = {
        "format": "wellbeat-batch/1",
        "agency": agency,
        "sector": "police",
        "connector": "generic",
        "profile": "indicators-test",
        "rows": len(rows),
    }
    (directory / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
    result = ingest_batch(directory, data_dir)
    assert result.quarantined == 0, result


def _row(i: int, event_id: str, kind: str, when: dt.datetime, area: str, attributes: dict) -> dict:
    lon, lat = NEIGHBOURHOOD_CENTRES[area]
    return {
        "row_number": i,
        "event_id": event_id,
        "agency": "MPD",
        "sector": "police",
        "kind": kind,
        "occurred_at": when.isoformat(),
        "reported_at": (when + dt.timedelta(minutes=30)).isoformat(),
        "lat": str(lat),
        "lon": str(lon),
        "codes": [],
        "syndromes": [],
        "person_token": None,
        "linkage_code": None,
        "age_band": "30-34",
        "sex": "male",
        "attributes": sorted(attributes.items()),
        "sensitivity": ["cji"],
    }


def ingest_stops(data_dir: Path) -> None:
    stops = []
    for i, (race, searched, found, area, offset) in enumerate(STOPS):
        when = dt.datetime.combine(FIRST + dt.timedelta(days=offset), dt.time(15, i), dt.UTC)
        attributes = {"race": race, "searched": searched, "stop_type": "traffic"}
        if found is not None:
            attributes["contraband_found"] = found
        stops.append(_row(i + 1, f"S{i}", "stop", when, area, attributes))
    _batch(data_dir, "MPD", "stop", stops, "stops")
    force = []
    for j, (stop_id, force_type) in enumerate(FORCE):
        stop = STOPS[int(stop_id[1:])]
        when = dt.datetime.combine(FIRST + dt.timedelta(days=stop[4]), dt.time(16, j), dt.UTC)
        attributes = {"stop_id": stop_id, "force_type": force_type, "race": stop[0]}
        force.append(_row(j + 1, f"F{j}", "use_of_force", when, stop[3], attributes))
    _batch(data_dir, "MPD", "use_of_force", force, "force")


def share_stops(world: Any, recipient: str, *, fields: tuple[str, ...] = (), **extra: Any) -> Any:
    """An active MPD -> ``recipient`` agreement on stops and uses of force (aggregate,
    neighbourhood x day, k = 1 unless ``min_cell``) naming ``fields``."""
    from wellbeat.web.governance import actions

    options: dict[str, Any] = {
        "granularity": "aggregate",
        "finest_layer": "neighbourhood",
        "finest_period": "day",
        "min_cell": 1,
        "purpose": "public_health_surveillance",
        **extra,
    }
    agreement = actions.do_draft_agreement(
        world.users["mpd_admin"],
        title=f"MPD stops to {recipient}",
        provider=world.agencies["MPD"],
        recipient=world.agencies[recipient],
        valid_from=FIRST - dt.timedelta(days=30),
        kinds=("stop", "use_of_force"),
        fields=fields,
        **options,
    )
    actions.do_approve_agreement(world.users["mpd_admin"], agreement, "ok")
    admin = world.users[f"{recipient.lower()}_admin"]
    actions.do_approve_agreement(admin, agreement, "ok")
    return agreement


@pytest.fixture
def police_city(hub_data_dir: Path, world: Any) -> Path:
    write_areas(hub_data_dir)
    ingest_stops(hub_data_dir)
    return hub_data_dir
