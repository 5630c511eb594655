"""Each connector on a small extract written in its source's own format."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st
from test_prepare_support import prepare_text

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.ingest.connectors import CONNECTORS
from wellbeat.ingest.connectors.base import SourceRows
from wellbeat.ingest.profile import parse_profile

DOCS = Path(__file__).resolve().parents[2] / "docs"

CAD = """\
Incident No,Call Received,Call Type,Priority,Lat,Lon,Caller Name,Caller Phone,Narrative
24-000101,06/01/2024 22:14:05,EDP,2,41.881,-87.623,Marta Quill,312-555-0144,man yelling at cars
24-000102,06/01/2024 22:31:40,OD,1,41.882,-87.624,,,friend not breathing took pills
24-000103,06/02/2024 01:02:00,NOISE,4,41.883,-87.625,Ed Rook,312-555-0199,loud party
24-000104,06/02/2024 01:30:00,BANANA,4,41.884,-87.626,,,unknown code
"""
CAD_PROFILE = """\
profile: mpd-cad
connector: police_cad
agency: MPD
timezone: America/Chicago
fields:
  event_id: {column: Incident No}
  occurred_at: {column: Call Received, format: "%m/%d/%Y %H:%M:%S"}
  lat: {column: Lat}
  lon: {column: Lon}
codes:
  - {column: Call Type, namespace: apco}
attributes:
  priority: {column: Priority}
identity:
  first_name: Caller Name
  phone: Caller Phone
keep_text:
  narrative: Narrative
"""


def test_police_cad_derives_syndromes_and_response_flags_from_apco_types(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, CAD, CAD_PROFILE)
    rows = batch.rows
    assert [r["sector"] for r in rows] == ["police"] * 4
    assert [r["kind"] for r in rows] == ["call_for_service"] * 4
    assert rows[0]["syndromes"] == ["mental_health_crisis"]
    assert rows[1]["syndromes"] == ["overdose"]
    assert rows[2]["syndromes"] == []
    assert batch.attributes(0) == {
        "priority": "2",
        "behavioral_health": "true",
        "civilian_eligible": "true",
    }
    assert batch.attributes(1)["civilian_eligible"] == "false"
    assert batch.attributes(2)["behavioral_health"] == "false"
    # An unknown call type says nothing either way, and the code still reaches ingest.
    assert batch.attributes(3) == {"priority": "4"}
    assert rows[3]["codes"] == ["apco:BANANA"]
    assert rows[0]["occurred_at"] == "2024-06-02T03:14:05Z"
    for secret in (b"Marta", b"Quill", b"312-555-0144", b"yelling", b"not breathing"):
        assert secret not in batch.raw


NIBRS = """\
{"no": "N-1", "at": "2024-06-03T10:15:00-05:00", "offenses": "13A|23C", "victim": "Rosa Ortiz"}
{"no": "N-2", "at": "2024-06-03T11:00:00-05:00", "offenses": "35A", "victim": null}
{"no": "N-3", "at": "2024-06-03T12:00:00-05:00", "offenses": "", "victim": null}
"""
NIBRS_PROFILE = """\
profile: mpd-nibrs
connector: nibrs_incident
agency: MPD
fields:
  event_id: {column: no}
  occurred_at: {column: at}
codes:
  - {column: offenses, namespace: nibrs, split: "|"}
identity:
  last_name: victim
sensitivity: [juvenile]
"""


def test_nibrs_incident_marks_cji_and_crimes_against_persons(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, NIBRS, NIBRS_PROFILE, extract_name="incidents.ndjson")
    rows = batch.rows
    assert [r["kind"] for r in rows] == ["incident"] * 3
    assert rows[0]["codes"] == ["nibrs:13A", "nibrs:23C"]
    assert rows[0]["syndromes"] == ["violent_crime"]
    assert batch.attributes(0)["crime_against"] == "person;property"
    assert batch.attributes(1)["crime_against"] == "society"
    assert rows[1]["syndromes"] == []
    assert "crime_against" not in batch.attributes(2)
    assert all(r["sensitivity"] == ["juvenile", "cji"] for r in rows)
    assert rows[0]["occurred_at"] == "2024-06-03T15:15:00Z"
    assert b"Ortiz" not in batch.raw


EMS = """\
PCR,Unit Notified,Impression 1,Impression 2,Medication,Response,Doses,Last,First,DOB
P1,2024-06-04 08:00,T40.1X1A,,,,,Quill,Marta,04/12/1988
P2,2024-06-04 09:00,F11.120,,,,,,,
P3,2024-06-04 10:00,R40.20,,7242,Improved,1,,,
P4,2024-06-04 11:00,R40.20,,7242,Unchanged,1,,,
P5,2024-06-04 12:00,R40.20,,,Improved,2,,,
P6,2024-06-04 13:00,S06.0X0A,,,,,,,
"""
EMS_PROFILE = """\
profile: county-ems
connector: ems_run
agency: CEMS
fields:
  event_id: {column: PCR}
  occurred_at: {column: Unit Notified}
  age_band: {from_dob: DOB, format: "%m/%d/%Y"}
