"""Indicators and the governed path count local periods of the hub's zone, for every period.

Events sit around midnight, both DST changes and New Year's Eve in America/Chicago and
Pacific/Auckland (``tests/ingest/local_times.py``). The aggregate route (cube or events), the
one-statement ``indicator_sql`` route, the governed release (plan -> engine -> release) and a
plain zoneinfo count must all agree.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.compute as pc
import pytest

from wellbeat.analytics.indicators import get_indicator, indicator_counts, indicator_sql
from wellbeat.events.periods import PERIODS, local_midnight, period_start
from wellbeat.governance import DataRequest, LayerOrder, Plan, UserContext, plan
from wellbeat.governance.execute import run_plan
from wellbeat.lake.engine import DuckDBEngine
from wellbeat.lake.store import LakeSettings, write_lake_settings

from .world import Event, ingest_events

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "governance"))
from gov_world import HUB_KEY, agreement
from local_times import ZONES, instants, local_days

PH = UserContext("ph.analyst", "PH", frozenset({"analyst"}))
PURPOSE = "public_health_surveillance"
LAYERS = LayerOrder.from_sequence(["beat"])
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _lake(tmp_path: Path, zone: str) -> Path:
    data = tmp_path / "hub"
    data.mkdir()
    write_lake_settings(data, LakeSettings(zone))
    events = [
        Event("MPD", "incident", at, syndromes=["violent_crime"], codes=["nibrs:13A"])
        for at in instants(zone)
    ] + [
        Event("EMS", "ems_response", at, syndromes=["overdose"], attributes={"naloxone_doses": "1"})
        for at in instants(zone)
    ]
    work = tmp_path / "work"
    work.mkdir()
    ingest_events(data, events, work, now=NOW)
    return data


def _by_period(counts: dict[tuple[str | None, date | None], int | None]) -> dict[date, int]:
    return {p: int(c or 0) for (_, p), c in counts.items() if p is not None and c}


@pytest.mark.parametrize("zone", ZONES)
def test_indicator_periods_are_local_on_every_route(tmp_path: Path, zone: str) -> None:
    engine = DuckDBEngine(_lake(tmp_path, zone))
    days = local_days(zone)
    violent, naloxone = get_indicator("violent_crime"), get_indicator("ems_naloxone")
    assert violent.governable and not naloxone.governable
    for period in PERIODS:
        expected = dict(Counter(period_start(d, period) for d in days))
        governed_route = _by_period(indicator_counts(engine, violent, None, period, None, None))  # type: ignore[arg-type]
        sql = indicator_sql(violent, None, period, None, None)  # type: ignore[arg-type]
        sql_route = {r["period"]: r["count"] for r in engine.sql(sql.sql, sql.params).to_pylist()}
        hub_route = _by_period(indicator_counts(engine, naloxone, None, period, None, None))  # type: ignore[arg-type]
        assert governed_route == expected, period
        assert sql_route == expected, period
        assert hub_route == expected, period
    # Date bounds are local days on both routes: New Year's Eve, local.
    nye = (date(2024, 12, 31), date(2025, 1, 1))
    want = sum(1 for d in days if nye[0] <= d < nye[1])
    assert _by_period(indicator_counts(engine, violent, None, "day", *nye)) == (
        {nye[0]: want} if want else {}
    )
    assert _by_period(indicator_counts(engine, naloxone, None, "day", *nye)) == (
        {nye[0]: want} if want else {}
    )
    engine.close()


def _governed(engine: DuckDBEngine, request: DataRequest, zone: str) -> tuple[Plan, list[dict]]:
    deal = agreement(
        finest_layer="beat",
        min_cell=1,
        valid_from=date(2023, 1, 1),
        valid_to=date(2025, 12, 31),
        syndromes=frozenset({"overdose"}),
    )
    decided = plan(PH, PURPOSE, request, [deal], [], LAYERS, NOW, time_zone=zone)
    assert isinstance(decided, Plan), decided
    return decided, run_plan(decided, engine, HUB_KEY).table.to_pylist()


@pytest.mark.parametrize("zone", ZONES)
def test_the_governed_release_counts_local_periods(tmp_path: Path, zone: str) -> None:
    engine = DuckDBEngine(_lake(tmp_path, zone))
    days = local_days(zone)
    for period in PERIODS:
        request = DataRequest(agencies=("EMS",), period=period, syndromes=("overdose",))
        _, rows = _governed(engine, request, zone)
        released = {r["period"]: r["count"] for r in rows}
        assert released == dict(Counter(period_start(d, period) for d in days)), period
    # A window given as instants snaps to whole local days, and says so in local days.
    start = local_midnight(date(2024, 12, 31), zone) + timedelta(hours=6)
    request = DataRequest(
        agencies=("EMS",),
        period="day",
        syndromes=("overdose",),
        start=start,
        end=start + timedelta(hours=1),
    )
    decided, rows = _governed(engine, request, zone)
    assert (decided.start, decided.end) == (date(2024, 12, 31), date(2025, 1, 1))
    assert any(f"local days, {zone}" in note for note in decided.notes)
    count = sum(1 for d in days if d == date(2024, 12, 31))
    assert rows == [{"period": date(2024, 12, 31), "count": count, "suppressed": False}] or (
        count == 0 and rows == []
    )
    engine.close()


def test_extract_timestamps_coarsen_to_local_days(tmp_path: Path) -> None:
    """An agreement at day resolution truncates another agency's timestamps to the start of
    their local day (an instant, kept in UTC)."""
    zone = "America/Chicago"
    engine = DuckDBEngine(_lake(tmp_path, zone))
    deal = agreement(
        granularity="person_level",
        finest_layer="beat",
        min_cell=1,
        valid_from=date(2023, 1, 1),
        valid_to=date(2025, 12, 31),
        syndromes=frozenset({"overdose"}),
        fields=frozenset({"occurred_at"}),
    )
    user = UserContext("ph.analyst", "PH", frozenset({"analyst"}), person_level=True)
    request = DataRequest(kind="extract", agencies=("EMS",), columns=("occurred_at",))
    decided = plan(user, PURPOSE, request, [deal], [], LAYERS, NOW, time_zone=zone)
    assert isinstance(decided, Plan), decided
    table = run_plan(decided, engine, HUB_KEY).table
    got = sorted(table.column("occurred_at").to_pylist())
    tz = ZoneInfo(zone)
    want = sorted(local_midnight(at.astimezone(tz).date(), zone) for at in instants(zone))
    assert got == want
    assert pc.all(pc.equal(table.column("agency"), "EMS")).as_py()
    engine.close()
