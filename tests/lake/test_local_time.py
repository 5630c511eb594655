"""Local time: every period is a local calendar period of the hub's zone, never a UTC day.

Events sit around local midnight, both daylight-saving changes and New Year's Eve, in a
northern (America/Chicago) and a southern (Pacific/Auckland) zone. For every period type the
engine's events path, its cube path and a plain Python count (zoneinfo, independent of the
engine) agree; day bounds are local days; lakes without a zone (or batches written before
local days) behave as UTC, and setting the zone re-derives every batch once.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from local_times import ZONES, instants, local_days
from test_ingest_support import good_row, write_batch, write_grid_layer

from wellbeat.cli import cli
from wellbeat.events.periods import PERIODS, local_midnight, period_start
from wellbeat.ingest import ingest_batch
from wellbeat.ingest.areas import reassign_areas
from wellbeat.lake.engine import DuckDBEngine
from wellbeat.lake.query import AggregateQuery, EventFilter, cube_answers
from wellbeat.lake.store import (
    LakeError,
    LakePaths,
    LakeSettings,
    lake_time_zone,
    list_batches,
    read_lake_settings,
    write_lake_settings,
)


def _rows(instants: list[datetime]) -> list[dict[str, object]]:
    return [
        good_row(
            n,
            event_id=f"E{n}",
            occurred_at=at.isoformat(),
            reported_at=(at + timedelta(minutes=3)).isoformat(),
        )
        for n, at in enumerate(instants, start=1)
    ]


def _lake(tmp_path: Path, zone: str | None, rows: list[dict[str, object]]) -> Path:
    data = tmp_path / "hub"
    write_grid_layer(data)
    if zone is not None:
        write_lake_settings(data, LakeSettings(zone))
    batch = write_batch(tmp_path / "batch", rows)
    result = ingest_batch(batch, data, now=datetime(2025, 6, 1, tzinfo=UTC))
    assert result.committed == len(rows)
    return data


def _counts(engine: DuckDBEngine, q: AggregateQuery, *, use_cube: bool) -> dict[date, int]:
    table = engine.aggregate(q, use_cube=use_cube)
    return {row["period"]: row["count"] for row in table.to_pylist()}


@pytest.mark.parametrize("zone", ZONES)
def test_every_period_counts_local_days_on_both_paths(tmp_path: Path, zone: str) -> None:
    data = _lake(tmp_path, zone, _rows(instants(zone)))
    engine = DuckDBEngine(data)
    days = local_days(zone)
    for period in PERIODS:
        q = AggregateQuery(EventFilter(), None, period)  # type: ignore[arg-type]
        assert cube_answers(q)
        expected = dict(Counter(period_start(d, period) for d in days))
        from_events = _counts(engine, q, use_cube=False)
        assert engine.last_source == "events"
        from_cube = _counts(engine, q, use_cube=True)
        assert engine.last_source == "cube"
        assert from_events == expected, period
        assert from_cube == expected, period
    engine.close()


def test_the_years_last_night_stays_in_its_year(tmp_path: Path) -> None:
    """Hand-counted: Chicago's 23:30 and 23:59 on 2024-12-31 are 2025 in UTC, 2024 locally."""
    data = _lake(tmp_path, "America/Chicago", _rows(instants("America/Chicago")))
    engine = DuckDBEngine(data)
    years = _counts(engine, AggregateQuery(EventFilter(), None, "year"), use_cube=False)
    # 2023-12-31 23:30 is the only 2023 event; 2025-01-01 00:30 the only 2025 one.
    assert years == {date(2023, 1, 1): 1, date(2024, 1, 1): 17, date(2025, 1, 1): 1}
    nye = EventFilter(start=date(2024, 12, 31), end=date(2025, 1, 1))
    for use_cube in (False, True):
        table = engine.aggregate(AggregateQuery(nye, None, "day"), use_cube=use_cube)
        assert table.to_pylist() == [{"period": date(2024, 12, 31), "count": 2}]
    # The repeated hour of the autumn change belongs to 2024-11-03, once.
    days = _counts(engine, AggregateQuery(EventFilter(), None, "day"), use_cube=True)
    assert days[date(2024, 11, 3)] == 3 and days[date(2024, 3, 10)] == 3
    engine.close()


