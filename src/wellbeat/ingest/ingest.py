"""Hub-side ingestion: a shareable batch in, validated rows committed atomically to the lake.

``ingest_batch`` reads a batch (``events.parquet`` + ``batch.json``, see docs/profiles.md),
validates every row (``ingest.validate``), quarantines bad rows with line, field and reason,
assigns each good row to every area layer and an H3 cell, and commits the batch and its cube
atomically (docs/data-directory.md). The hash of the content and the agency is the batch's
identity, so ingesting the same batch again changes nothing; an event id the agency already
committed, in this batch or an earlier one, is quarantined, never committed twice. See
docs/ingest.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from wellbeat.events.schema import H3_RESOLUTION
from wellbeat.geo import h3_cells, load_layers
from wellbeat.ingest.areas import layer_fingerprints, outside_counts, with_area_columns
from wellbeat.ingest.validate import FUTURE_TOLERANCE, Validation, validate_rows
from wellbeat.lake.cube import build_cube
from wellbeat.lake.local import LocalExecutor
from wellbeat.lake.store import (
    BatchManifest,
    LakePaths,
    LakeSettings,
    commit_batch,
    event_files,
    find_batch,
    lake_lock,
    read_lake_settings,
    remove_orphans,
    utc_now_text,
)

BATCH_FORMAT = "wellbeat-batch/1"
EVENTS_FILE = "events.parquet"
BATCH_FILE = "batch.json"
BATCH_ID_LENGTH = 16
"""Hex digits of the batch identity (``batch_identity``) used as the batch id."""


def batch_identity(events_sha256: str, agency: str) -> str:
    """The batch id: a hash of what decides where the rows go, the events and the agency.

    The events alone are not enough: a batch whose ``batch.json`` named the wrong agency is
    quarantined whole, and the corrected batch (same events, right agency) must not be taken
    for it. The full events SHA-256 is kept in the manifest too.
    """
    material = f"{BATCH_FORMAT}\nagency={agency}\nevents_sha256={events_sha256}\n"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:BATCH_ID_LENGTH]


def legacy_batch_id(events_sha256: str) -> str:
    """The batch id of lakes written before the agency was part of it (events hash only)."""
    return events_sha256[:BATCH_ID_LENGTH]


class BatchError(ValueError):
    """A batch that cannot be ingested at all (as opposed to bad rows, which are quarantined).

    Carries where (file, line, field), what was expected and what was got, for one-line CLI
    messages and the API's error details.
    """

    def __init__(
        self,
        file: Path,
        expected: str,
        got: str,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.field = field
        self.line = line
        self.expected = expected
        self.got = got
        where = str(file) + (f":{line}" if line is not None else "")
        what = f" field {field!r}:" if field else ":"
        super().__init__(f"{where}{what} expected {expected}, got {got}")

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "line": self.line,
            "field": self.field,
            "expected": self.expected,
            "got": self.got,
        }


@dataclass(frozen=True)
class IngestResult:
    """Outcome of one ingest; rows_in == committed + quarantined always holds."""

    batch_id: str
    rows_in: int
    committed: int
    quarantined: int
    already_ingested: bool
    quarantine_path: Path | None
    agency: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "committed": self.committed,
            "quarantined": self.quarantined,
            "rows_in": self.rows_in,
            "batch_id": self.batch_id,
            "already_ingested": self.already_ingested,
            "quarantine_path": str(self.quarantine_path) if self.quarantine_path else None,
        }


@dataclass(frozen=True)
class Batch:
    """A batch read from disk: its metadata, its rows and its content hash."""

    source: Path
    metadata: dict[str, Any]
    events: pa.Table
    events_sha256: str

    @property
    def agency(self) -> str:
        return str(self.metadata["agency"])

    @property
    def batch_id(self) -> str:
        return batch_identity(self.events_sha256, self.agency)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_batch(batch_dir: Path) -> Batch:
    """Read and check a prepared batch directory; raise BatchError on what makes it unusable."""
    if not batch_dir.is_dir():
        raise BatchError(
            batch_dir, "a batch directory (events.parquet + batch.json)", "no such directory"
        )
    meta_path = batch_dir / BATCH_FILE
    events_path = batch_dir / EVENTS_FILE
    for path in (meta_path, events_path):
        if not path.is_file():
            raise BatchError(path, f"the batch file {path.name}", "file missing")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BatchError(
            meta_path, "a JSON object", f"invalid JSON ({exc.msg})", line=exc.lineno
        ) from exc
    if not isinstance(metadata, dict):
        raise BatchError(meta_path, "a JSON object", type(metadata).__name__)
    if metadata.get("format") != BATCH_FORMAT:
        raise BatchError(
            meta_path, repr(BATCH_FORMAT), repr(metadata.get("format")), field="format"
        )
    agency = metadata.get("agency")
    if not isinstance(agency, str) or not agency.strip():
        raise BatchError(meta_path, "a non-empty agency code", repr(agency), field="agency")

    # Hash the file while Arrow decodes it: both release the GIL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(file_sha256, events_path)
        try:
            events = pq.read_table(events_path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BatchError(
                events_path, "a Parquet file in BATCH_SCHEMA", f"unreadable ({exc})"
            ) from exc
        sha = hashing.result()
    declared = metadata.get("events_sha256")
    if declared is not None and declared != sha:
        raise BatchError(
            meta_path,
            f"the SHA-256 of {EVENTS_FILE} ({sha})",
            repr(declared),
            field="events_sha256",
        )
    declared_rows = metadata.get("rows")
    if declared_rows is not None and declared_rows != events.num_rows:
        raise BatchError(
            meta_path,
            f"{events.num_rows} (the rows in {EVENTS_FILE})",
            repr(declared_rows),
            field="rows",
        )
    return Batch(source=batch_dir, metadata=metadata, events=events, events_sha256=sha)


def quarantine_csv(problems: pa.Table) -> str:
    """The quarantine file's text: a header and one line per problem."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row_number", "field", "value", "reason"])
    for row in problems.to_pylist():
        writer.writerow([row["row_number"], row["field"], row["value"] or "", row["reason"]])
    return buffer.getvalue()


