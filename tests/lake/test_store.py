"""The lake on disk: manifests, orphan cleanup, statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ingest_support import NOW, good_row, write_batch

from wellbeat.ingest import ingest_batch
from wellbeat.lake.store import (
    LakeError,
    LakePaths,
    find_batch,
    lake_lock,
    lake_stats,
    list_batches,
    remove_orphans,
)


def test_orphans_are_removed_and_committed_batches_kept(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    result = ingest_batch(write_batch(tmp_path / "b", [good_row(1)]), data, now=NOW)
    paths = LakePaths(data)
    orphan_events = paths.events / "batch_id=deadbeefdeadbeef"
    orphan_cube = paths.cube / "batch_id=deadbeefdeadbeef"
    staging = paths.staging / "deadbeefdeadbeef.123"
    for folder in (orphan_events, orphan_cube, staging / "events"):
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"half a file")

    with lake_lock(data):
        removed = remove_orphans(data)

    assert set(removed) == {orphan_events, orphan_cube, staging}
    assert paths.batch_events_dir(result.batch_id).is_dir()
    assert paths.batch_cube_dir(result.batch_id).is_dir()
    assert [m.batch_id for m in list_batches(data)] == [result.batch_id]


def test_manifest_records_the_batch(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    rows = [good_row(1), good_row(2, kind="incident"), good_row(3, sex="?")]
    batch = write_batch(tmp_path / "b", rows, prepared_at="2024-05-31T10:00:00Z")
    result = ingest_batch(batch, data, now=NOW)
    manifest = find_batch(data, result.batch_id)
    assert manifest is not None
    assert (manifest.rows_in, manifest.committed, manifest.quarantined) == (3, 2, 1)
    assert manifest.quarantine_lines == 1
    assert manifest.committed_by_kind == {"call_for_service": 1, "incident": 1}
    assert manifest.committed_by_sector == {"police": 2}
    assert manifest.prepared_at == "2024-05-31T10:00:00Z"
    assert manifest.occurred_min == "2024-03-01T08:37:00+00:00"
    assert all((data / "lake" / f).is_file() for f in manifest.files + manifest.aggregates)
    assert find_batch(data, "0000000000000000") is None


def test_a_damaged_manifest_is_reported_with_its_path(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    ingest_batch(write_batch(tmp_path / "b", [good_row(1)]), data, now=NOW)
    (path,) = LakePaths(data).manifests.glob("*.json")
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(LakeError, match=f"{path}: field 'format'"):
        list_batches(data)


def test_stats_sum_over_batches_with_latency_percentiles(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    ingest_batch(write_batch(tmp_path / "a", [good_row(1), good_row(2, sector="?")]), data, now=NOW)
    ems = [
        good_row(
            n,
            agency="EMS",
            sector="fire_ems",
            kind="ems_response",
            event_id=f"R{n}",
            occurred_at="2024-03-01T08:00:00Z",
            reported_at=f"2024-03-01T08:{n:02d}:00Z",
        )
        for n in range(1, 11)
    ]
    ingest_batch(write_batch(tmp_path / "e", ems, agency="EMS"), data, now=NOW)
    stats = lake_stats(data)
    assert (stats.batches, stats.rows_in, stats.committed, stats.quarantined) == (2, 12, 11, 1)
    assert stats.rows_by_agency == {"EMS": 10, "MPD": 1}
    assert stats.rows_by_kind == {"call_for_service": 1, "ems_response": 10}
    ems_stats = next(a for a in stats.agencies if a.agency == "EMS")
    assert ems_stats.last_occurred_at == "2024-03-01T08:00:00+00:00"
    # latencies 60..600 s: median 330 s (linear interpolation), p90 546 s
    assert ems_stats.latency_seconds["p50"] == pytest.approx(330.0)
    assert ems_stats.latency_seconds["p90"] == pytest.approx(546.0)
    empty = lake_stats(tmp_path / "nothing")
    assert (empty.batches, empty.committed, empty.agencies) == (0, 0, ())


def test_a_batch_split_into_several_parts_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wellbeat.lake.store as store
    from wellbeat.lake.engine import open_engine
    from wellbeat.lake.query import AggregateQuery, EventFilter

    monkeypatch.setattr(store, "MIN_PART_ROWS", 3)
    monkeypatch.setattr(store, "PART_ROWS", 4)
    data = tmp_path / "hub"
    result = ingest_batch(write_batch(tmp_path / "b", [good_row(n) for n in range(1, 11)]), data)
    manifest = find_batch(data, result.batch_id)
    assert manifest is not None
    assert [Path(f).name for f in manifest.files] == [f"part-{n}.parquet" for n in range(3)]
    count = open_engine(data).aggregate(AggregateQuery(EventFilter()))
    assert count.column("count").to_pylist() == [10]
