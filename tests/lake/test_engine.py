"""The engine against a plain Python computation, the cube against the events, and periods."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import NOW, good_row, write_batch, write_grid_layer

from wellbeat.events.schema import OUTSIDE_AREA
from wellbeat.ingest import ingest_batch
from wellbeat.lake.engine import DuckDBEngine, EngineError, open_engine
from wellbeat.lake.query import (
    AggregateQuery,
    AttributeCondition,
    EventFilter,
    ExtractQuery,
    QueryError,
    cube_answers,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
SYNDROME_SETS = [
    [],
    ["overdose"],
    ["overdose", "opioid_overdose"],
    ["assault_injury"],
    ["mental_health_crisis", "self_harm"],
]
CODE_SETS = [[], ["icd10cm:T40.1X1A"], ["icd10cm:T40.4X1A", "apco:OD"], ["nibrs:13A"], ["apco:EDP"]]
LABEL_SETS = [[], ["phi"], ["phi", "part2"], ["cji"]]
SOURCES = {
    "MPD": ("police", ["call_for_service", "incident", "arrest"]),
    "EMS": ("fire_ems", ["ems_response"]),
    "MERCY": ("emergency_dept", ["ed_visit"]),
}


def _attributes(rng: random.Random) -> list[tuple[str, str]]:
    """A precinct (or none) and a dose count (sometimes not a number, sometimes absent)."""
    out = [("disposition", "transported")]
    precinct = rng.choice(["1", "2", "3", None])
    if precinct is not None:
        out.append(("precinct", precinct))
    doses = rng.choice(["0", "1", "2", " 3", "x", None])
    if doses is not None:
        out.append(("doses", doses))
    return out


def _world_rows(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    attribute_rng = random.Random(seed + 1)  # its own stream: the other columns stay as they were
    batches: dict[str, list[dict[str, Any]]] = {}
    for agency, (sector, kinds) in SOURCES.items():
        rows = []
        for n in range(1, 161):
            occurred = START + timedelta(minutes=rng.randrange(0, 120 * 24 * 60))
            place = rng.random()
            if place < 0.1:
                lat, lon = "5", "5"
            elif place < 0.15:
                lat = lon = None
            else:
                lat = str(rng.randrange(2) * 0.5 + 0.25)
                lon = str(rng.randrange(2) * 0.5 + 0.25)
            rows.append(
                good_row(
                    n,
                    event_id=f"{agency}-{n}",
                    agency=agency,
                    sector=sector,
                    kind=rng.choice(kinds),
                    occurred_at=occurred.isoformat(),
                    reported_at=(occurred + timedelta(minutes=rng.randrange(1, 600))).isoformat(),
                    lat=lat,
                    lon=lon,
                    codes=rng.choice(CODE_SETS),
                    syndromes=rng.choice(SYNDROME_SETS),
                    sensitivity=rng.choice(LABEL_SETS),
                    person_token=f"P{rng.randrange(40)}",
                    sex=rng.choice(["female", "male", None]),
                    age_band=rng.choice(["20-24", "30-34", "90+", None]),
                    attributes=_attributes(attribute_rng),
                )
            )
        batches[agency] = rows
    return batches


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBEngine, list[dict[str, Any]]]:
    """A hub with three agencies' batches in two layers, and the rows as Python saw them."""
    root = tmp_path_factory.mktemp("world")
    data = root / "hub"
    write_grid_layer(data, "beat")
    expected: list[dict[str, Any]] = []
    for agency, rows in _world_rows().items():
        ingest_batch(write_batch(root / agency, rows, agency=agency), data, now=NOW)
        expected.extend(_python_row(r) for r in rows)
    engine = open_engine(data)
    assert isinstance(engine, DuckDBEngine)
    return engine, expected


def _python_row(row: dict[str, Any]) -> dict[str, Any]:
    occurred = datetime.fromisoformat(row["occurred_at"]).astimezone(UTC)
    if row["lat"] is None or row["lat"] == "5":
        area = OUTSIDE_AREA
    else:
        area = f"beat-{int(float(row['lon']) // 0.5)}{int(float(row['lat']) // 0.5)}"
    return {**row, "occurred": occurred, "area_beat": area}


