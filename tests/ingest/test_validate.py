"""Row validation: each kind of corruption is caught with its field, value and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_ingest_support import NOW, batch_table, good_row

from wellbeat.ingest.validate import validate_rows

# (overrides of a good row, field, value in the quarantine line, words the reason must contain)
CORRUPTIONS: list[tuple[dict[str, Any], str, str | None, str]] = [
    ({"event_id": None}, "event_id", None, "required"),
    ({"event_id": "  "}, "event_id", None, "required"),
    ({"agency": "OTHER"}, "agency", "OTHER", "expected the batch agency MPD"),
    ({"agency": None}, "agency", None, "required"),
    ({"sector": "polise"}, "sector", "polise", "unknown sector"),
    ({"sector": None}, "sector", None, "required"),
    ({"kind": "picnic"}, "kind", "picnic", "unknown kind"),
    ({"occurred_at": None}, "occurred_at", None, "required"),
    ({"occurred_at": "03/01/2024 08:00"}, "occurred_at", "03/01/2024 08:00", "ISO 8601"),
    ({"occurred_at": "2024-03-01T08:00:00"}, "occurred_at", "2024-03-01T08:00:00", "with zone"),
    ({"occurred_at": "2024-02-30T08:00:00Z"}, "occurred_at", "2024-02-30T08:00:00Z", "ISO 8601"),
    ({"occurred_at": "2024-06-01T02:00:00Z"}, "occurred_at", "2024-06-01T02:00:00Z", "future"),
    (
        {"occurred_at": "2024-03-01T09:00:00Z", "reported_at": "2024-03-01T08:00:00Z"},
        "occurred_at",
        "2024-03-01T09:00:00Z",
        "after reported_at",
    ),
    ({"reported_at": "yesterday"}, "reported_at", "yesterday", "ISO 8601"),
    ({"reported_at": "2025-01-01T00:00:00Z"}, "reported_at", "2025-01-01T00:00:00Z", "future"),
    ({"lat": "north"}, "lat", "north", "not a decimal number"),
    ({"lat": "95.5"}, "lat", "95.5", "-90 <= lat <= 90"),
    ({"lon": "-181"}, "lon", "-181", "-180 <= lon <= 180"),
    ({"lon": "NaN"}, "lon", "NaN", "not a decimal number"),
    ({"lon": None}, "lon", None, "both lat and lon"),
    ({"codes": ["apco:EDP", "cpt:99213"]}, "codes", "cpt:99213", "known namespace"),
    ({"codes": ["T40.1X1A"]}, "codes", "T40.1X1A", "namespace:code"),
    ({"syndromes": ["zombie_bite"]}, "syndromes", "zombie_bite", "unknown syndrome"),
    ({"sensitivity": ["top_secret"]}, "sensitivity", "top_secret", "sensitivity label"),
    ({"sex": "M"}, "sex", "M", "female, male, other, unknown"),
    ({"age_band": "30-35"}, "age_band", "30-35", "5-year band"),
]


@pytest.mark.parametrize(("overrides", "field", "value", "reason"), CORRUPTIONS)
def test_each_corruption_is_quarantined_with_field_value_and_reason(
    overrides: dict[str, Any], field: str, value: str | None, reason: str
) -> None:
    rows = [good_row(1), good_row(2, **overrides), good_row(3)]
    result = validate_rows(batch_table(rows), agency="MPD", now=NOW)
    assert result.valid.column("row_number").to_pylist() == [1, 3]
    assert result.quarantined == 1
    problems = result.problems.to_pylist()
    assert [(p["row_number"], p["field"], p["value"]) for p in problems] == [(2, field, value)]
    assert reason in problems[0]["reason"]


def test_a_row_with_several_problems_gets_one_line_each_and_counts_once() -> None:
    bad = good_row(2, sector="x", sex="?", codes=["zz:1", "apco:EDP", "yy:2"])
    result = validate_rows(batch_table([good_row(1), bad]), agency="MPD", now=NOW)
    assert result.rows_in == 2
    assert result.quarantined == 1
    lines = [(p["field"], p["value"]) for p in result.problems.to_pylist()]
    assert lines == [("sector", "x"), ("codes", "zz:1"), ("codes", "yy:2"), ("sex", "?")]


def test_duplicate_event_ids_keep_the_first_occurrence() -> None:
    rows = [good_row(1), good_row(2, event_id="E1"), good_row(3, event_id="E1")]
    result = validate_rows(batch_table(rows), agency="MPD", now=NOW)
    assert result.valid.column("row_number").to_pylist() == [1]
    reasons = {p["row_number"]: p["reason"] for p in result.problems.to_pylist()}
    assert reasons == {
        2: "duplicate event_id in this batch (first at row 1)",
        3: "duplicate event_id in this batch (first at row 1)",
    }


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_a_repeated_event_id_is_caught_beside_a_missing_one(missing: str | None) -> None:
    # Issue 8 item 2: hash(NULL) is a value, so a null id used to hide the repeat of E1.
    rows = [good_row(1), good_row(2, event_id="E1"), good_row(3, event_id=missing)]
    result = validate_rows(batch_table(rows), agency="MPD", now=NOW)
    assert result.valid.column("row_number").to_pylist() == [1]
    reasons = {p["row_number"]: p["reason"] for p in result.problems.to_pylist()}
    assert reasons == {
        2: "duplicate event_id in this batch (first at row 1)",
        3: "required: a non-empty event id",
    }


def test_ids_equal_once_trimmed_are_duplicates() -> None:
    rows = [good_row(1), good_row(2, event_id=" E1"), good_row(3, event_id="E1\t")]
    result = validate_rows(batch_table(rows), agency="MPD", now=NOW)
    assert result.valid.column("row_number").to_pylist() == [1]
    assert result.problems.column("row_number").to_pylist() == [2, 3]


def test_an_event_id_already_in_the_lake_is_a_duplicate(tmp_path: Path) -> None:
    lake = tmp_path / "part-0.parquet"
    pq.write_table(
        pa.table(
            {
                "event_id": ["E1", "E2", "E3"],
                "agency": ["MPD", "MPD", "OTHER"],
                "batch_id": ["b1", "b2", "b3"],
            }
        ),
        lake,
    )
    rows = [good_row(1), good_row(2), good_row(3), good_row(4, event_id=" E2")]
    result = validate_rows(batch_table(rows), agency="MPD", now=NOW, lake_files=[lake])
    # E3 belongs to another agency: an id is unique per agency, so it is not a duplicate
    assert result.valid.column("event_id").to_pylist() == ["E3"]
    reasons = {p["row_number"]: p["reason"] for p in result.problems.to_pylist()}
    assert reasons == {
        1: "duplicate event_id: already in the lake (batch b1)",
        2: "duplicate event_id: already in the lake (batch b2)",
        4: "duplicate event_id: already in the lake (batch b2)",
    }


def test_valid_rows_are_typed_and_normalised() -> None:
    row = good_row(
        1,
        occurred_at="2024-03-01T03:30:00-05:00",
        reported_at="2024-03-01T10:00:00.250+01:00",
        lat=" 41.88 ",
        lon="-87.63",
        syndromes=["overdose", "opioid_overdose", "overdose"],
        sensitivity=["phi", "part2", "phi"],
        sex="",
        age_band=None,
    )
    result = validate_rows(batch_table([row]), agency="MPD", now=NOW)
    (typed,) = result.valid.to_pylist()
    assert typed["occurred_at"] == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert typed["reported_at"] == datetime(2024, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)
    assert (typed["lat"], typed["lon"]) == (41.88, -87.63)
    assert typed["syndromes"] == ["opioid_overdose", "overdose"]
    assert typed["sensitivity"] == ["part2", "phi"]
    assert typed["sex"] is None
    assert result.valid.schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")


def test_reported_before_occurred_is_caught_after_zone_conversion() -> None:
    # 08:00Z occurred, reported 09:30+02:00 = 07:30Z: earlier, although the local clock says later
    row = good_row(1, occurred_at="2024-03-01T08:00:00Z", reported_at="2024-03-01T09:30:00+02:00")
    result = validate_rows(batch_table([row]), agency="MPD", now=NOW)
    assert result.problems.column("field").to_pylist() == ["occurred_at"]


def test_future_tolerance_allows_small_clock_skew() -> None:
    now = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    rows = [
        good_row(1, occurred_at="2024-03-01T12:50:00Z", reported_at=None),
        good_row(2, occurred_at="2024-03-01T13:10:00Z", reported_at=None),
    ]
    result = validate_rows(batch_table(rows), agency="MPD", now=now)
    assert result.valid.column("row_number").to_pylist() == [1]
    assert result.problems.column("row_number").to_pylist() == [2]


def test_optional_fields_may_be_missing() -> None:
    row = good_row(
        1,
        reported_at=None,
        lat=None,
        lon=None,
        codes=None,
        syndromes=None,
        sensitivity=None,
        person_token=None,
        sex=None,
        age_band=None,
        attributes=None,
    )
    result = validate_rows(batch_table([row]), agency="MPD", now=NOW)
    assert result.quarantined == 0
    (typed,) = result.valid.to_pylist()
    assert typed["codes"] == [] and typed["syndromes"] == [] and typed["sensitivity"] == []


def test_a_table_missing_a_batch_column_is_refused_with_the_column_named() -> None:
    table = batch_table([good_row(1)]).drop_columns(["kind"])
    with pytest.raises(ValueError, match="missing column\\(s\\) kind"):
        validate_rows(table, agency="MPD", now=NOW)