def test_auckland_new_year_is_a_utc_new_years_eve(tmp_path: Path) -> None:
    data = _lake(tmp_path, "Pacific/Auckland", _rows(instants("Pacific/Auckland")))
    engine = DuckDBEngine(data)
    new_year = EventFilter(start=date(2025, 1, 1), end=date(2025, 1, 2))
    table = engine.aggregate(AggregateQuery(new_year))
    assert engine.last_source == "cube" and table.to_pylist() == [{"count": 1}]
    engine.close()


@pytest.mark.parametrize("zone", ZONES)
def test_bounds_dates_are_local_days_and_instants_are_instants(tmp_path: Path, zone: str) -> None:
    moments = instants(zone)
    data = _lake(tmp_path, zone, _rows(moments))
    days = local_days(zone)
    engine = DuckDBEngine(data)
    for start, end in [(date(2024, 3, 10), date(2024, 3, 11)), (date(2024, 12, 31), None)]:
        expected = sum(1 for d in days if d >= start and (end is None or d < end))
        for use_cube in (False, True):
            q = AggregateQuery(EventFilter(start=start, end=end))
            assert engine.aggregate(q, use_cube=use_cube).column("count")[0].as_py() == expected
    # An instant bound is an instant: on the events path, whatever the zone.
    cut = datetime(2024, 12, 31, 12, tzinfo=UTC)
    q = AggregateQuery(EventFilter(start=cut), None, "day")
    assert not cube_answers(q)
    total = sum(engine.aggregate(q).column("count").to_pylist())
    assert engine.last_source == "events"
    assert total == sum(1 for at in moments if at >= cut)
    # An instant at a local midnight is that whole local day: the cube answers it, the same.
    midnight = local_midnight(date(2024, 12, 31), zone)
    q = AggregateQuery(EventFilter(start=midnight), None, "day")
    from_cube = engine.aggregate(q).to_pylist()
    assert engine.last_source == "cube"
    assert from_cube == engine.aggregate(q, use_cube=False).to_pylist()
    engine.close()


def test_a_lake_without_a_zone_counts_utc_days(tmp_path: Path) -> None:
    moments = instants("America/Chicago")
    data = _lake(tmp_path, None, _rows(moments))
    assert lake_time_zone(data) == "UTC"
    assert list_batches(data)[0].time_zone == "UTC"
    engine = DuckDBEngine(data)
    days = _counts(engine, AggregateQuery(EventFilter(), None, "day"), use_cube=True)
    assert days == dict(Counter(at.date() for at in moments))
    engine.close()


def test_old_batches_read_as_utc_until_the_zone_is_set(tmp_path: Path) -> None:
    """A batch written before local days has no ``local_day`` column: the engine reads its UTC
    days; ``reassign_areas`` with new settings re-derives it once (then changes nothing)."""
    moments = instants("America/Chicago")
    data = _lake(tmp_path, None, _rows(moments))
    paths = LakePaths(data)
    manifest = list_batches(data)[0]
    for name in manifest.files:  # make it an old batch: no local_day, no zone in its manifest
        path = paths.lake / name
        table = pq.read_table(path)
        pq.write_table(table.drop_columns(["local_day"]), path)
    record = json.loads(paths.manifest_path(manifest.batch_id).read_text())
    del record["time_zone"]
    paths.manifest_path(manifest.batch_id).write_text(json.dumps(record))
    assert list_batches(data)[0].time_zone is None

    engine = DuckDBEngine(data)
    day = AggregateQuery(EventFilter(), None, "day")
    utc_days = dict(Counter(at.date() for at in moments))
    assert _counts(engine, day, use_cube=False) == utc_days
    assert _counts(engine, day, use_cube=True) == utc_days

    result = reassign_areas(data, LakeSettings("America/Chicago"))
    assert result.batches_revised == (manifest.batch_id,)
    assert read_lake_settings(data).time_zone == "America/Chicago"
    local = dict(Counter(local_days("America/Chicago")))
    assert _counts(engine, day, use_cube=False) == local
    assert _counts(engine, day, use_cube=True) == local
    again = reassign_areas(data)
    assert again.batches_revised == () and again.batches_current == 1
    engine.close()


