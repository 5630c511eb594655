"""ingest_batch: counts balance, quarantine content, atomic commit, idempotency, geography."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import NOW, good_row, write_batch, write_grid_layer

from wellbeat.events.schema import OUTSIDE_AREA
from wellbeat.ingest import BatchError, IngestResult, ingest_batch
from wellbeat.lake.engine import open_engine
from wellbeat.lake.query import AggregateQuery, EventFilter
from wellbeat.lake.store import PAUSE_ENV, LakePaths, list_batches


def _ingest(batch: Path, data: Path) -> IngestResult:
    return ingest_batch(batch, data, now=NOW)


def _lake_files(data: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(data)): p.read_bytes()
        for p in sorted(data.rglob("*"))
        if p.is_file() and p.name != ".lock" and "manifest" not in p.parts
    }


BAD_ROWS: dict[int, dict[str, Any]] = {
    3: {"sector": "polise"},
    4: {"occurred_at": "not a time"},
    5: {"lat": "123"},
    6: {"codes": ["bogus:1"]},
    7: {"agency": "ELSEWHERE"},
    8: {"sex": "X", "age_band": "old"},
}


def test_counts_balance_and_quarantine_names_row_field_value_reason(tmp_path: Path) -> None:
    rows = [good_row(n, **BAD_ROWS.get(n, {})) for n in range(1, 11)]
    batch = write_batch(tmp_path / "batch", rows)
    data = tmp_path / "hub"

    result = _ingest(batch, data)

    assert (result.rows_in, result.committed, result.quarantined) == (10, 4, 6)
    assert result.rows_in == result.committed + result.quarantined
    assert result.quarantine_path == data / "quarantine" / f"{result.batch_id}.csv"
    with result.quarantine_path.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(int(x["row_number"]), x["field"], x["value"]) for x in lines] == [
        (3, "sector", "polise"),
        (4, "occurred_at", "not a time"),
        (5, "lat", "123"),
        (6, "codes", "bogus:1"),
        (7, "agency", "ELSEWHERE"),
        (8, "age_band", "old"),
        (8, "sex", "X"),
    ]
    assert all(x["reason"] for x in lines)
    committed = pq.read_table(data / "lake" / list_batches(data)[0].files[0])
    assert sorted(committed.column("event_id").to_pylist()) == ["E1", "E10", "E2", "E9"]


def test_reingesting_the_same_content_is_a_no_op(tmp_path: Path) -> None:
    batch = write_batch(tmp_path / "batch", [good_row(1), good_row(2, kind="?")])
    data = tmp_path / "hub"
    first = _ingest(batch, data)
    files = _lake_files(data)

    again = _ingest(batch, data)
    # a copy elsewhere with the same bytes is the same batch
    copy = write_batch(tmp_path / "copy", [good_row(1), good_row(2, kind="?")])
    third = _ingest(copy, data)

    assert not first.already_ingested and again.already_ingested and third.already_ingested
    assert (again.batch_id, again.committed, again.quarantined) == (first.batch_id, 1, 1)
    assert _lake_files(data) == files
    assert len(list_batches(data)) == 1


def test_a_batch_with_only_bad_rows_commits_an_empty_batch(tmp_path: Path) -> None:
    batch = write_batch(tmp_path / "batch", [good_row(1, sector=None), good_row(2, kind=None)])
    data = tmp_path / "hub"
    result = _ingest(batch, data)
    assert (result.committed, result.quarantined) == (0, 2)
    (manifest,) = list_batches(data)
    assert manifest.files == () and manifest.quarantined == 2
    # committing nothing does not make the batch "done": a retry validates it again, and
    # replaces the manifest rather than adding one
    again = _ingest(batch, data)
    assert not again.already_ingested
    assert (again.batch_id, again.committed, again.quarantined) == (result.batch_id, 0, 2)
    assert len(list_batches(data)) == 1


def test_events_outside_every_area_are_kept_and_marked(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    write_grid_layer(data, "beat")
    write_grid_layer(data, "district", size=0.25)
    rows = [
        good_row(1, lat="0.1", lon="0.6"),  # beat-10, outside the smaller district grid
        good_row(2, lat="5", lon="5"),  # outside both layers
        good_row(3, lat=None, lon=None),  # no location at all
    ]
    result = _ingest(write_batch(tmp_path / "batch", rows), data)
    assert result.committed == 3
    table = pq.read_table(data / "lake" / list_batches(data)[0].files[0]).to_pylist()
    got = {r["event_id"]: (r["area_beat"], r["area_district"], r["h3"] is not None) for r in table}
    assert got == {
        "E1": ("beat-10", OUTSIDE_AREA, True),
        "E2": (OUTSIDE_AREA, OUTSIDE_AREA, True),
        "E3": (OUTSIDE_AREA, OUTSIDE_AREA, False),
    }
    assert list_batches(data)[0].outside_area == {"beat": 2, "district": 3}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: (d / "batch.json").unlink(), None),
        (lambda d: _edit_meta(d, format="csv/9"), "format"),
        (lambda d: _edit_meta(d, agency=""), "agency"),
        (lambda d: _edit_meta(d, rows=99), "rows"),
        (lambda d: _edit_meta(d, events_sha256="0" * 64), "events_sha256"),
        (lambda d: (d / "batch.json").write_text("{oops"), None),
        (lambda d: _drop_column(d, "kind"), None),
    ],
)
def test_unusable_batches_are_refused_with_file_and_field(
    tmp_path: Path, mutate: Any, field: str | None
) -> None:
    batch = write_batch(tmp_path / "batch", [good_row(1)])
    mutate(batch)
    data = tmp_path / "hub"
    with pytest.raises(BatchError) as info:
        ingest_batch(batch, data, now=NOW)
    assert info.value.field == field
    assert str(batch) in str(info.value)
    assert list_batches(data) == []


def _drop_column(batch: Path, column: str) -> None:
    path = batch / "events.parquet"
    pq.write_table(pq.read_table(path).drop_columns([column]), path)


def _edit_meta(batch: Path, **changes: Any) -> None:
    meta = json.loads((batch / "batch.json").read_text())
    meta.update(changes)
    (batch / "batch.json").write_text(json.dumps(meta))


_KILL_SCRIPT = """
import sys
from pathlib import Path
from wellbeat.ingest import ingest_batch
ingest_batch(Path(sys.argv[1]), Path(sys.argv[2]))
print("finished", flush=True)
"""


@pytest.mark.parametrize("step", ["staged", "renamed"])
def test_a_killed_ingest_leaves_nothing_visible_and_the_retry_succeeds(
    tmp_path: Path, step: str
) -> None:
    data = tmp_path / "hub"
    write_grid_layer(data)
    rows = [good_row(n) for n in range(1, 51)] + [good_row(51, kind="bad")]
    batch = write_batch(tmp_path / "batch", rows)
    env = {**os.environ, PAUSE_ENV: f"{step}:60"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(batch), str(data)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == f"wellbeat-ingest-paused:{step}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    paths = LakePaths(data)
    leftovers = list(paths.staging.iterdir()) + (
        list(paths.events.iterdir()) if paths.events.exists() else []
    )
    assert leftovers, "the kill should have left partial files behind"
    assert list_batches(data) == []
    engine = open_engine(data)
    assert engine.aggregate(AggregateQuery(EventFilter())).column("count").to_pylist() == [0]

    result = ingest_batch(batch, data, now=NOW)
    assert (result.committed, result.quarantined, result.already_ingested) == (50, 1, False)
    assert list(paths.staging.iterdir()) == []
    assert [p.name for p in paths.events.iterdir()] == [f"batch_id={result.batch_id}"]
    assert engine.aggregate(AggregateQuery(EventFilter())).column("count").to_pylist() == [50]


_FIELD_BREAKERS: list[dict[str, Any]] = [
    {"sector": "nope"},
    {"kind": None},
    {"occurred_at": "2024-13-01T00:00:00Z"},
    {"reported_at": "2999-01-01T00:00:00Z"},
    {"lat": "-91"},
    {"lon": "east"},
    {"codes": ["apco:EDP", "foo:1"]},
    {"syndromes": ["flu"]},
    {"sensitivity": ["secret"]},
    {"agency": "XYZ"},
    {"event_id": ""},
]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    plan=st.lists(
        st.one_of(st.none(), st.integers(min_value=0, max_value=len(_FIELD_BREAKERS) - 1)),
        min_size=0,
        max_size=30,
    )
)
def test_property_counts_balance_and_ingesting_twice_equals_once(
    plan: list[int | None],
) -> None:
    rows = [
        good_row(n, **(_FIELD_BREAKERS[b] if b is not None else {}))
        for n, b in enumerate(plan, start=1)
    ]
    bad = {n for n, b in enumerate(plan, start=1) if b is not None}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        batch = write_batch(root / "batch", rows)
        data = root / "hub"
        first = _ingest(batch, data)
        files = _lake_files(data)
        second = _ingest(batch, data)

        assert first.rows_in == len(rows) == first.committed + first.quarantined
        assert first.quarantined == len(bad)
        if bad:
            assert first.quarantine_path is not None
            with first.quarantine_path.open(newline="") as handle:
                quarantined_rows = {int(r["row_number"]) for r in csv.DictReader(handle)}
            assert quarantined_rows == bad
        # a batch that committed nothing is validated again on a retry (with the same outcome)
        assert second.already_ingested == (first.committed > 0 or first.rows_in == 0)
        assert (second.committed, second.quarantined) == (first.committed, first.quarantined)
        assert len(list_batches(data)) == 1
        assert _lake_files(data) == files
        count = open_engine(data).aggregate(AggregateQuery(EventFilter()))
        assert count.column("count").to_pylist() == [len(rows) - len(bad)]