codes:
  - {column: Impression 1, namespace: icd10cm}
  - {column: Impression 2, namespace: icd10cm}
  - {column: Medication, namespace: rxnorm}
attributes:
  naloxone_response: {column: Response, map: {Improved: "9916001", Unchanged: "9916003"}}
  naloxone_doses: {column: Doses}
identity:
  first_name: First
  last_name: Last
  dob: DOB
  dob_format: "%m/%d/%Y"
"""


def test_ems_run_applies_the_nemsis_opioid_overdose_case_definition(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, EMS, EMS_PROFILE)
    cases = [batch.attributes(i)["nemsis_opioid_case"] for i in range(6)]
    # impression heroin; impression F11; naloxone improved; naloxone unchanged;
    # doses only but improved; head injury.
    assert cases == ["true", "true", "true", "false", "true", "false"]
    rows = batch.rows
    assert "opioid_overdose" in rows[0]["syndromes"]
    assert "overdose" in rows[2]["syndromes"]
    assert rows[3]["syndromes"] == []
    assert rows[5]["syndromes"] == []
    assert all(r["sector"] == "fire_ems" and r["kind"] == "ems_response" for r in rows)
    assert all(r["sensitivity"] == ["phi"] for r in rows)
    assert rows[0]["age_band"] == "35-39"
    assert rows[0]["person_token"] is not None and rows[0]["person_token"].startswith("p1:")
    assert rows[1]["person_token"] is None
    for secret in (b"Quill", b"Marta", b"04/12/1988", b"1988-04-12"):
        assert secret not in batch.raw


def test_ed_syndromic_reads_the_chief_complaint_at_the_source_only(tmp_path: Path) -> None:
    extract = pa.table(
        {
            "VisitID": ["V1", "V2", "V3"],
            "Arrival": pa.array(
                [1717500000_000000, 1717503600_000000, 1717507200_000000],
                pa.timestamp("us", tz="UTC"),
            ),
            "ChiefComplaint": ["found down after heroin use", "ankle pain after fall", None],
            "DischargeDx": ["", "S93.401A", "T40.411A;F11.120"],
            "PatientName": ["Ezra Vance", "Ines Pardo", "Tom Hale"],
            "Sex": ["M", "F", "X"],
        }
    )
    path = tmp_path / "ed.parquet"
    pq.write_table(extract, path)
    profile = """\
profile: general-ed
connector: ed_syndromic
agency: GEN
fields:
  event_id: {column: VisitID}
  occurred_at: {column: Arrival}
  sex: {column: Sex}
codes:
  - {column: DischargeDx, namespace: icd10cm, split: ";"}
identity:
  last_name: PatientName
  sex: Sex
keep_text:
  chief_complaint: ChiefComplaint
"""
    batch = prepare_text(tmp_path, path.read_bytes(), profile, extract_name="ed.parquet")
    rows = batch.rows
    assert "heroin_overdose" in rows[0]["syndromes"]
    assert rows[1]["syndromes"] == []
    assert "fentanyl_overdose" in rows[2]["syndromes"]
    assert [r["sex"] for r in rows] == ["male", "female", "other"]
    assert rows[0]["occurred_at"] == "2024-06-04T11:20:00Z"
    assert all(r["kind"] == "ed_visit" and r["sensitivity"] == ["phi"] for r in rows)
    for secret in (b"heroin use", b"ankle pain", b"Ezra", b"Pardo"):
        assert secret not in batch.raw


ME = """\
Case Number,Date of Death,Underlying Cause,Contributing Causes,Manner,Decedent
ME-24-0071,2024-06-05,X42,T40.1;T40.4,Accident,Carl Benton
ME-24-0072,2024-06-06,I21.9,,Natural,Dora Fenn
ME-24-0073,2024-06-07,X44,T43.6,Accident,Lee Park
"""
ME_PROFILE = """\
profile: county-me
connector: medical_examiner
agency: CME
fields:
  event_id: {column: Case Number}
  occurred_at: {column: Date of Death}
codes:
  - {column: Underlying Cause, namespace: icd10cm}
  - {column: Contributing Causes, namespace: icd10cm, split: ";"}
attributes:
  manner: {column: Manner}
identity:
  last_name: Decedent
