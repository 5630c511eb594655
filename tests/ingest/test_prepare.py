"""``wellbeat prepare``: mapping, identifiers left behind, pass-through of bad values, the CLI."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_prepare_support import KEY_HEX, key_file, prepare_text

from wellbeat.cli import cli
from wellbeat.events.schema import AGE_BANDS, BATCH_SCHEMA
from wellbeat.ingest import ingest_batch
from wellbeat.ingest.prepare import BATCH_FORMAT, map_rows, parse_timestamps
from wellbeat.ingest.profile import PrepareError, parse_profile
from wellbeat.privacy.keys import key_fingerprint

EXTRACT = """\
CallNumber,CallReceived,Latitude,Longitude,Gender,Age,CallType,Offenses,Disposition,FirstName,LastName,BirthDate,SSN,Phone,Street,Narrative,OfficerNotes
C1,03/01/2024 08:15:00,41.88,-87.63,M,34,PSYCH,13A; 90C,ARR,Johanna,Vexley,1990-02-01,123-45-6780,312-555-0101,18 Larkspur Ave,man shouting at traffic,badge 4471
C2,13/45/2024 08:15:00,north,-87.62,F,ninety,OD,,,Quentin,Marlowe,02/30/1950,,,,possible overdose,
C3,11/03/2024 01:30:00,,,Q,95,WELF, 13B ; ,,,,,,,,,
C4,03/10/2024 02:30:00,41.9,-87.6,,,CFS,,,Johanna,Vexley,1990-02-01,123-45-6780,312-555-0101,18 Larkspur Ave,,
"""  # noqa: E501  (an extract's rows are as wide as the agency makes them)
PROFILE = """\
profile: metro-pd-cad
connector: generic
agency: MPD
sector: police
kind: call_for_service
timezone: America/Chicago
fields:
  event_id: {column: CallNumber}
  occurred_at: {column: CallReceived, format: "%m/%d/%Y %H:%M:%S"}
  lat: {column: Latitude}
  lon: {column: Longitude}
  sex: {column: Gender}
  age_band: {column: Age}
codes:
  - {column: CallType, namespace: apco, map: {PSYCH: EDP, WELF: WELFARE}}
  - {column: Offenses, namespace: nibrs, split: ";"}
attributes:
  disposition: {column: Disposition, map: {ARR: arrest}}
identity:
  first_name: FirstName
  last_name: LastName
  dob: BirthDate
  ssn: SSN
  phone: Phone
  address: Street
keep_text:
  narrative: Narrative
