"""A small hand-built lake for the indicator tests: every event listed here, ingested through
``wellbeat.ingest.ingest_batch`` over a 2x2 grid of beats (population 1,000 each)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.ingest import ingest_batch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))
from test_ingest_support import write_grid_layer

NOW = datetime(2024, 6, 1, tzinfo=UTC)
T0 = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)  # a Monday
CELLS = {"beat-00": ("0.25", "0.25"), "beat-10": ("0.25", "0.75"), "beat-11": ("0.75", "0.75")}
"""(lat, lon) of a point inside each grid beat (beat-<column><row>, column by longitude)."""
SECTORS = {"MPD": "police", "EMS": "fire_ems", "GEN": "emergency_dept", "OME": "medical_examiner",
           "NBH": "behavioral_health", "CGH": "emergency_dept"}  # fmt: skip


@dataclass
class Event:
    agency: str
    kind: str
    at: datetime
    syndromes: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    person: str | None = None
    area: str | None = "beat-00"
    """None: no coordinates (the event is __outside__ every area)."""


def batch_row(n: int, e: Event) -> dict[str, Any]:
    lat, lon = CELLS[e.area] if e.area else (None, None)
    return {
        "row_number": n,
        "event_id": f"{e.agency}-{n}",
        "agency": e.agency,
        "sector": SECTORS[e.agency],
        "kind": e.kind,
        "occurred_at": e.at.isoformat(),
        "reported_at": (e.at + timedelta(hours=2)).isoformat(),
        "lat": lat,
        "lon": lon,
        "codes": e.codes,
        "syndromes": e.syndromes,
        "person_token": e.person,
        "linkage_code": None,
        "age_band": "30-34",
        "sex": "female",
        "attributes": list(e.attributes.items()),
        "sensitivity": [],
    }


def ingest_events(data_dir: Path, events: list[Event], work: Path, now: datetime = NOW) -> None:
    """Write one batch per agency and ingest it into the hub at ``data_dir``."""
    if not (data_dir / "areas" / "beat.geojson").exists():
        write_grid_layer(data_dir, "beat")
    by_agency: dict[str, list[Event]] = {}
    for e in events:
        by_agency.setdefault(e.agency, []).append(e)
    for agency, rows in sorted(by_agency.items()):
        directory = work / f"batch-{agency}-{len(list(work.glob('batch-*')))}"
        directory.mkdir(parents=True)
        table = pa.Table.from_pylist(
            [batch_row(n, e) for n, e in enumerate(rows, 1)], schema=BATCH_SCHEMA
        )
        pq.write_table(table, directory / "events.parquet")
        meta = {"format": "wellbeat-batch/1", "agency": agency, "sector": SECTORS[agency],
                "connector": "generic", "profile": "test", "rows": len(rows)}  # fmt: skip
        (directory / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
        ingest_batch(directory, data_dir, now=now)


def day(n: int, hours: float = 0) -> datetime:
    return T0 + timedelta(days=n, hours=hours)


def world_events() -> list[Event]:
    """Events touching every catalogue indicator, and near misses that must not count."""
    ev: list[Event] = []
    # EMS: overdose runs (one with naloxone by dose count only, one by RxNorm code)
    ev += [Event("EMS", "ems_response", day(i), ["overdose", "opioid_overdose"]) for i in range(3)]
    ev.append(Event("EMS", "ems_response", day(1, 3), ["overdose"], ["rxnorm:7242"],
                    {"naloxone_doses": "2"}))  # fmt: skip
    ev.append(Event("EMS", "ems_response", day(2, 3), [], [], {"naloxone_doses": "1"}))
    ev.append(Event("EMS", "ems_response", day(2, 4), [], ["rxnorm:203192"]))
    ev.append(Event("EMS", "ems_response", day(2, 5), [], [], {"naloxone_doses": "0"}))
    ev.append(Event("EMS", "ems_response", day(2, 6), [], [], {"naloxone_doses": "n/a"}))
    ev.append(Event("EMS", "ems_response", day(3), ["self_harm"], area="beat-10"))
    # ED: DOSE overdoses, stimulant, assault, firearm, self-harm
    ev += [Event("GEN", "ed_visit", day(i, 1), ["overdose", "stimulant_overdose"], area="beat-10")
           for i in range(4)]  # fmt: skip
    ev.append(Event("GEN", "ed_visit", day(5), ["assault_injury", "firearm_injury"]))
    ev.append(Event("GEN", "ed_visit", day(6), ["assault_injury"], area="beat-11"))
    ev.append(Event("GEN", "ed_visit", day(6, 2), ["self_harm", "overdose"]))
    ev.append(Event("GEN", "ed_visit", day(7), ["alcohol_intoxication"]))
    ev.append(Event("CGH", "assault_attendance", day(8), ["assault_injury"], area=None))
    ev.append(Event("CGH", "assault_attendance", day(8, 1), ["assault_injury", "firearm_injury"]))
    # ME deaths
    ev.append(Event("OME", "death", day(9), ["overdose", "opioid_overdose"], ["icd10:X42"]))
    ev.append(Event("OME", "death", day(9, 1), [], ["icd10:I21.9"]))
    # Police: NIBRS incidents, CAD calls
    ev.append(Event("MPD", "incident", day(1), ["violent_crime"], ["nibrs:13A"]))
    ev.append(Event("MPD", "incident", day(2), ["violent_crime"], ["nibrs:13B", "nibrs:120"]))
    ev.append(Event("MPD", "incident", day(2, 2), [], ["nibrs:220"]))
    ev.append(Event("MPD", "call_for_service", day(3), ["violent_crime"], ["apco:ASSAULT"]))
    ev.append(Event("MPD", "call_for_service", day(4), ["overdose"], ["apco:OD"]))
    ev.append(Event("MPD", "call_for_service", day(4, 1), ["mental_health_crisis"], ["apco:EDP"],
                    person="A"))  # fmt: skip
    ev.append(Event("NBH", "crisis_contact", day(5), [], ["local:PSYCH"], person="B"))
    ev.append(Event("NBH", "crisis_contact", day(10), ["mental_health_crisis"], person="B"))
    return ev


# Hand counts of each indicator's numerator over the whole world (read off the list above).
HAND_COUNTS = {
    "suspected_overdose": 3 + 1 + 4 + 1,  # EMS overdose runs, ED overdose visits
    "ems_naloxone": 3,  # rxnorm:7242 (+doses), doses 1, rxnorm:203192; not 0 or "n/a"
    "opioid_overdose": 3,  # the EMS opioid runs (ME death is not an EMS/ED encounter)
    "stimulant_overdose": 4,
    "fatal_overdose": 1,
    "violent_crime": 2,  # incidents only, not the CAD assault call
    "ed_assault_injury": 4,  # 2 ED visits + 2 Cardiff attendances
    "firearm_injury": 2,
    "mental_health_crisis_call": 3,  # 1 EDP call + 2 crisis contacts
    "repeat_crisis_call_30d": 1,  # B's second contact, 5 days after the first
    "self_harm": 1,  # the ED visit (the EMS run is not in the ED definition)
}
