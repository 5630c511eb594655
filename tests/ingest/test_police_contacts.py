"""Stops and use of force: their vocabulary, their connectors, and a Minneapolis-style extract
onboarded from the profile in docs/ with every count equal to the extract's own."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from test_prepare_support import prepare_text

from wellbeat.events.codesets import police_contact_attributes
from wellbeat.events.schema import Kind
from wellbeat.ingest import ingest_batch
from wellbeat.ingest.connectors import CONNECTORS
from wellbeat.ingest.connectors.contacts import canonical
from wellbeat.lake.engine import DuckDBEngine

DOCS = Path(__file__).resolve().parents[2] / "docs" / "profiles"
CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("stop_type", "Traffic Law Enforcement (P)", "traffic"),
        ("stop_type", "  Suspicious   Person (P) ", "pedestrian"),
        ("stop_type", "FI", "field_interview"),
        ("outcome", "TAG-Tagged", "citation"),
        ("outcome", "BKG-Booking", "arrest"),
        ("outcome", "ADV-Advised", "warning"),
        ("person_searched", "YES", "true"),
        ("vehicle_searched", "n", "false"),
        ("race", "East African", "black"),
        ("race", "Latino", "hispanic"),
        ("force_type", "Taser", "conducted_energy_device"),
        ("force_type", "Gun Point Display", "firearm_pointed"),
        ("resistance", "Tensed", "passive"),
        ("subject_injury", "Yes", "true"),
        # a value no spelling matches stays as the extract gave it, visible under its own name
        ("stop_type", "Attempt Pick-Up (P)", "Attempt Pick-Up (P)"),
        ("outcome", None, None),
    ],
)
def test_open_data_spellings_read_into_one_vocabulary(
    name: str, raw: str | None, expected: str | None
) -> None:
    assert canonical(pa.array([raw], pa.string()), name).to_pylist() == [expected]


def test_every_contact_attribute_belongs_to_stop_or_use_of_force() -> None:
    kinds = {k for v in police_contact_attributes().values() for k in v.kinds}
    assert kinds == {Kind.STOP.value, Kind.USE_OF_FORCE.value}
    assert CONNECTORS["police_stop"].kind == "stop"
    assert CONNECTORS["use_of_force"].kind == "use_of_force"


STOP_PROFILE = (DOCS / "minneapolis-stops.yaml").read_text(encoding="utf-8")
FORCE_PROFILE = (DOCS / "minneapolis-use-of-force.yaml").read_text(encoding="utf-8")
STOP_COLUMNS = [
    "OBJECTID",
    "masterIncidentNumber",
    "responseDate",
    "reason",
    "problem",
    "callDisposition",
    "citationIssued",
    "personSearch",
    "vehicleSearch",
    "preRace",
    "race",
    "gender",
    "lat",
    "long",
    "policePrecinct",
    "neighborhood",
]
PROBLEMS = (
    "Traffic Law Enforcement (P)",
    "Suspicious Person (P)",
    "Suspicious Vehicle (P)",
    "Attempt Pick-Up (P)",
)
RACES = ("White", "Black", "East African", "Latino", "Native American", "Asian", "Unknown")
NEIGHBOURHOODS = ("Whittier", "Phillips West", "Near - North", "Jordan", "Downtown West")


def _local_times(rng: np.random.Generator, n: int) -> list[datetime]:
    """Local wall-clock times in 2017 that exist (none in the spring-forward gap), with the
    year's last half hour and both DST days represented."""
    start = datetime(2017, 1, 1)
    fixed = [
        datetime(2017, 12, 31, 23, 30),  # the year's last night: 2018 in UTC, 2017 locally
        datetime(2017, 12, 31, 18, 5),
        datetime(2017, 1, 1, 0, 10),  # 2017 locally, 2017-01-01 06:10 in UTC
        datetime(2017, 3, 12, 1, 59),
        datetime(2017, 3, 12, 3, 0),
        datetime(2017, 11, 5, 0, 59),
    ]
    out = list(fixed)
    while len(out) < n:
        t = start + timedelta(seconds=int(rng.integers(0, 365 * 24 * 3600)))
        if not (t.month == 3 and t.day == 12 and t.hour == 2):
            out.append(t)
    return out