sensitivity: [cji]
"""
IDENTIFIERS = (
    "Johanna",
    "Vexley",
    "Quentin",
    "Marlowe",
    "1990-02-01",
    "02/30/1950",
    "123-45-6780",
    "123456780",
    "312-555-0101",
    "3125550101",
    "Larkspur",
)
UNMAPPED = ("badge 4471", "shouting at traffic", "possible overdose")


def test_maps_every_row_in_order_onto_the_batch_schema(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, EXTRACT, PROFILE)
    assert batch.table.schema.equals(BATCH_SCHEMA, check_metadata=False)
    rows = batch.rows
    assert [r["row_number"] for r in rows] == [1, 2, 3, 4]
    assert [r["event_id"] for r in rows] == ["C1", "C2", "C3", "C4"]
    first = rows[0]
    assert first["agency"] == "MPD" and first["sector"] == "police"
    assert first["kind"] == "call_for_service"
    assert first["occurred_at"] == "2024-03-01T14:15:00Z"  # CST is UTC-6
    assert (first["lat"], first["lon"]) == ("41.88", "-87.63")
    assert (first["sex"], first["age_band"]) == ("male", "30-34")
    assert first["codes"] == ["apco:EDP", "nibrs:13A", "nibrs:90C"]
    assert dict(first["attributes"]) == {"disposition": "arrest"}
    assert first["sensitivity"] == ["cji"]
    assert rows[2]["codes"] == ["apco:WELFARE", "nibrs:13B"]
    assert rows[2]["age_band"] == "90+"


def test_unconvertible_values_pass_through_as_their_raw_text(tmp_path: Path) -> None:
    rows = prepare_text(tmp_path, EXTRACT, PROFILE).rows
    bad = rows[1]
    assert bad["occurred_at"] == "13/45/2024 08:15:00"
    assert bad["lat"] == "north"
    assert bad["age_band"] == "ninety"
    assert rows[2]["sex"] == "Q"
    # A DOB that does not parse yields no pseudonym; it is never copied out.
    assert bad["person_token"] is None
    assert rows[3]["sex"] is None and rows[3]["age_band"] is None


def test_daylight_saving_edges_in_the_profile_timezone(tmp_path: Path) -> None:
    rows = prepare_text(tmp_path, EXTRACT, PROFILE).rows
    # 01:30 on 3 Nov 2024 happens twice in Chicago: the first (CDT, UTC-5) is taken.
    assert rows[2]["occurred_at"] == "2024-11-03T06:30:00Z"
    # 02:30 on 10 Mar 2024 never happens in Chicago: it moves forward to 03:00 CDT.
    assert rows[3]["occurred_at"] == "2024-03-10T08:00:00Z"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-06-01T12:00:00Z", "2024-06-01T12:00:00Z"),
        ("2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00Z"),
        ("2024-06-01 12:00:00-0500", "2024-06-01T17:00:00Z"),
        ("2024-06-01 07:00", "2024-06-01T12:00:00Z"),
        ("2024-06-01", "2024-06-01T05:00:00Z"),
        ("2024-06-01T07:00:00.25", "2024-06-01T12:00:00.250000Z"),
        ("2024-06-01T12:00:00.5Z", "2024-06-01T12:00:00.500000Z"),
        ("yesterday", "yesterday"),
    ],
)
def test_iso_8601_timestamps_with_and_without_offsets(raw: str, expected: str) -> None:
    text, parsed = parse_timestamps(pa.array([raw, None]), None, "America/Chicago")
    assert text.to_pylist() == [expected, None]
    assert parsed.is_valid().to_pylist() == [raw != "yesterday", False]


def test_a_reported_date_without_time_is_the_end_of_that_local_day() -> None:
    values = pa.array(["2024-06-01", "2024-11-03", "2024-06-01 09:30"])
    text, _ = parse_timestamps(values, None, "America/Chicago", end_of_day=True)
    # A record entered on 1 June existed by 23:59:59 that day (CDT, UTC-5); on 3 November
    # the day ends in CST (UTC-6). A value with a time keeps it.
    assert text.to_pylist() == [
        "2024-06-02T04:59:59Z",
        "2024-11-04T05:59:59Z",
        "2024-06-01T14:30:00Z",
    ]
    explicit, _ = parse_timestamps(
        pa.array(["06/01/2024"]), "%m/%d/%Y", "America/Chicago", end_of_day=True
    )
    assert explicit.to_pylist() == ["2024-06-02T04:59:59Z"]


def test_identifiers_and_unnamed_columns_never_reach_the_batch(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, EXTRACT, PROFILE)
    values = json.dumps(batch.table.drop_columns(["linkage_code"]).to_pylist())
    for secret in (*IDENTIFIERS, *UNMAPPED):
        assert secret not in values
        assert secret.encode() not in batch.raw
    rows = batch.rows
    assert rows[0]["person_token"].startswith("p1:")
    assert rows[0]["person_token"] == rows[3]["person_token"]  # the same person, twice
    assert rows[0]["linkage_code"] == rows[3]["linkage_code"]
    assert len(rows[0]["linkage_code"]) == 128
    assert rows[2]["person_token"] is None and rows[2]["linkage_code"] is None


def test_shared_free_text_becomes_an_attribute(tmp_path: Path) -> None:
    profile = PROFILE.replace(
        "  narrative: Narrative", "  narrative: {column: Narrative, share: true}"
    )
    batch = prepare_text(tmp_path, EXTRACT, profile)
    assert dict(batch.rows[0]["attributes"])["narrative"] == "man shouting at traffic"
    assert b"badge 4471" not in batch.raw


def test_age_band_from_dob_on_the_event_date_without_writing_the_dob(tmp_path: Path) -> None:
    extract = (
        "id,at,dob\n"
        "a,2024-02-01 09:00,1990-02-01\n"  # 34th birthday that day
        "b,2024-01-31 09:00,1990-02-01\n"  # the day before: still 33
        "c,2024-02-01 01:00,1990-02-01\n"  # 2024-01-31 19:00 local time in Chicago
        "d,2024-02-01 09:00,not a date\n"
        "e,2024-02-01 09:00,1925-01-01\n"
    )
    profile = """\
profile: dob
connector: generic
agency: X
sector: public_health
kind: outreach_contact
timezone: UTC
fields:
  event_id: {column: id}
  occurred_at: {column: at}
  age_band: {from_dob: dob}