def test_the_cli_sets_the_zone_and_rederives(tmp_path: Path) -> None:
    data = _lake(tmp_path, None, _rows(instants("Pacific/Auckland")))
    runner = CliRunner()
    shown = runner.invoke(cli, ["lake", "time-zone", "--data-dir", str(data)])
    assert shown.exit_code == 0 and "time zone UTC" in shown.output
    bad = runner.invoke(cli, ["lake", "time-zone", "--data-dir", str(data), "Mars/Olympus"])
    assert bad.exit_code != 0 and "not an IANA zone name" in bad.output
    assert lake_time_zone(data) == "UTC"
    first = runner.invoke(
        cli, ["lake", "time-zone", "--data-dir", str(data), "Pacific/Auckland", "--json"]
    )
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["batches_revised"] == 1
    second = runner.invoke(
        cli, ["lake", "time-zone", "--data-dir", str(data), "Pacific/Auckland", "--json"]
    )
    assert json.loads(second.output)["batches_revised"] == 0
    engine = DuckDBEngine(data)
    days = _counts(engine, AggregateQuery(EventFilter(), None, "day"), use_cube=True)
    assert days == dict(Counter(local_days("Pacific/Auckland")))
    engine.close()


def test_a_hub_spanning_zones_takes_each_areas_zone(tmp_path: Path) -> None:
    """With a zone layer, an event's local day is in its area's zone (hub zone outside)."""
    data = tmp_path / "hub"
    layer = write_grid_layer(data, "region")
    doc = json.loads(layer.read_text())
    for feature in doc["features"]:  # the western column keeps the hub zone (no property)
        if feature["properties"]["id"].startswith("region-1"):
            feature["properties"]["time_zone"] = "Pacific/Auckland"
    layer.write_text(json.dumps(doc))
    chicago, auckland = instants("America/Chicago"), instants("Pacific/Auckland")
    rows = _rows(chicago + auckland)
    for row in rows[len(chicago) :]:
        row["lon"] = "0.75"  # in region-1x
    rows.append(good_row(len(rows) + 1, event_id="far", lat="5", lon="5"))  # outside: hub zone
    with pytest.raises(LakeError, match="not an area layer"):
        reassign_areas(data, LakeSettings("America/Chicago", "district"))
    reassign_areas(data, LakeSettings("America/Chicago", "region"))
    batch = write_batch(tmp_path / "batch", rows)
    ingest_batch(batch, data, now=datetime(2025, 6, 1, tzinfo=UTC))
    engine = DuckDBEngine(data)
    expected = Counter(local_days("America/Chicago") + local_days("Pacific/Auckland"))
    far = datetime.fromisoformat(str(rows[-1]["occurred_at"]).replace("Z", "+00:00"))
    expected[far.astimezone(ZoneInfo("America/Chicago")).date()] += 1
    q = AggregateQuery(EventFilter(), None, "day")
    assert _counts(engine, q, use_cube=False) == dict(expected)
    assert _counts(engine, q, use_cube=True) == dict(expected)
    engine.close()


def test_unknown_zone_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an IANA zone name"):
        write_lake_settings(tmp_path, LakeSettings("Nowhere/Town"))
    LakePaths(tmp_path).lake.mkdir(parents=True)
    LakePaths(tmp_path).settings.write_text('{"time_zone": "Nowhere/Town"}')
    with pytest.raises(LakeError, match=r"settings\.json: field 'time_zone'"):
        lake_time_zone(tmp_path)


@pytest.mark.parametrize("zone", ZONES)
def test_random_instants_over_two_years_agree_on_every_path(tmp_path: Path, zone: str) -> None:
    """600 instants spread over June 2023 - May 2025 (four DST changes and two New Years)."""
    rng = random.Random(16)
    first = datetime(2023, 6, 1, tzinfo=UTC)
    moments = [first + timedelta(minutes=rng.randrange(730 * 24 * 60)) for _ in range(600)]
    data = _lake(tmp_path, zone, _rows(moments))
    engine = DuckDBEngine(data)
    days = [at.astimezone(ZoneInfo(zone)).date() for at in moments]
    for period in PERIODS:
        q = AggregateQuery(EventFilter(), None, period)  # type: ignore[arg-type]
        expected = dict(Counter(period_start(d, period) for d in days))
        assert _counts(engine, q, use_cube=False) == expected, period
        assert _counts(engine, q, use_cube=True) == expected, period
    engine.close()