"""


def test_medical_examiner_derives_fatal_overdose_syndromes(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, ME, ME_PROFILE)
    rows = batch.rows
    assert {"heroin_overdose", "fentanyl_overdose", "opioid_overdose", "overdose"} <= set(
        rows[0]["syndromes"]
    )
    assert rows[1]["syndromes"] == []
    assert "stimulant_overdose" in rows[2]["syndromes"]
    assert all(r["kind"] == "death" and r["sector"] == "medical_examiner" for r in rows)
    assert batch.attributes(0) == {"manner": "Accident", "fatal": "true"}
    assert rows[0]["occurred_at"] == "2024-06-05T00:00:00Z"
    assert b"Benton" not in batch.raw


CARDIFF = """\
Attendance,Arrived,Assault Method,Location Type,Location Description,Patient
A1,2024-06-08 23:40,Punched and kicked,Street,outside the Red Lion on Quay St,Nia Cole
A2,2024-06-09 00:10,Glass bottle,Pub/bar/club,the Red Lion,
A3,2024-06-09 01:00,stabbed with a kitchen knife,Own home,,
A4,2024-06-09 02:00,shot with a handgun,,,
A5,2024-06-09 03:00,,Other,,
"""
CARDIFF_PROFILE = """\
profile: general-ed-istv
connector: cardiff_assault
agency: GEN
fields:
  event_id: {column: Attendance}
  occurred_at: {column: Arrived}
attributes:
  location_type: {column: Location Type}
identity:
  last_name: Patient
keep_text:
  assault_method: Assault Method
  location_description: Location Description
"""


def test_cardiff_assault_groups_weapon_and_location_without_sharing_text(
    tmp_path: Path,
) -> None:
    batch = prepare_text(tmp_path, CARDIFF, CARDIFF_PROFILE)
    weapons = [batch.attributes(i).get("weapon_category") for i in range(5)]
    places = [batch.attributes(i).get("location_category") for i in range(5)]
    assert weapons == ["body_part", "glass_bottle", "knife_sharp", "firearm", None]
    assert places == ["street_public", "licensed_premises", "home", None, "other"]
    rows = batch.rows
    assert all(r["kind"] == "assault_attendance" for r in rows)
    assert all("assault_injury" in r["syndromes"] for r in rows)
    assert "firearm_injury" in rows[3]["syndromes"]
    assert "firearm_injury" not in rows[0]["syndromes"]
    for secret in (b"Red Lion", b"Quay St", b"kitchen knife", b"Nia Cole"):
        assert secret not in batch.raw


def test_every_connector_in_the_contract_is_registered() -> None:
    table = (DOCS / "profiles.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE))
    assert documented == set(CONNECTORS)
    guide = (DOCS / "prepare.md").read_text(encoding="utf-8")
    for name in CONNECTORS:
        assert f"`{name}`" in guide, f"connector {name} is not described in docs/prepare.md"


_CODES = st.sampled_from(
    [
        "apco:EDP",
        "apco:OD",
        "nibrs:13A",
        "nibrs:23C",
        "icd10cm:T40.1X1A",
        "icd10cm:X42",
        "rxnorm:7242",
        "local:zzz",
    ]
)
_ROW = st.fixed_dictionaries(
    {
        "codes": st.lists(_CODES, max_size=4, unique=True),
        "syndromes": st.lists(st.sampled_from(["homelessness", "overdose"]), unique=True),
        "attributes": st.dictionaries(
            st.sampled_from(["naloxone_response", "naloxone_doses", "weapon", "fatal"]),
            st.sampled_from(["9916001", "2", "knife", "false"]),
            max_size=3,
        ),
    }
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, max_size=12), name=st.sampled_from(sorted(CONNECTORS)))
def test_connectors_keep_rows_codes_and_what_the_profile_said(
    rows: list[dict[str, object]], name: str
) -> None:
    """Invariant: a connector adds, never removes or reorders: same rows, same codes, kept
    syndromes, kept attributes; no list holds a value twice."""
    n = len(rows)
    events = pa.Table.from_pydict(
        {
            "row_number": list(range(1, n + 1)),
            "event_id": [f"E{i}" for i in range(n)],
            "agency": ["A"] * n,
            "sector": ["police"] * n,
            "kind": ["incident"] * n,
            "occurred_at": ["2024-01-01T00:00:00Z"] * n,
            "reported_at": [None] * n,
            "lat": [None] * n,
            "lon": [None] * n,
            "codes": [r["codes"] for r in rows],
            "syndromes": [r["syndromes"] for r in rows],
            "person_token": [None] * n,
            "linkage_code": [None] * n,
            "age_band": [None] * n,
            "sex": [None] * n,
            "attributes": [list(r["attributes"].items()) for r in rows],  # type: ignore[attr-defined]
            "sensitivity": [["phi"]] * n,
        },
        schema=BATCH_SCHEMA,
    )
    profile = parse_profile(
        f"profile: p\nconnector: {name}\nagency: A\nsector: police\nkind: incident\n"
        "fields:\n  occurred_at: {column: t}\n"
    )
    derived = CONNECTORS[name].derive(SourceRows(events, {}, profile))
    assert derived.num_rows == n
    before, after = events.to_pylist(), derived.to_pylist()
    for old, new in zip(before, after, strict=True):
        assert new["row_number"] == old["row_number"]
        assert new["codes"] == old["codes"]
        assert new["syndromes"][: len(old["syndromes"])] == old["syndromes"]
        assert dict(new["attributes"]).items() >= dict(old["attributes"]).items()
        assert "phi" in new["sensitivity"]
        for column in ("syndromes", "sensitivity"):
            assert len(new[column]) == len(set(new[column]))