def _with_geography(
    valid: pa.Table, data_dir: Path, batch_id: str, settings: LakeSettings
) -> tuple[pa.Table, list[str], dict[str, str]]:
    """Lake rows: validated rows plus one area column per layer, the local day (under the
    lake's ``settings``), the H3 cell and batch_id; the layer names; the layer files'
    fingerprints, taken before the layers are read (a layer replaced meanwhile then looks
    stale to ``reassign_areas``, never current)."""
    fingerprints = layer_fingerprints(LakePaths(data_dir).areas)
    layers = load_layers(LakePaths(data_dir).areas)
    lat = valid.column("lat").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = valid.column("lon").to_numpy(zero_copy_only=False).astype(np.float64)
    located = valid.append_column("h3", pa.array(h3_cells(lat, lon, H3_RESOLUTION), pa.string()))
    located = located.append_column("batch_id", _repeated(batch_id, valid.num_rows))
    return (
        with_area_columns(located, layers, settings),
        [layer.name for layer in layers],
        fingerprints,
    )


def _repeated(value: str, n: int) -> pa.StringArray:
    """``n`` copies of one string, built from buffers (no Python object per row)."""
    data = value.encode("utf-8")
    if len(data) * n >= 2**31:  # beyond 32-bit offsets: let Arrow chunk it
        return pa.array(np.full(n, value, dtype=object), pa.string())
    offsets = np.arange(n + 1, dtype=np.int32) * len(data)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    if table.num_rows == 0:
        return {}
    counts = pc.value_counts(table.column(column)).to_pylist()
    return {str(item["values"]): int(item["counts"]) for item in counts}


def progress_steps(progress: bool) -> Iterator[str]:
    names = ["read", "validate", "geography", "cube", "commit"]
    bar = tqdm(names, desc="ingest", unit="step", disable=not progress, leave=False)
    for name in bar:
        bar.set_postfix_str(name)
        yield name


def ingest_batch(
    batch_dir: Path,
    data_dir: Path,
    *,
    progress: bool = False,
    now: datetime | None = None,
) -> IngestResult:
    """Validate a prepared batch and commit it atomically to the hub's lake.

    Idempotent: a batch (same events, same agency) already committed is a no-op returning
    ``already_ingested=True``, unless it committed nothing: then it is validated again.
    ``now`` (default: the clock) is the hub time rows may not postdate by more than
    ``validate.FUTURE_TOLERANCE``.
    """
    steps = progress_steps(progress)
    next(steps)
    batch = read_batch(Path(batch_dir))
    return ingest_table(batch, Path(data_dir), now=now, steps=steps)


def _committed_before(batch: Batch, data_dir: Path) -> BatchManifest | None:
    """The manifest of this batch if the lake already holds it, by its id or its legacy id."""
    candidates = (batch.batch_id, legacy_batch_id(batch.events_sha256))
    for batch_id in dict.fromkeys(candidates):
        existing = find_batch(data_dir, batch_id)
        if existing is None:
            continue
        if existing.events_sha256 == batch.events_sha256 and existing.agency == batch.agency:
            return existing
        if batch_id == batch.batch_id:
            raise BatchError(
                batch.source,
                f"content hashing to batch id {batch_id} to match the committed batch",
                f"a different SHA-256 ({batch.events_sha256}) or agency ({batch.agency})",
                field="events_sha256",
            )
    return None