def _period(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "mmwr_week":
        return day - timedelta(days=day.isoweekday() % 7)
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def _utc(value: datetime) -> datetime:
    """Naive datetimes in a filter are UTC (docs/engine.md)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _matches(row: dict[str, Any], f: EventFilter) -> bool:
    if f.agencies is not None and row["agency"] not in f.agencies:
        return False
    if f.sectors is not None and row["sector"] not in f.sectors:
        return False
    if f.kinds is not None and row["kind"] not in f.kinds:
        return False
    if f.syndromes is not None and not set(row["syndromes"]) & set(f.syndromes):
        return False
    if f.codes is not None and not any(
        code == want or (want.endswith("*") and code.startswith(want[:-1]))
        for code in row["codes"]
        for want in f.codes
    ):
        return False
    if f.start is not None and row["occurred"] < _utc(f.start):
        return False
    if f.end is not None and row["occurred"] >= _utc(f.end):
        return False
    if set(row["sensitivity"]) & set(f.sensitivity_excluded):
        return False
    attributes = dict(row["attributes"])
    if not all(c.matches(attributes.get(c.name)) for c in f.attributes):
        return False
    return row["person_token"] not in f.person_tokens_excluded


def python_aggregate(rows: list[dict[str, Any]], q: AggregateQuery) -> Counter[tuple[Any, ...]]:
    """The reference: filter, then count per key; syndrome grouping counts once per syndrome."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        if not _matches(row, q.filter):
            continue
        key: list[Any] = []
        if q.area_layer:
            key.append(row["area_beat"])
        if q.period:
            key.append(_period(row["occurred"].date(), q.period))
        keys = [key]
        for dim in q.by:
            if dim == "syndrome":
                keys = [[*k, s] for k in keys for s in sorted(set(row["syndromes"]))]
            elif dim.startswith("attribute:"):
                value = dict(row["attributes"]).get(dim.removeprefix("attribute:"))
                keys = [[*k, value] for k in keys]
            else:
                keys = [[*k, row[dim]] for k in keys]
        for k in keys:
            counts[tuple(k)] += 1
    return counts


def engine_counts(table: Any) -> Counter[tuple[Any, ...]]:
    names = [n for n in table.column_names if n != "count"]
    result: Counter[tuple[Any, ...]] = Counter()
    for row in table.to_pylist():
        if row["count"]:
            result[tuple(row[n] for n in names)] += row["count"]
    return result


QUERIES = [
    AggregateQuery(EventFilter()),
    AggregateQuery(EventFilter(), area_layer="beat"),
    AggregateQuery(EventFilter(), period="day", by=("agency",)),
    AggregateQuery(EventFilter(agencies=("MPD", "EMS")), area_layer="beat", period="week"),
    AggregateQuery(EventFilter(), area_layer="beat", period="mmwr_week", by=("syndrome",)),
    AggregateQuery(EventFilter(syndromes=("overdose",)), period="month", by=("sector", "kind")),
    AggregateQuery(EventFilter(syndromes=("overdose", "self_harm")), area_layer="beat"),
    AggregateQuery(EventFilter(codes=("icd10cm:T40*",)), period="quarter"),
    AggregateQuery(EventFilter(codes=("apco:EDP", "nibrs:13A")), by=("agency",)),
    AggregateQuery(
        EventFilter(start=datetime(2024, 2, 1), end=datetime(2024, 3, 1)),
        area_layer="beat",
        period="year",
        by=("kind",),
    ),
    AggregateQuery(
        EventFilter(start=datetime(2024, 2, 1, 12, tzinfo=UTC), end=datetime(2024, 2, 9, 7, 30)),
        period="day",
    ),
    AggregateQuery(EventFilter(sensitivity_excluded=("part2", "cji")), by=("sex", "age_band")),
    AggregateQuery(EventFilter(person_tokens_excluded=("P1", "P2", "P3")), by=("agency",)),
    AggregateQuery(
        EventFilter(kinds=("ed_visit", "ems_response"), sensitivity_excluded=("part2",)),
        area_layer="beat",
        period="week",
        by=("agency", "syndrome"),
    ),
    AggregateQuery(EventFilter(), period="month", by=("attribute:precinct",)),
    AggregateQuery(
        EventFilter(attributes=(AttributeCondition("doses", greater_than=0.5),)),
        area_layer="beat",
        by=("agency", "attribute:precinct"),
    ),
    AggregateQuery(
        EventFilter(
            kinds=("incident", "ed_visit"),
            attributes=(
                AttributeCondition("precinct", equals=("1", "3")),
                AttributeCondition("doses", equals=("x",)),
            ),
        ),
        by=("attribute:doses",),
    ),
]


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: repr(q)[:60])
def test_aggregate_matches_a_plain_python_count(world: Any, q: AggregateQuery) -> None:
    engine, rows = world
    expected = python_aggregate(rows, q)
    assert sum(expected.values()) > 0
    assert engine_counts(engine.aggregate(q, use_cube=False)) == expected
    assert engine.last_source == "events"
    if cube_answers(q):
        assert engine_counts(engine.aggregate(q)) == expected
        assert engine.last_source == "cube"


