"""Issue 8 items 2 and 3: an event id is committed at most once per agency, across batches, and
a batch that committed nothing (or named the wrong agency) does not block its corrected retry."""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest_support import AGENCY, NOW, good_row, write_batch

from wellbeat.ingest import IngestResult, ingest_batch
from wellbeat.ingest.ingest import batch_identity, file_sha256, legacy_batch_id
from wellbeat.lake.store import LakePaths, event_files, list_batches


def _ingest(batch: Path, data: Path, now: datetime = NOW) -> IngestResult:
    return ingest_batch(batch, data, now=now)


def _lake_ids(data: Path) -> list[tuple[str, str]]:
    files = event_files(data)
    if not files:
        return []
    table = pa.concat_tables(pq.read_table(f, columns=["agency", "event_id"]) for f in files)
    agencies, ids = table.column("agency").to_pylist(), table.column("event_id").to_pylist()
    return list(zip(agencies, ids, strict=True))


def _quarantine(result: IngestResult) -> dict[int, str]:
    if result.quarantine_path is None:
        return {}
    with result.quarantine_path.open(newline="") as handle:
        return {int(r["row_number"]): r["reason"] for r in csv.DictReader(handle)}


def test_an_event_id_from_an_earlier_batch_is_quarantined_naming_that_batch(
    tmp_path: Path,
) -> None:
    data = tmp_path / "hub"
    first = _ingest(write_batch(tmp_path / "b1", [good_row(n) for n in (1, 2, 3)]), data)
    second = _ingest(write_batch(tmp_path / "b2", [good_row(n) for n in (3, 4, 5)]), data)

    assert (first.committed, second.committed, second.quarantined) == (3, 2, 1)
    assert _quarantine(second) == {
        3: f"duplicate event_id: already in the lake (batch {first.batch_id})"
    }
    assert sorted(Counter(_lake_ids(data)).values()) == [1] * 5


def test_the_same_event_id_from_another_agency_is_not_a_duplicate(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    _ingest(write_batch(tmp_path / "b1", [good_row(1)]), data)
    other = _ingest(write_batch(tmp_path / "b2", [good_row(1, agency="MFR")], agency="MFR"), data)
    assert (other.committed, other.quarantined) == (1, 0)


def test_a_corrected_agency_in_batch_json_is_a_new_batch(tmp_path: Path) -> None:
    # Issue 8 item 3: batch.json named the wrong agency, so every row was quarantined; the
    # corrected batch.json (same events.parquet) used to answer already_ingested, 0 committed.
    rows = [good_row(n) for n in (1, 2, 3)]
    data = tmp_path / "hub"
    batch = write_batch(tmp_path / "batch", rows, agency="MDP")
    wrong = _ingest(batch, data)
    assert (wrong.committed, wrong.quarantined) == (0, 3)

    meta = json.loads((batch / "batch.json").read_text())
    meta["agency"] = AGENCY
    (batch / "batch.json").write_text(json.dumps(meta))
    fixed = _ingest(batch, data)

    assert not fixed.already_ingested
    assert fixed.batch_id != wrong.batch_id
    assert (fixed.committed, fixed.quarantined) == (3, 0)
    assert _ingest(batch, data).already_ingested  # and now it is done
    assert sorted(m.agency for m in list_batches(data)) == ["MDP", AGENCY]


def test_the_batch_id_covers_the_events_and_the_agency(tmp_path: Path) -> None:
    batch = write_batch(tmp_path / "batch", [good_row(1)])
    sha = file_sha256(batch / "events.parquet")
    result = _ingest(batch, tmp_path / "hub")
    assert result.batch_id == batch_identity(sha, AGENCY)
    assert batch_identity(sha, "MFR") != result.batch_id
    assert len(result.batch_id) == 16


def test_a_batch_that_committed_nothing_can_be_retried(tmp_path: Path) -> None:
    # Every row "in the future" for a hub clock that ran behind: nothing committed. Once the
    # clock is right the same batch commits, replacing the empty outcome.
    late = NOW + timedelta(days=2)
    stamp = late.isoformat().replace("+00:00", "Z")
    batch = write_batch(
        tmp_path / "batch",
        [good_row(n, occurred_at=stamp, reported_at=None) for n in (1, 2)],
    )
    data = tmp_path / "hub"
    early = _ingest(batch, data)
    assert (early.committed, early.quarantined) == (0, 2)
    assert early.quarantine_path is not None and early.quarantine_path.exists()

    retry = _ingest(batch, data, now=late)

    assert not retry.already_ingested
    assert (retry.batch_id, retry.committed, retry.quarantined) == (early.batch_id, 2, 0)
    (manifest,) = list_batches(data)
    assert (manifest.committed, manifest.quarantined, manifest.quarantine_path) == (2, 0, None)
    assert not early.quarantine_path.exists()
    assert _ingest(batch, data, now=late).already_ingested


def test_a_batch_committed_under_its_legacy_id_is_still_already_ingested(
    tmp_path: Path,
) -> None:
    batch = write_batch(tmp_path / "batch", [good_row(1), good_row(2)])
    data = tmp_path / "hub"
    first = _ingest(batch, data)
    # Rewrite the lake as an older wellbeat wrote it: the batch id was the events hash alone.
    paths = LakePaths(data)
    legacy = legacy_batch_id(file_sha256(batch / "events.parquet"))
    manifest = json.loads(paths.manifest_path(first.batch_id).read_text())
    for folder in (paths.batch_events_dir, paths.batch_cube_dir):
        folder(first.batch_id).rename(folder(legacy))
    for key in ("files", "aggregates"):
        manifest[key] = [f.replace(first.batch_id, legacy) for f in manifest[key]]
    manifest["batch_id"] = legacy
    paths.manifest_path(legacy).write_text(json.dumps(manifest))
    paths.manifest_path(first.batch_id).unlink()

    again = _ingest(batch, data)

    assert again.already_ingested and again.batch_id == legacy
    assert [m.batch_id for m in list_batches(data)] == [legacy]


IDS = st.sampled_from([None, "", "  ", "E1", "E2", "E3", " E1", "E2 ", "e1"])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    batches=st.lists(
        st.lists(st.tuples(IDS, st.booleans()), min_size=0, max_size=8), min_size=1, max_size=3
    )
)
def test_property_no_event_id_is_committed_twice_and_counts_balance(
    batches: list[list[tuple[str | None, bool]]],
) -> None:
    """For any batches with any mix of null, empty, blank, repeated and padded ids (some rows
    bad for another reason), the lake never holds two rows with one (agency, event_id), every
    batch balances, and an id is committed when its first good row comes."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "hub"
        committed: set[str] = set()
        for number, plan in enumerate(batches):
            rows = [
                good_row(n, event_id=event_id, **({} if ok else {"sector": "polise"}))
                for n, (event_id, ok) in enumerate(plan, start=1)
            ]
            result = _ingest(write_batch(root / f"b{number}", rows), data)
            if result.already_ingested:  # the same rows as an earlier batch
                continue
            assert result.rows_in == len(rows) == result.committed + result.quarantined
            expected = set()
            seen: set[str] = set()
            for event_id, ok in plan:
                key = (event_id or "").strip()
                if key and ok and key not in seen and key not in committed:
                    expected.add(key)
                seen.add(key)
            assert result.committed == len(expected)
            committed |= expected
        ids = _lake_ids(data)
        assert len(ids) == len(set(ids)) == len(committed)
        assert {event_id for _, event_id in ids} == committed