def _forget_replaced(data_dir: Path, old: BatchManifest, new: BatchManifest) -> None:
    """After a retry of a batch that committed nothing: remove what the new outcome replaced
    (its quarantine file if the retry has none, and a manifest under the batch's legacy id)."""
    if old.quarantine_path and old.quarantine_path != new.quarantine_path:
        (data_dir / old.quarantine_path).unlink(missing_ok=True)
    if old.batch_id != new.batch_id:
        LakePaths(data_dir).manifest_path(old.batch_id).unlink(missing_ok=True)


def ingest_table(
    batch: Batch,
    data_dir: Path,
    *,
    now: datetime | None = None,
    steps: Iterator[str] | None = None,
) -> IngestResult:
    """Ingest an already-read batch (shared by batch directories and plain canonical files)."""
    advance = steps or iter(())
    paths = LakePaths(data_dir)
    batch_id = batch.batch_id
    with lake_lock(data_dir):
        remove_orphans(data_dir)
        existing = _committed_before(batch, data_dir)
        if existing is not None and (existing.committed or not existing.quarantined):
            return IngestResult(
                batch_id=existing.batch_id,
                rows_in=existing.rows_in,
                committed=existing.committed,
                quarantined=existing.quarantined,
                already_ingested=True,
                quarantine_path=data_dir / existing.quarantine_path
                if existing.quarantine_path
                else None,
                agency=existing.agency,
            )
        # A batch that committed nothing (every row quarantined, e.g. rows in the future of a
        # skewed clock) does not block its retry: it is validated again and its manifest and
        # quarantine file are replaced by the new outcome.
        next(advance, None)
        con = LocalExecutor()
        try:
            try:
                validation: Validation = validate_rows(
                    batch.events,
                    agency=batch.agency,
                    now=now,
                    future_tolerance=FUTURE_TOLERANCE,
                    executor=con,
                    lake_files=event_files(data_dir),
                )
            except ValueError as exc:
                source = batch.source / EVENTS_FILE if batch.source.is_dir() else batch.source
                raise BatchError(source, "the batch columns and types", str(exc)) from exc
            next(advance, None)
            settings = read_lake_settings(data_dir)
            events, layers, fingerprints = _with_geography(
                validation.valid, data_dir, batch_id, settings
            )
            next(advance, None)
            cube = build_cube(events, layers, executor=con)
        finally:
            con.close()
        next(advance, None)

        # Rows in must equal rows committed plus rows with at least one quarantine line.
        quarantined = pc.count_distinct(validation.problems.column("row_number")).as_py()
        if validation.rows_in != events.num_rows + quarantined:
            raise RuntimeError(
                f"batch {batch_id}: counts do not balance (rows in {validation.rows_in}, "
                f"committed {events.num_rows}, quarantined {quarantined}); nothing was committed"
            )
        occurred = events.column("occurred_at")
        meta = batch.metadata
        manifest = BatchManifest(
            batch_id=batch_id,
            events_sha256=batch.events_sha256,
            agency=batch.agency,
            sector=meta.get("sector"),
            connector=meta.get("connector"),
            profile=meta.get("profile"),
            prepared_at=meta.get("prepared_at"),
            key_fingerprint=meta.get("key_fingerprint"),
            ingested_at=utc_now_text(),
            rows_in=validation.rows_in,
            committed=events.num_rows,
            quarantined=quarantined,
            quarantine_lines=validation.problems.num_rows,
            quarantine_path=(
                str(paths.quarantine_path(batch_id).relative_to(data_dir)) if quarantined else None
            ),
            files=(),
            aggregates=(),
            layers=tuple(layers),
            committed_by_sector=_counts(events, "sector"),
            committed_by_kind=_counts(events, "kind"),
            outside_area=outside_counts(events, layers),
            layer_fingerprints=fingerprints,
            time_zone=settings.key,
            occurred_min=pc.min(occurred).as_py().isoformat() if events.num_rows else None,
            occurred_max=pc.max(occurred).as_py().isoformat() if events.num_rows else None,
        )
        written = commit_batch(
            data_dir,
            manifest,
            events,
            cube,
            quarantine_csv(validation.problems) if quarantined else None,
        )
        if existing is not None:
            _forget_replaced(data_dir, existing, written)
        next(advance, None)
    return IngestResult(
        batch_id=batch_id,
        rows_in=written.rows_in,
        committed=written.committed,
        quarantined=written.quarantined,
        already_ingested=False,
        quarantine_path=data_dir / written.quarantine_path if written.quarantine_path else None,
        agency=written.agency,
    )