def test_aggregate_columns_are_area_period_by_then_count(world: Any) -> None:
    engine, _ = world
    q = AggregateQuery(EventFilter(), area_layer="beat", period="week", by=("kind", "agency"))
    for use_cube in (True, False):
        table = engine.aggregate(q, use_cube=use_cube)
        assert table.column_names == ["area", "period", "kind", "agency", "count"]
        assert str(table.schema.field("period").type) == "date32[day]"
        assert str(table.schema.field("count").type) == "int64"
    by_precinct = engine.aggregate(AggregateQuery(EventFilter(), by=("attribute:precinct",)))
    assert by_precinct.column_names == ["attribute:precinct", "count"]
    assert by_precinct["attribute:precinct"].to_pylist() == ["1", "2", "3", None]  # kept, last


_QUERY_SPACE = st.builds(
    AggregateQuery,
    filter=st.builds(
        EventFilter,
        agencies=st.one_of(st.none(), st.sets(st.sampled_from(sorted(SOURCES))).map(tuple)),
        kinds=st.one_of(
            st.none(), st.sets(st.sampled_from(["incident", "ed_visit", "arrest"])).map(tuple)
        ),
        syndromes=st.one_of(
            st.none(),
            st.sampled_from(["overdose", "self_harm", "assault_injury"]).map(lambda s: (s,)),
        ),
        start=st.one_of(st.none(), st.integers(0, 120).map(lambda d: START + timedelta(days=d))),
        end=st.one_of(st.none(), st.integers(0, 130).map(lambda d: START + timedelta(days=d))),
        sensitivity_excluded=st.sets(st.sampled_from(["phi", "part2", "cji"])).map(tuple),
    ),
    area_layer=st.sampled_from([None, "beat"]),
    period=st.sampled_from([None, "day", "week", "mmwr_week", "month", "quarter", "year"]),
    by=st.lists(
        st.sampled_from(["agency", "sector", "kind", "syndrome"]), unique=True, max_size=2
    ).map(tuple),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=_QUERY_SPACE)
def test_property_cube_and_events_give_identical_tables(world: Any, q: AggregateQuery) -> None:
    engine, _ = world
    if not cube_answers(q):
        return
    from_cube = engine.aggregate(q)
    assert engine.last_source == "cube"
    assert from_cube.equals(engine.aggregate(q, use_cube=False))


def test_cube_is_not_used_when_it_cannot_answer() -> None:
    assert not cube_answers(AggregateQuery(EventFilter(), by=("sex",)))
    assert not cube_answers(AggregateQuery(EventFilter(codes=("apco:EDP",))))
    assert not cube_answers(AggregateQuery(EventFilter(), by=("attribute:precinct",)))
    precinct = AttributeCondition("precinct", equals=("1",))
    assert not cube_answers(AggregateQuery(EventFilter(attributes=(precinct,))))
    assert not cube_answers(AggregateQuery(EventFilter(start=datetime(2024, 1, 1, 6))))
    assert not cube_answers(AggregateQuery(EventFilter(person_tokens_excluded=("P1",))))
    assert not cube_answers(AggregateQuery(EventFilter(syndromes=("overdose",)), by=("syndrome",)))
    assert not cube_answers(AggregateQuery(EventFilter(syndromes=("overdose", "self_harm"))))
    assert cube_answers(AggregateQuery(EventFilter(syndromes=("overdose",)), period="week"))


def test_extract_returns_the_filtered_rows_oldest_first(world: Any) -> None:
    engine, rows = world
    f = EventFilter(
        agencies=("MPD",),
        codes=("icd10cm:T40*",),
        sensitivity_excluded=("cji",),
        person_tokens_excluded=("P5",),
        start=datetime(2024, 1, 15, tzinfo=UTC),
        end=datetime(2024, 3, 15, tzinfo=UTC),
    )
    table = engine.extract(ExtractQuery(f, ("event_id", "occurred_at", "area_beat", "codes")))
    wanted = sorted(
        (r for r in rows if _matches(r, f)), key=lambda r: (r["occurred"], r["event_id"])
    )
    assert table.column("event_id").to_pylist() == [r["event_id"] for r in wanted]
    assert table.column("area_beat").to_pylist() == [r["area_beat"] for r in wanted]
    assert len(wanted) > 3
    limited = engine.extract(ExtractQuery(f, ("event_id",), limit=2))
    assert limited.column("event_id").to_pylist() == [r["event_id"] for r in wanted[:2]]


def test_half_open_time_window(world: Any) -> None:
    engine, rows = world
    first = min(r["occurred"] for r in rows)
    at = engine.extract(
        ExtractQuery(
            EventFilter(start=first, end=first + timedelta(microseconds=1)), ("occurred_at",)
        )
    )
    before = engine.extract(ExtractQuery(EventFilter(end=first), ("occurred_at",)))
    assert at.column("occurred_at").to_pylist() == [first]
    assert before.num_rows == 0