"""
    batch = prepare_text(tmp_path, extract, profile)
    assert [r["age_band"] for r in batch.rows] == ["30-34", "30-34", "30-34", None, "90+"]
    assert b"1990-02-01" not in batch.raw and b"not a date" not in batch.raw
    chicago = prepare_text(
        tmp_path / "chicago", extract, profile.replace("timezone: UTC", "timezone: America/Chicago")
    )
    # 2024-02-01 01:00 in Chicago is still 1 February locally: the birthday.
    assert chicago.rows[2]["age_band"] == "30-34"


def test_row_numbers_count_records_even_when_text_spans_lines(tmp_path: Path) -> None:
    lines = EXTRACT.splitlines()
    quoted = lines[1].replace("man shouting at traffic", '"man shouting\nat traffic"')
    extract = "\n".join([lines[0], quoted, *lines[2:]]) + "\n"
    batch = prepare_text(tmp_path, extract, PROFILE)
    assert [r["row_number"] for r in batch.rows] == [1, 2, 3, 4]
    assert [r["event_id"] for r in batch.rows] == ["C1", "C2", "C3", "C4"]
    assert b"shouting" not in batch.raw


def test_event_ids_are_made_when_the_extract_has_none(tmp_path: Path) -> None:
    profile = PROFILE.replace("  event_id: {column: CallNumber}\n", "")
    batch = prepare_text(tmp_path, EXTRACT, profile)
    ids = [r["event_id"] for r in batch.rows]
    prefix = f"metro-pd-cad:{batch.summary.metadata['source_sha256'][:12]}:"  # type: ignore[index]
    assert ids == [f"{prefix}{n}" for n in (1, 2, 3, 4)]


def test_same_extract_and_key_give_the_same_batch(tmp_path: Path) -> None:
    one = prepare_text(tmp_path / "one", EXTRACT, PROFILE)
    two = prepare_text(tmp_path / "two", EXTRACT, PROFILE)
    assert one.summary.events_sha256 == two.summary.events_sha256
    assert one.raw == two.raw
    other_key = prepare_text(tmp_path / "three", EXTRACT, PROFILE, key_hex="c4" * 32)
    assert other_key.summary.events_sha256 != one.summary.events_sha256
    assert other_key.rows[0]["person_token"] != one.rows[0]["person_token"]
    assert other_key.summary.key_fingerprint != one.summary.key_fingerprint


def test_batch_json_records_what_the_hub_needs(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, EXTRACT, PROFILE)
    meta = json.loads((batch.summary.batch / "batch.json").read_text())
    assert meta["format"] == BATCH_FORMAT
    assert (meta["agency"], meta["sector"], meta["connector"]) == ("MPD", "police", "generic")
    assert meta["profile"] == "metro-pd-cad"
    assert meta["rows"] == 4
    assert meta["key_fingerprint"] == key_fingerprint(bytes.fromhex(KEY_HEX))
    assert meta["events_sha256"] == batch.summary.events_sha256
    assert meta["bloom"]["length_bits"] == 1024
    assert datetime.fromisoformat(meta["prepared_at"]).tzinfo is not None
    assert KEY_HEX not in json.dumps(meta)
    assert sorted(p.name for p in batch.summary.batch.iterdir()) == [
        "batch.json",
        "events.parquet",
        "report.json",
    ]


def test_parquet_and_ndjson_extracts_give_the_same_events(tmp_path: Path) -> None:
    reader = csv.DictReader(EXTRACT.splitlines())
    records = [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
    ndjson = "\n".join(json.dumps(r) for r in records) + "\n"
    table = pa.Table.from_pylist(records)
    (tmp_path / "x.parquet").parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp_path / "x.parquet")
    from_csv = prepare_text(tmp_path / "csv", EXTRACT, PROFILE)
    from_ndjson = prepare_text(tmp_path / "nd", ndjson, PROFILE, extract_name="x.ndjson")
    from_parquet = prepare_text(
        tmp_path / "pq", (tmp_path / "x.parquet").read_bytes(), PROFILE, extract_name="x.parquet"
    )
    assert from_ndjson.table.equals(from_csv.table)
    assert from_parquet.table.equals(from_csv.table)


def test_missing_column_stops_with_the_extract_columns_listed(tmp_path: Path) -> None:
    profile = PROFILE.replace("{column: Disposition,", "{column: Outcome,")
    with pytest.raises(PrepareError) as caught:
        prepare_text(tmp_path, EXTRACT, profile)
    message = str(caught.value)
    assert "attributes.disposition.column" in message
    assert "'Outcome'" in message
    assert "(columns: CallNumber, CallReceived, Latitude" in message
    assert not (tmp_path / "batch").exists()


def test_prepared_batch_ingests_and_the_bad_row_is_quarantined(tmp_path: Path) -> None:
    batch = prepare_text(tmp_path, EXTRACT, PROFILE)
    result = ingest_batch(
        batch.summary.batch, tmp_path / "hub", now=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert result.rows_in == 4
    assert result.committed + result.quarantined == 4
    assert result.quarantined >= 1  # row 2: date 13/45, latitude "north", age "ninety"
    assert result.quarantine_path is not None
    quarantine = result.quarantine_path.read_text()
    assert "13/45/2024 08:15:00" in quarantine


def _write_inputs(directory: Path) -> tuple[Path, Path, Path]:
    extract = directory / "cad.csv"
    extract.write_text(EXTRACT, encoding="utf-8")
    profile = directory / "cad.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    return extract, profile, key_file(directory)


def test_cli_prints_one_json_object(tmp_path: Path) -> None:
    extract, profile, key = _write_inputs(tmp_path)
    out = tmp_path / "batch"
    args = ["prepare", str(extract), "--profile", str(profile), "--key-file", str(key)]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {
        "batch",
        "rows",
        "agency",
        "connector",
        "events_sha256",
        "key_fingerprint",
        "codes",
    }
    assert payload["rows"] == 4 and payload["agency"] == "MPD"
    assert [(c["column"], c["namespace"]) for c in payload["codes"]] == [
        ("CallType", "apco"),
        ("Offenses", "nibrs"),
    ]
    again = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert again.exit_code == 1
    assert "non-empty directory" in again.output
    summary = CliRunner().invoke(cli, [*args, "--out", str(out), "--overwrite"])
    assert summary.exit_code == 0
    first, *codes = summary.output.strip().splitlines()
    assert first.startswith("prepared 4 rows of MPD (generic) into")
    # CFS and OD are not in the profile's map; CFS is not an APCO call type either
    assert codes == [
        "codes: column 'CallType' (apco): 2 of 4 codes not in the profile's map, passed through "
        "unchanged; 2 distinct, e.g. 'CFS' (1), 'OD' (1)",
        "codes: column 'CallType' (apco): 1 of 4 codes not in the APCO call types "
        "(apco_call_types.csv); 1 distinct, e.g. 'CFS' (1)",
    ]


def test_cli_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    extract, profile, key = _write_inputs(tmp_path)
    profile.write_text(PROFILE.replace("sector: police", "sector: polis"), encoding="utf-8")
    base = ["prepare", str(extract), "--key-file", str(key), "--out", str(tmp_path / "b")]
    result = CliRunner().invoke(cli, [*base, "--profile", str(profile)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {profile}:4: sector: expected one of police")
    assert "Traceback" not in result.output
    bad_key = tmp_path / "short.key"
    bad_key.write_text("abcd\n")
    profile.write_text(PROFILE, encoding="utf-8")
    args = ["prepare", str(extract), "--profile", str(profile), "--out", str(tmp_path / "b")]
    result = CliRunner().invoke(cli, [*args, "--key-file", str(bad_key)])
    assert result.exit_code == 1
    assert "short.key" in result.output and "too short" in result.output
    result = CliRunner().invoke(
        cli,
        [
            "prepare",
            str(tmp_path / "absent.csv"),
            "--profile",
            str(profile),
            "--key-file",
            str(key),
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 1
    assert "absent.csv" in result.output and "no such file" in result.output


_CELL = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["2024-06-01 07:00", "06/01/2024 07:00:00", "2024-06-01T07:00:00Z", " 34 "]),
)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.tuples(_CELL, _CELL, _CELL), max_size=20))
def test_mapping_keeps_every_row_and_every_unconverted_value(
    cells: list[tuple[str | None, str | None, str | None]],
) -> None:
    """Invariant: one event per row, in order; a timestamp or age either converts or comes
    back as the (trimmed) text it was, never silently lost."""
    profile = parse_profile(
        "profile: p\nconnector: generic\nagency: A\nsector: police\nkind: incident\n"
        "timezone: America/Chicago\nfields:\n  occurred_at: {column: at}\n"
        "  age_band: {column: age}\n  event_id: {column: id}\n"
    )
    table = pa.table(
        {
            "id": pa.array([c[0] for c in cells], pa.string()),
            "at": pa.array([c[1] for c in cells], pa.string()),
            "age": pa.array([c[2] for c in cells], pa.string()),
        }
    )
    events, _ = map_rows(table, profile, first_row=7)
    rows = events.to_pylist()
    assert [r["row_number"] for r in rows] == list(range(7, 7 + len(cells)))
    for (_, at, age), row in zip(cells, rows, strict=True):
        for raw, out in ((at, row["occurred_at"]), (age, row["age_band"])):
            text = raw.strip() if raw is not None else None
            if not text:
                assert out is None
            else:
                converted = out in AGE_BANDS or re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", out)
                assert out == text or converted
