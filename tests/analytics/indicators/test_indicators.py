"""Indicators: the catalogue, each numerator against a hand count, rates, reliability flags,
zero-filling, periods (ISO vs MMWR weeks), the repeat-crisis window and exports."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.analytics.indicators.world import (
    HAND_COUNTS,
    T0,
    Event,
    day,
    ingest_events,
    world_events,
)

from wellbeat.analytics.indicators import (
    AttributeCondition,
    IndicatorError,
    area_table,
    default_catalogue,
    get_indicator,
    indicator_counts,
    indicator_data_requests,
    indicator_request,
    indicator_requests,
    indicator_sql,
    mmwr_week,
    parse_catalogue,
    period_label,
    period_start,
    period_starts,
    series_matrix,
    time_series,
    write_table,
)
from wellbeat.geo import load_layer
from wellbeat.lake.engine import DuckDBEngine
from wellbeat.lake.query import DUCKDB, PERIODS

START = T0.date() - timedelta(days=3)
END = T0.date() + timedelta(days=20)
ISSUE_INDICATORS = {
    "suspected_overdose", "opioid_overdose", "stimulant_overdose", "fatal_overdose",
    "violent_crime", "ed_assault_injury", "firearm_injury", "mental_health_crisis_call",
    "repeat_crisis_call_30d", "self_harm",
}  # fmt: skip


def total(engine: DuckDBEngine, code: str, start: date = START, end: date = END) -> int:
    counts = indicator_counts(engine, get_indicator(code), None, None, start, end)
    return sum(v or 0 for v in counts.values())


def test_catalogue_ships_every_indicator_of_the_issue() -> None:
    catalogue = default_catalogue()
    assert set(catalogue.codes) >= ISSUE_INDICATORS
    assert set(HAND_COUNTS) == set(catalogue.codes)
    for indicator in catalogue:
        assert indicator.unreliable_below == 20
        assert indicator.references, indicator.code
    assert get_indicator("repeat_crisis_call_30d").repeat_within_days == 30
    assert not get_indicator("repeat_crisis_call_30d").governable
    assert not get_indicator("ems_naloxone").governable
    assert get_indicator("suspected_overdose").governable


@pytest.mark.parametrize("code", sorted(HAND_COUNTS))
def test_numerator_equals_hand_count(engine: DuckDBEngine, code: str) -> None:
    assert total(engine, code) == HAND_COUNTS[code]


@pytest.mark.parametrize("code", sorted(HAND_COUNTS))
def test_one_statement_sql_agrees_with_aggregate_queries(engine: DuckDBEngine, code: str) -> None:
    """indicator_sql (any indicator) and the cube/aggregate route give identical cells."""
    indicator = get_indicator(code)
    sql = indicator_sql(indicator, "beat", "day", START, END)
    by_sql = {
        (r["area"], r["period"]): r["count"] for r in engine.sql(sql.sql, sql.params).to_pylist()
    }
    assert sum(by_sql.values()) == HAND_COUNTS[code]
    if indicator.governable:
        assert by_sql == indicator_counts(engine, indicator, "beat", "day", START, END)


def test_window_bounds_are_start_inclusive_end_exclusive(engine: DuckDBEngine) -> None:
    # stimulant ED visits on days 0..3 at 01:00
    assert total(engine, "stimulant_overdose", T0.date(), T0.date() + timedelta(days=3)) == 3
    assert total(engine, "stimulant_overdose", T0.date() + timedelta(days=1), END) == 3


def test_area_table_rates_and_unreliable_flags(engine: DuckDBEngine, world_dir: Path) -> None:
    beats = load_layer(world_dir / "areas" / "beat.geojson")
    table = area_table(engine, [get_indicator("ed_assault_injury")], areas=beats, start=START,
                       end=END).to_pylist()  # fmt: skip
    rows = {r["area"]: r for r in table}
    assert set(rows) == {"beat-00", "beat-01", "beat-10", "beat-11", "__outside__"}
    assert rows["beat-00"]["count"] == 2 and rows["beat-00"]["denominator"] == 1000
    assert rows["beat-00"]["rate"] == pytest.approx(200.0)  # 2 / 1,000 x 100,000
    assert rows["beat-00"]["unreliable"] is True
    assert rows["beat-01"]["count"] == 0 and rows["beat-01"]["rate"] == 0
    assert rows["__outside__"]["count"] == 1 and rows["__outside__"]["rate"] is None
    assert sum(r["count"] for r in table) == HAND_COUNTS["ed_assault_injury"]


def test_indicator_denominator_gives_a_share(engine: DuckDBEngine, world_dir: Path) -> None:
    beats = load_layer(world_dir / "areas" / "beat.geojson")
    rows = area_table(engine, [get_indicator("repeat_crisis_call_30d")], areas=beats,
                      start=START, end=END).to_pylist()  # fmt: skip
    beat = next(r for r in rows if r["area"] == "beat-00")
    assert (beat["count"], beat["denominator"]) == (1, 3)
    assert beat["rate"] == pytest.approx(100 / 3)


def test_twenty_events_are_reliable(tmp_path: Path) -> None:
    events = [Event("GEN", "ed_visit", day(i % 5, i / 10), ["self_harm"]) for i in range(20)]
    events.append(Event("GEN", "ed_visit", day(1), ["self_harm"], area="beat-11"))
    ingest_events(tmp_path / "hub", events, tmp_path)
    beats = load_layer(tmp_path / "hub" / "areas" / "beat.geojson")
    engine = DuckDBEngine(tmp_path / "hub")
    try:
        rows = area_table(engine, [get_indicator("self_harm")], areas=beats, start=START,
                          end=END).to_pylist()  # fmt: skip
    finally:
        engine.close()
    flags = {r["area"]: (r["count"], r["unreliable"]) for r in rows}
    assert flags["beat-00"] == (20, False)
    assert flags["beat-11"] == (1, True)
    assert flags["beat-01"] == (0, True)


def test_series_are_zero_filled(engine: DuckDBEngine, world_dir: Path) -> None:
    beats = load_layer(world_dir / "areas" / "beat.geojson")
    series = time_series(engine, [get_indicator("fatal_overdose")], start=START, end=END,
                         period="day", areas=beats).to_pylist()  # fmt: skip
    assert len(series) == 4 * (END - START).days
    assert {r["period"] for r in series} == set(period_starts(START, END, "day"))
    nonzero = [(r["area"], r["period"]) for r in series if r["count"]]
    assert nonzero == [("beat-00", T0.date() + timedelta(days=9))]
    assert all(r["count"] == 0 and r["rate"] == 0 for r in series if r["period"] == START)


def test_series_without_areas_use_the_given_population(engine: DuckDBEngine) -> None:
    series = time_series(engine, [get_indicator("stimulant_overdose")], start=T0.date(),
                         end=T0.date() + timedelta(days=14), period="week",
                         population=4000).to_pylist()  # fmt: skip
    assert [(r["period_label"], r["count"], r["days"]) for r in series] == [
        ("2024-W10", 4, 7),
        ("2024-W11", 0, 7),
    ]
    assert series[0]["rate"] == pytest.approx(4 / 4000 * 100_000)


def test_mmwr_and_iso_weeks_split_a_sunday_differently(tmp_path: Path) -> None:
    sunday = T0 - timedelta(days=1)  # Sunday 2024-03-03
    ingest_events(tmp_path / "hub", [Event("GEN", "ed_visit", sunday, ["self_harm"])], tmp_path)
    engine = DuckDBEngine(tmp_path / "hub")
    try:
        indicator = get_indicator("self_harm")
        iso = indicator_counts(engine, indicator, None, "week", START, END)
        mmwr = indicator_counts(engine, indicator, None, "mmwr_week", START, END)
    finally:
        engine.close()
    assert iso == {(None, date(2024, 2, 26)): 1}  # ISO week 9 starts Monday 26 Feb
    assert mmwr == {(None, date(2024, 3, 3)): 1}  # MMWR week 10 starts Sunday 3 Mar
    assert period_label(date(2024, 2, 26), "week") == "2024-W09"
    assert period_label(date(2024, 3, 3), "mmwr_week") == "2024-w10"


def test_mmwr_week_numbers_follow_cdc() -> None:
    assert mmwr_week(date(2024, 1, 1)) == (2024, 1)  # week 1 of 2024 starts Sun 31 Dec 2023
    assert mmwr_week(date(2023, 12, 31)) == (2024, 1)
    assert mmwr_week(date(2023, 12, 30)) == (2023, 52)
    assert mmwr_week(date(2021, 1, 2)) == (2020, 53)  # 2020 had 53 MMWR weeks
    assert mmwr_week(date(2021, 1, 3)) == (2021, 1)


_SQL = duckdb.connect()


@settings(deadline=None, max_examples=80)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)))
def test_period_starts_match_the_engine(value: date) -> None:
    """Python's period arithmetic and the engine's SQL agree for every period type."""
    exprs = ", ".join(DUCKDB.truncate_date("CAST($d AS DATE)", p) for p in PERIODS)
    got = _SQL.execute(f"SELECT {exprs}", {"d": value.isoformat()}).fetchone()
    assert got is not None
    assert list(got) == [period_start(value, p) for p in PERIODS]


def test_repeat_crisis_window_edges(tmp_path: Path) -> None:
    """Another crisis call by the same person at the same agency at most 30 days earlier."""
    crisis = ["mental_health_crisis"]
    events = [
        Event("NBH", "crisis_contact", day(0), person="P1"),
        Event("NBH", "crisis_contact", day(30), person="P1"),  # exactly 30 days: repeat
        Event("NBH", "crisis_contact", day(0), person="P2"),
        Event("NBH", "crisis_contact", day(30, 1 / 60), person="P2"),  # 30 days + 1 min: not
        Event("NBH", "crisis_contact", day(-10), person="P3"),  # before the window...
        Event("NBH", "crisis_contact", day(1), person="P3"),  # ...so this one is a repeat
        Event("MPD", "call_for_service", day(2), crisis, ["apco:EDP"], person="P4"),
        Event("NBH", "crisis_contact", day(3), person="P4"),  # other agency: other pseudonym
        Event("NBH", "crisis_contact", day(4)),  # no token
        Event("NBH", "crisis_contact", day(4, 1)),
        Event("MPD", "call_for_service", day(5), ["overdose"], ["apco:OD"], person="P5"),
        Event("MPD", "call_for_service", day(6), crisis, ["apco:EDP"], person="P5"),  # first
    ]
    ingest_events(tmp_path / "hub", events, tmp_path)
    engine = DuckDBEngine(tmp_path / "hub")
    try:
        repeat = get_indicator("repeat_crisis_call_30d")
        counts = indicator_counts(engine, repeat, None, "day", T0.date(), T0.date() + timedelta(40))
        assert counts == {(None, date(2024, 4, 3)): 1, (None, date(2024, 3, 5)): 1}
        # P3's earlier contact is outside the window but still seen; its own count is not
        assert total(engine, "mental_health_crisis_call", T0.date(), END + timedelta(30)) == 10
    finally:
        engine.close()


def test_series_matrix_aligns_areas_and_days(engine: DuckDBEngine, world_dir: Path) -> None:
    beats = load_layer(world_dir / "areas" / "beat.geojson")
    indicators = [get_indicator("suspected_overdose"), get_indicator("ems_naloxone")]
    matrix = series_matrix(engine, indicators, beats, START, END)
    assert matrix.counts.shape == (2, 4, (END - START).days)
    assert matrix.area_ids == beats.ids and matrix.periods[0] == START
    assert matrix.counts[0].sum() == HAND_COUNTS["suspected_overdose"]
    assert matrix.counts[1].sum() == HAND_COUNTS["ems_naloxone"]
    stimulant_days = matrix.series("suspected_overdose", "beat-10")
    assert list(stimulant_days[3:7]) == [1, 1, 1, 1]  # ED visits on days 0..3 in beat-10
    assert list(matrix.population) == [1000] * 4


def test_requests_for_the_governed_service() -> None:
    q = indicator_request(get_indicator("violent_crime"), "beat", "week", START, END)
    assert q.filter.sectors == ("police",) and q.filter.kinds == ("incident",)
    assert q.filter.syndromes == ("violent_crime",) and (q.area_layer, q.period) == ("beat", "week")
    assert q.filter.start is not None and q.filter.start.date() == START
    crisis = get_indicator("mental_health_crisis_call")
    assert [r.kinds for r in indicator_data_requests(crisis, None, "day", START, END)] == [
        ("call_for_service",),
        ("crisis_contact",),
    ]
    with pytest.raises(IndicatorError, match="indicator_requests"):
        indicator_request(crisis, None, "day", START, END)
    with pytest.raises(IndicatorError, match="person-level repeat window"):
        indicator_requests(get_indicator("repeat_crisis_call_30d"), None, "day", START, END)
    with pytest.raises(IndicatorError, match="numerator terms that overlap in kind"):
        indicator_requests(get_indicator("ems_naloxone"), None, "day", START, END)


def test_exports_csv_and_parquet(engine: DuckDBEngine, tmp_path: Path) -> None:
    table = time_series(engine, [get_indicator("self_harm")], start=START, end=END)
    assert pacsv.read_csv(write_table(table, tmp_path / "s.csv")).num_rows == table.num_rows
    assert pq.read_table(write_table(table, tmp_path / "s.parquet")).equals(table)
    with pytest.raises(ValueError, match=r"expected \.csv or \.parquet"):
        write_table(table, tmp_path / "s.xlsx")


@pytest.mark.parametrize(
    ("entry", "field", "expected"),
    [
        ("numerator: [{kinds: [ed_visit], syndromes: [overdoze]}]", "numerator[0].syndromes",
         "unknown value(s) overdoze"),
        ("numerator: [{kinds: [ed_visit], codes: ['T40.1']}]", "numerator[0].codes",
         "'namespace:code'"),
        ("numerator: [{kinds: [ed_visit]}]\n    factor: 12", "factor", "expected one of 1, 100"),
        ("numerator: [{kinds: [ed_visit]}]\n    denominator: {indicator: nope}",
         "denominator.indicator", "unknown indicator 'nope'"),
        ("numerator: [{kind: [ed_visit]}]", "numerator[0]", "unknown key(s) kind"),
        ("numerator: [{kinds: [ed_visit], attributes: {fatal: {less_than: 1}}}]",
         "numerator[0].attributes.fatal", "exactly one of 'equals' or 'greater_than'"),
    ],
)  # fmt: skip
def test_catalogue_errors_name_file_line_indicator_and_field(
    entry: str, field: str, expected: str
) -> None:
    text = (
        "indicators:\n"
        "  - code: fine\n    name: Fine\n    description: ok\n    numerator: {kinds: [death]}\n"
        f"  - code: broken\n    name: Broken\n    description: bad\n    {entry}\n"
    )
    with pytest.raises(IndicatorError) as info:
        parse_catalogue(text, "my.yaml")
    message = str(info.value)
    assert message.startswith("my.yaml:6: indicator 'broken'"), message
    assert f"field {field!r}" in message and expected in message


def test_catalogue_rejects_a_repeated_code() -> None:
    one = "  - code: a\n    name: A\n    description: d\n    numerator: {kinds: [death]}\n"
    with pytest.raises(
        IndicatorError, match=r"my.yaml:6: indicator 'a' field 'code': code repeats"
    ):
        parse_catalogue("indicators:\n" + one + one, "my.yaml")


def test_cli_lists_the_catalogue() -> None:
    from click.testing import CliRunner

    from wellbeat.cli import cli

    result = CliRunner().invoke(cli, ["indicators", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    codes = [i["code"] for i in listed["indicators"]]
    assert codes == list(default_catalogue().codes)
    care = [m["code"] for m in listed["care_measures"]]
    assert "referral_completion_rate" in care and "repeat_crisis_90d" in care


@pytest.mark.django_db
def test_cli_computes_series_and_area_tables_through_the_governed_service(
    world: object, hub_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from wellbeat.cli import cli
    from wellbeat.web.audit.models import AuditEntry

    monkeypatch.setattr("wellbeat.web.bootstrap.has_hub_database", lambda _: True)
    ingest_events(hub_data_dir, world_events(), tmp_path / "batches")
    runner = CliRunner()
    base = ["indicators", "compute", "--data-dir", str(hub_data_dir), "--agency", "MPD",
            "--indicator", "violent_crime"]  # fmt: skip
    out = tmp_path / "series.csv"
    result = runner.invoke(cli, [*base, "--indicator", "self_harm", "--period", "day",
                                 "--start", "2024-03-01", "--end", "2024-03-11", "--out",
                                 str(out), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 20
    rows = pacsv.read_csv(out).to_pylist()
    assert sum(r["count"] for r in rows if r["indicator"] == "violent_crime") == 2
    assert sum(r["count"] for r in rows if r["indicator"] == "self_harm") == 0  # GEN's, not MPD's
    assert {r["denominator"] for r in rows} == {4000}  # the beat layer's total population
    assert AuditEntry.objects.filter(action="export", agency_code="MPD").count() == 2
    areas = tmp_path / "areas.parquet"
    result = runner.invoke(cli, [*base, "--layer", "beat", "--table", "areas", "--out", str(areas)])
    assert result.exit_code == 0, result.output
    assert sum(pq.read_table(areas).column("count").to_pylist()) == 2
    bad = runner.invoke(cli, [*base, "--layer", "ward", "--out", str(areas)])
    assert bad.exit_code == 1 and "no such area layer" in bad.output
    bad = runner.invoke(cli, [*base[:-1], "nope", "--out", str(areas)])
    assert bad.exit_code == 1 and "unknown indicator 'nope'" in bad.output


def test_the_docs_name_every_catalogue_field_and_each_required_one_is_enforced() -> None:
    import re

    from wellbeat.analytics.indicators.catalogue import _CODE

    docs = Path(__file__).resolve().parents[3] / "docs" / "indicators.md"
    section = docs.read_text(encoding="utf-8").split("## Catalogue format")[1].split("```")[0]
    rows = re.findall(r"^\| `(\w+)` \| (yes|no) \|", section, re.MULTILINE)
    assert [name for name, _ in rows] == list(_CODE)
    valid = {"code": "a", "name": "A", "description": "d", "numerator": {"kinds": ["stop"]}}
    assert parse_catalogue(json.dumps({"indicators": [valid]}), "x.yaml").get("a")
    for name in (n for n, required in rows if required == "yes"):
        entry = {k: v for k, v in valid.items() if k != name}
        with pytest.raises(IndicatorError, match=f"field '{name}': is required"):
            parse_catalogue(json.dumps({"indicators": [entry]}), "x.yaml")


def test_default_breakdowns_and_attribute_terms_parse_and_govern() -> None:
    entry = {
        "code": "searched",
        "name": "Searched stops",
        "description": "d",
        "numerator": {"kinds": ["stop"], "attributes": {"searched": "true"}},
        "by": ["attribute:race", "sex"],
    }
    indicator = parse_catalogue(json.dumps({"indicators": [entry]}), "x.yaml").get("searched")
    assert indicator.by == ("attribute:race", "sex") and indicator.governable
    (request,) = indicator_data_requests(indicator, None, "year", START, END, ("attribute:race",))
    assert request.by == ("attribute:race",) and request.kinds == ("stop",)
    assert request.attributes == (AttributeCondition("searched", equals=("true",)),)
    for bad, message in ((["attribute:Race"], "unknown breakdown"), (["sex", "sex"], "twice")):
        with pytest.raises(IndicatorError, match=f"field 'by': .*{message}"):
            parse_catalogue(json.dumps({"indicators": [{**entry, "by": bad}]}), "x.yaml")