def test_unknown_columns_layers_and_dimensions_are_refused(world: Any) -> None:
    engine, _ = world
    with pytest.raises(QueryError, match="unknown lake column"):
        engine.extract(ExtractQuery(EventFilter(), ("event_id", "name")))
    with pytest.raises(QueryError, match="unknown area layer 'tract'"):
        engine.aggregate(AggregateQuery(EventFilter(), area_layer="tract"))
    with pytest.raises(QueryError, match="dimension 'zip'"):
        engine.aggregate(AggregateQuery(EventFilter(), by=("zip",)))
    with pytest.raises(QueryError, match="period 'fortnight'"):
        engine.aggregate(AggregateQuery(EventFilter(), period="fortnight"))  # type: ignore[arg-type]


def test_engine_errors_carry_the_failing_sql(world: Any) -> None:
    engine, _ = world
    with pytest.raises(EngineError) as info:
        engine.sql("SELECT no_such_column FROM events")
    assert info.value.sql == "SELECT no_such_column FROM events"
    assert "no_such_column" in str(info.value)


@pytest.mark.parametrize(
    ("moment", "week", "mmwr_week"),
    [
        # 2024-01-06 is a Saturday: ISO week from Monday 1 Jan, MMWR week from Sunday 31 Dec.
        ("2024-01-06T12:00:00Z", date(2024, 1, 1), date(2023, 12, 31)),
        # Sunday 7 Jan: still ISO week of 1 Jan, but the first day of a new MMWR week.
        ("2024-01-07T00:00:00Z", date(2024, 1, 1), date(2024, 1, 7)),
        # Monday 8 Jan: a new ISO week; the MMWR week that began on Sunday 7 Jan.
        ("2024-01-08T23:59:59Z", date(2024, 1, 8), date(2024, 1, 7)),
        # 23:30 in Chicago on Saturday is already Sunday in UTC: periods use UTC dates.
        ("2024-01-13T23:30:00-06:00", date(2024, 1, 8), date(2024, 1, 14)),
    ],
)
def test_iso_and_mmwr_weeks(tmp_path: Path, moment: str, week: date, mmwr_week: date) -> None:
    data = tmp_path / "hub"
    ingest_batch(
        write_batch(tmp_path / "b", [good_row(1, occurred_at=moment, reported_at=None)]),
        data,
        now=NOW,
    )
    engine = open_engine(data)
    for use_cube in (True, False):
        got_week = engine.aggregate(AggregateQuery(EventFilter(), period="week"), use_cube=use_cube)
        got_mmwr = engine.aggregate(
            AggregateQuery(EventFilter(), period="mmwr_week"), use_cube=use_cube
        )
        assert got_week.column("period").to_pylist() == [week]
        assert got_mmwr.column("period").to_pylist() == [mmwr_week]
    month = engine.aggregate(AggregateQuery(EventFilter(), period="quarter"))
    assert month.column("period").to_pylist() == [date(2024, 1, 1)]


def test_an_empty_lake_answers_with_zero_and_new_batches_appear(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    engine = open_engine(data)
    assert engine.layers() == []
    assert engine.aggregate(AggregateQuery(EventFilter())).to_pylist() == [{"count": 0}]
    assert engine.aggregate(AggregateQuery(EventFilter(), by=("agency",))).num_rows == 0
    assert engine.extract(ExtractQuery(EventFilter(), ("event_id",))).num_rows == 0
    write_grid_layer(data)
    ingest_batch(write_batch(tmp_path / "b", [good_row(1), good_row(2)]), data, now=NOW)
    assert engine.layers() == ["beat"]
    assert engine.aggregate(AggregateQuery(EventFilter())).to_pylist() == [{"count": 2}]


def test_batches_from_before_a_layer_was_added_have_no_area_in_it(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    ingest_batch(write_batch(tmp_path / "old", [good_row(1)]), data, now=NOW)
    write_grid_layer(data)
    ingest_batch(write_batch(tmp_path / "new", [good_row(2)]), data, now=NOW)
    engine = open_engine(data)
    q = AggregateQuery(EventFilter(), area_layer="beat")
    expected = [{"area": "beat-00", "count": 1}, {"area": None, "count": 1}]
    assert engine.aggregate(q).to_pylist() == expected
    assert engine.aggregate(q, use_cube=False).to_pylist() == expected


def test_open_engine_rejects_unknown_kinds(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown engine kind 'oracle'"):
        open_engine(tmp_path, "oracle")
    with pytest.raises(ValueError, match="spark"):
        open_engine(tmp_path, "spark")