def _stop_extract(n: int, seed: int = 7) -> tuple[str, list[dict[str, str]]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i, when in enumerate(_local_times(rng, n)):
        problem = PROBLEMS[int(rng.integers(0, len(PROBLEMS)))]
        person = rng.random() < 0.2
        vehicle = problem != "Suspicious Person (P)" and rng.random() < 0.15
        rows.append(
            {
                "OBJECTID": str(1000 + i),
                "masterIncidentNumber": f"17-{rng.integers(1, 999999):06d}",
                "responseDate": when.strftime("%Y/%m/%d %H:%M:%S"),
                "reason": ("Moving Violation", "Equipment Violation", "Investigative", "")[
                    int(rng.integers(0, 4))
                ],
                "problem": problem,
                "callDisposition": ("TAG-Tagged", "ADV-Advised", "BKG-Booking", "RFD-Reported")[
                    int(rng.integers(0, 4))
                ],
                "citationIssued": ("YES", "NO", "")[int(rng.integers(0, 3))],
                "personSearch": "YES" if person else "NO",
                "vehicleSearch": "YES" if vehicle else "NO",
                "preRace": RACES[int(rng.integers(0, len(RACES)))],
                "race": RACES[int(rng.integers(0, len(RACES)))],
                "gender": ("Male", "Female", "Unknown")[int(rng.integers(0, 3))],
                "lat": f"{44.95 + rng.random() * 0.05:.6f}",
                "long": f"{-93.30 + rng.random() * 0.06:.6f}",
                "policePrecinct": str(int(rng.integers(1, 6))),
                "neighborhood": NEIGHBOURHOODS[int(rng.integers(0, len(NEIGHBOURHOODS)))],
            }
        )
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=STOP_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue(), rows


def test_a_minneapolis_style_stop_extract_lands_as_stops_with_every_count_kept(
    tmp_path: Path,
) -> None:
    extract, rows = _stop_extract(1500)
    batch = prepare_text(tmp_path, extract, STOP_PROFILE)
    hub = tmp_path / "hub"
    result = ingest_batch(batch.summary.batch, hub, now=datetime(2018, 6, 1, tzinfo=UTC))
    assert (result.rows_in, result.committed, result.quarantined) == (1500, 1500, 0)

    engine = DuckDBEngine(hub)
    try:
        lake = engine.sql(
            "SELECT event_id, kind, sector, occurred_at, attributes, sensitivity FROM events"
        ).to_pylist()
    finally:
        engine.close()
    by_id = {r["event_id"]: r for r in lake}
    assert {r["kind"] for r in lake} == {"stop"}
    assert all("cji" in r["sensitivity"] for r in lake)

    # Counts by precinct and by problem equal the extract's own.
    attrs = {i: dict(r["attributes"]) for i, r in by_id.items()}
    assert Counter(a["precinct"] for a in attrs.values()) == Counter(
        r["policePrecinct"] for r in rows
    )
    assert Counter(a["problem"] for a in attrs.values()) == Counter(r["problem"] for r in rows)

    for raw in rows:
        event = by_id[raw["OBJECTID"]]
        a = attrs[raw["OBJECTID"]]
        # Local wall-clock time in the lake as UTC; the local year is the extract's year.
        local = datetime.strptime(raw["responseDate"], "%Y/%m/%d %H:%M:%S")
        assert event["occurred_at"] == local.replace(tzinfo=CHICAGO).astimezone(UTC)
        assert event["occurred_at"].astimezone(CHICAGO).year == 2017
        # Searches: searched is person or vehicle; flags canonical.
        person, vehicle = raw["personSearch"] == "YES", raw["vehicleSearch"] == "YES"
        assert a["person_searched"] == str(person).lower()
        assert a["searched"] == str(person or vehicle).lower()
        expected_type = {
            "Traffic Law Enforcement (P)": "traffic",
            "Suspicious Person (P)": "pedestrian",
            "Suspicious Vehicle (P)": "traffic",
        }.get(raw["problem"], raw["problem"])
        assert a["stop_type"] == expected_type
        if raw["citationIssued"]:
            assert a["citation_issued"] == {"YES": "true", "NO": "false"}[raw["citationIssued"]]
        else:
            assert "citation_issued" not in a

    last_night = next(r for r in rows if r["responseDate"] == "2017/12/31 23:30:00")
    assert by_id[last_night["OBJECTID"]]["occurred_at"] == datetime(2018, 1, 1, 5, 30, tzinfo=UTC)


def test_use_of_force_rows_carry_canonical_force_and_injury_as_health_information(
    tmp_path: Path,
) -> None:
    columns = (
        "PoliceUseOfForceID,CaseNumber,ResponseDate,Problem,Is911Call,PrimaryOffense,"
        "SubjectInjury,ForceType,ForceTypeAction,Race,Sex,EventAge,TypeOfResistance,Precinct,"
        "Neighborhood,CenterLatitude,CenterLongitude"
    )
    extract = "\n".join(
        [
            columns,
            "1,17-1,2017/06/01 22:10:00,Assault in Progress,Yes,ASLT5,Yes,Taser,Taser Deployed,"
            "Black,Male,27,Assaulting Police,3,Phillips West,44.95,-93.26",
            "2,17-2,2017/06/02 01:15:00,Suspicious Person,No,OBSTRU,No,Bodily Force,Joint Lock,"
            "White,Female,41,Tensed,1,Downtown West,44.97,-93.27",
            "3,17-3,2017/06/03 09:00:00,Traffic Law Enforcement,No,DUI,,Chemical Irritant,"
            "Personal Mace,Latino,Male,19,Fled,5,Whittier,44.96,-93.28",
        ]
    )
    batch = prepare_text(tmp_path, extract + "\n", FORCE_PROFILE)
    rows = batch.rows
    assert [r["kind"] for r in rows] == ["use_of_force"] * 3
    attrs = [batch.attributes(i) for i in range(3)]
    assert [a["force_type"] for a in attrs] == [
        "conducted_energy_device",
        "bodily_force",
        "chemical_irritant",
    ]
    assert [a["resistance"] for a in attrs] == ["assaultive", "passive", "fled"]
    assert [a.get("subject_injury") for a in attrs] == ["true", "false", None]
    assert [a["race"] for a in attrs] == ["black", "white", "hispanic"]
    assert [sorted(r["sensitivity"]) for r in rows] == [["cji", "phi"], ["cji"], ["cji"]]
    assert [r["age_band"] for r in rows] == ["25-29", "40-44", "15-19"]
