"""The event lake on disk: batches, manifests, atomic commit, orphan cleanup and statistics.

Layout and rules are docs/data-directory.md: a batch is written under ``lake/_staging/``,
its folders are renamed into ``lake/events/`` and ``lake/aggregates/``, and only then is its
manifest written (temp file + rename). Readers list manifests and read only the files they
name, so a batch killed half-way is never seen; the next ingest removes the leftovers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wellbeat.events.periods import DEFAULT_TIME_ZONE, zone
from wellbeat.lake.local import LocalExecutor

MANIFEST_FORMAT = "wellbeat-manifest/1"
PART_ROWS = 2_000_000
"""Rows per events Parquet file; a batch larger than this is split into part-0, part-1, ..."""
MIN_PART_ROWS = 250_000
MAX_WRITERS = 4
ROW_GROUP_ROWS = 1_000_000
DICTIONARY_PAGE_BYTES = 1 << 24
"""Parquet dictionary page limit: pseudonyms and linkage codes repeat per person, and with
Arrow's 1 MiB default their dictionaries overflow to plain encoding (files ~4x larger, slower
to write and read)."""
PAUSE_ENV = "WELLBEAT_INGEST_PAUSE"
"""Crash-testing hook: ``staged:SECONDS`` or ``renamed:SECONDS`` sleeps at that commit step."""


SETTINGS_FILE = "settings.json"
ZONE_PROPERTY = "time_zone"
"""Property of an area feature (in the lake's ``zone_layer``) naming the area's IANA zone."""


class LakeError(RuntimeError):
    """The lake on disk is not in the state the operation needs."""


@dataclass(frozen=True)
class LakePaths:
    """Where each part of the lake lives under a hub data directory."""

    data_dir: Path

    @property
    def lake(self) -> Path:
        return self.data_dir / "lake"

    @property
    def events(self) -> Path:
        return self.lake / "events"

    @property
    def manifests(self) -> Path:
        return self.lake / "manifest"

    @property
    def aggregates(self) -> Path:
        return self.lake / "aggregates"

    @property
    def cube(self) -> Path:
        return self.aggregates / "cube"

    @property
    def staging(self) -> Path:
        return self.lake / "_staging"

    @property
    def settings(self) -> Path:
        """The lake's settings (time zone): ``lake/settings.json``; absent means defaults."""
        return self.lake / SETTINGS_FILE

    @property
    def quarantine(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def areas(self) -> Path:
        return self.data_dir / "areas"

    def manifest_path(self, batch_id: str) -> Path:
        return self.manifests / f"{batch_id}.json"

    def batch_events_dir(self, batch_id: str) -> Path:
        return self.events / f"batch_id={batch_id}"

    def batch_cube_dir(self, batch_id: str) -> Path:
        return self.cube / f"batch_id={batch_id}"

    def quarantine_path(self, batch_id: str) -> Path:
        return self.quarantine / f"{batch_id}.csv"


@dataclass(frozen=True)
class BatchManifest:
    """What the lake knows about one committed batch (``lake/manifest/<batch_id>.json``)."""

    batch_id: str
    events_sha256: str
    agency: str
    sector: str | None
    connector: str | None
    profile: str | None
    prepared_at: str | None
    key_fingerprint: str | None
    ingested_at: str
    rows_in: int
    committed: int
    quarantined: int
    quarantine_lines: int
    quarantine_path: str | None
    """Relative to the data directory; None when no row was rejected."""
    files: tuple[str, ...]
    """Event Parquet files, relative to ``lake/``."""
    aggregates: tuple[str, ...]
    """Cube Parquet files, relative to ``lake/``."""
    layers: tuple[str, ...]
    committed_by_sector: Mapping[str, int] = field(default_factory=dict)
    committed_by_kind: Mapping[str, int] = field(default_factory=dict)
    outside_area: Mapping[str, int] = field(default_factory=dict)
    occurred_min: str | None = None
    occurred_max: str | None = None
    layer_fingerprints: Mapping[str, str] = field(default_factory=dict)
    """SHA-256 of each area layer file the area columns were derived from (``layers`` order)."""
    revision: int = 0
    """How often the batch's files were rewritten since ingest (area layers re-derived)."""
    time_zone: str | None = None
    """The lake settings (``time_zone`` or ``time_zone@zone_layer``) its ``local_day`` column
    was derived with; None for a batch written before local days (read as UTC days)."""
    format: str = MANIFEST_FORMAT

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("files", "aggregates", "layers"):
            data[key] = list(data[key])
        for key in (
            "committed_by_sector",
            "committed_by_kind",
            "outside_area",
            "layer_fingerprints",
        ):
            data[key] = dict(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: Path) -> BatchManifest:
        if data.get("format") != MANIFEST_FORMAT:
            raise LakeError(
                f"{source}: field 'format' is {data.get('format')!r}, expected {MANIFEST_FORMAT!r}"
            )
        try:
            values = dict(data)
            for key in ("files", "aggregates", "layers"):
                values[key] = tuple(values[key])
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise LakeError(f"{source}: not a valid batch manifest ({exc})") from exc


@dataclass(frozen=True)
class LakeSettings:
    """Facts about the whole lake, kept in ``lake/settings.json`` (docs/engine.md).

    ``time_zone`` is the hub's IANA zone: every period a person reads (days, weeks, months...)
    is a local calendar period in it. ``zone_layer``, for a hub spanning zones, names an area
    layer whose features carry a ``time_zone`` property: an event's local day is then taken in
    its area's zone (the hub zone for events outside every area or without coordinates).
    """

    time_zone: str = DEFAULT_TIME_ZONE
    zone_layer: str | None = None

    @property
    def key(self) -> str:
        """What a batch's ``local_day`` depends on: ``zone`` or ``zone@zone_layer``."""
        return self.time_zone if self.zone_layer is None else f"{self.time_zone}@{self.zone_layer}"

    def to_json(self) -> dict[str, Any]:
        return {"time_zone": self.time_zone, "zone_layer": self.zone_layer}


def read_lake_settings(data_dir: Path) -> LakeSettings:
    """The lake's settings; the defaults (UTC, no zone layer) when the file is absent."""
    path = LakePaths(Path(data_dir)).settings
    if not path.exists():
        return LakeSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LakeError(f"{path}: cannot read lake settings ({exc})") from exc
    if not isinstance(data, dict):
        raise LakeError(f"{path}: expected a JSON object with field 'time_zone'")
    unknown = sorted(set(data) - {"time_zone", "zone_layer"})
    if unknown:
        raise LakeError(
            f"{path}: unknown field(s) {', '.join(unknown)}; expected time_zone, zone_layer"
        )
    name = data.get("time_zone", DEFAULT_TIME_ZONE)
    layer = data.get("zone_layer")
    if not isinstance(name, str):
        raise LakeError(f"{path}: field 'time_zone' must be a string, got {name!r}")
    if layer is not None and not isinstance(layer, str):
        raise LakeError(f"{path}: field 'zone_layer' must be a layer name, got {layer!r}")
    try:
        zone(name)
    except ValueError as exc:
        raise LakeError(f"{path}: field 'time_zone': {exc}") from exc
    return LakeSettings(name, layer)


def lake_time_zone(data_dir: Path) -> str:
    """The hub's IANA time zone (``UTC`` for a lake that names none)."""
    return read_lake_settings(data_dir).time_zone


def write_lake_settings(data_dir: Path, settings: LakeSettings) -> None:
    """Replace the lake's settings file atomically (validate the zone name first)."""
    zone(settings.time_zone)
    write_atomically(
        LakePaths(Path(data_dir)).settings, json.dumps(settings.to_json(), indent=2) + "\n"
    )


def read_manifest(path: Path) -> BatchManifest:
    """Load one manifest file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LakeError(f"{path}: cannot read manifest ({exc})") from exc
    return BatchManifest.from_json(data, path)


def list_batches(data_dir: Path) -> list[BatchManifest]:
    """Every committed batch, oldest ingest first (ties by batch id)."""
    directory = LakePaths(data_dir).manifests
    if not directory.is_dir():
        return []
    manifests = [read_manifest(p) for p in directory.glob("*.json")]
    return sorted(manifests, key=lambda m: (m.ingested_at, m.batch_id))


def find_batch(data_dir: Path, batch_id: str) -> BatchManifest | None:
    """The committed batch with this id, or None."""
    path = LakePaths(data_dir).manifest_path(batch_id)
    return read_manifest(path) if path.exists() else None


def event_files(data_dir: Path, manifests: list[BatchManifest] | None = None) -> list[Path]:
    """Absolute paths of the event files of every committed batch (what readers may read)."""
    lake = LakePaths(data_dir).lake
    batches = list_batches(data_dir) if manifests is None else manifests
    return [lake / f for m in batches for f in m.files]


def cube_files(data_dir: Path, manifests: list[BatchManifest] | None = None) -> list[Path]:
    """Absolute paths of the materialised cube files of every committed batch."""
    lake = LakePaths(data_dir).lake
    batches = list_batches(data_dir) if manifests is None else manifests
    return [lake / f for m in batches for f in m.aggregates]


@contextlib.contextmanager
def lake_lock(data_dir: Path) -> Iterator[None]:
    """Serialise writers of one lake (an advisory lock the OS drops if the process dies)."""
    lake = LakePaths(data_dir).lake
    lake.mkdir(parents=True, exist_ok=True)
    with (lake / ".lock").open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_orphans(data_dir: Path) -> list[Path]:
    """Delete what a killed ingest left behind: staging folders, batch folders without a
    manifest, and files of a committed batch its manifest no longer names (the files a
    revision replaced, kept until now for readers that had them open). Call only while holding
    ``lake_lock``. Returns what was removed."""
    paths = LakePaths(data_dir)
    removed: list[Path] = []
    if paths.staging.is_dir():
        for entry in sorted(paths.staging.iterdir()):
            _remove(entry)
            removed.append(entry)
    manifests = {m.batch_id: m for m in list_batches(data_dir)}
    named = {paths.lake / f for m in manifests.values() for f in (*m.files, *m.aggregates)}
    for parent in (paths.events, paths.cube):
        if not parent.is_dir():
            continue
        for entry in sorted(parent.iterdir()):
            batch_id = entry.name.removeprefix("batch_id=")
            if not entry.name.startswith("batch_id="):
                continue
            if batch_id not in manifests:
                _remove(entry)
                removed.append(entry)
                continue
            for file in sorted(entry.rglob("*"), reverse=True):
                if file.is_file() and file not in named:
                    file.unlink()
                    removed.append(file)
                elif file.is_dir() and not any(file.iterdir()):
                    file.rmdir()
    if paths.manifests.is_dir():
        for tmp in paths.manifests.glob(".*.tmp"):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression="zstd",
        row_group_size=ROW_GROUP_ROWS,
        dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
    )
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _part_rows(rows: int) -> int:
    """Rows per event file: at most PART_ROWS, and split so that each CPU writes one part
    (Parquet encoding is single-threaded per file), but never below MIN_PART_ROWS."""
    workers = max(1, min(os.cpu_count() or 1, MAX_WRITERS))
    return max(MIN_PART_ROWS, min(PART_ROWS, -(-rows // workers)))


def _write_parts(events: pa.Table, folder: Path) -> list[str]:
    """Write the events as part-<n>.parquet files in parallel; return their names in order."""
    if events.num_rows == 0:
        return []
    size = _part_rows(events.num_rows)
    parts = [
        (f"part-{n}.parquet", events.slice(start, size))
        for n, start in enumerate(range(0, events.num_rows, size))
    ]
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        list(pool.map(lambda part: _write_parquet(part[1], folder / part[0]), parts))
    return [name for name, _ in parts]


def _pause(step: str) -> None:
    """Crash-test hook (see PAUSE_ENV): sleep at a named commit step so a test can SIGKILL."""
    setting = os.environ.get(PAUSE_ENV, "")
    if ":" in setting:
        where, seconds = setting.split(":", 1)
        if where == step:
            print(f"wellbeat-ingest-paused:{step}", flush=True)
            time.sleep(float(seconds))


def write_atomically(path: Path, text: str) -> None:
    """Write a text file so readers see either nothing or all of it (temp + fsync + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


def commit_batch(
    data_dir: Path,
    manifest: BatchManifest,
    events: pa.Table,
    cube: pa.Table,
    quarantine_csv: str | None,
) -> BatchManifest:
    """Write one batch atomically: staging -> rename into the lake -> manifest.

    ``manifest`` carries everything but the file lists, which are filled in here. Call while
    holding ``lake_lock``. Returns the manifest as written.
    """
    paths = LakePaths(data_dir)
    batch_id = manifest.batch_id
    stage = paths.staging / f"{batch_id}.{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    event_names = _write_parts(events, stage / "events")
    cube_names: list[str] = []
    if cube.num_rows:
        _write_parquet(cube, stage / "cube" / "part-0.parquet")
        cube_names.append("part-0.parquet")
    _pause("staged")

    if quarantine_csv is not None:
        write_atomically(paths.quarantine_path(batch_id), quarantine_csv)
    moves = [
        (stage / "events", paths.batch_events_dir(batch_id), event_names),
        (stage / "cube", paths.batch_cube_dir(batch_id), cube_names),
    ]
    for source, target, names in moves:
        if not names:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # an orphan of an earlier killed run, never named by a manifest
            shutil.rmtree(target)
        source.replace(target)
        _fsync_dir(target.parent)
    shutil.rmtree(stage, ignore_errors=True)
    _pause("renamed")

    lake = paths.lake
    final = BatchManifest(
        **{
            **manifest.to_json(),
            "files": tuple(
                str(paths.batch_events_dir(batch_id).relative_to(lake) / n) for n in event_names
            ),
            "aggregates": tuple(
                str(paths.batch_cube_dir(batch_id).relative_to(lake) / n) for n in cube_names
            ),
            "layers": tuple(manifest.layers),
        }
    )
    write_atomically(paths.manifest_path(batch_id), json.dumps(final.to_json(), indent=2) + "\n")
    return final


def revise_batch(
    data_dir: Path,
    manifest: BatchManifest,
    events: pa.Table,
    cube: pa.Table,
    **changes: Any,
) -> BatchManifest:
    """Replace a committed batch's event and cube files with a new revision, atomically.

    The new files are staged, renamed into ``rev-<n>/`` folders of the batch, and only then is
    the manifest replaced (temp file + rename): a reader sees the old revision or the new one,
    never a mixture. The old files stay until the next writer's ``remove_orphans``, so a reader
    that listed them a moment ago can still finish. ``changes`` are manifest fields to update
    (layers, outside_area, layer_fingerprints...). Call while holding ``lake_lock``.
    """
    paths = LakePaths(data_dir)
    batch_id = manifest.batch_id
    revision = manifest.revision + 1
    stage = paths.staging / f"{batch_id}.rev-{revision}.{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    event_names = _write_parts(events, stage / "events")
    cube_names: list[str] = []
    if cube.num_rows:
        _write_parquet(cube, stage / "cube" / "part-0.parquet")
        cube_names.append("part-0.parquet")
    folder = f"rev-{revision}"
    targets = {
        "events": paths.batch_events_dir(batch_id) / folder,
        "cube": paths.batch_cube_dir(batch_id) / folder,
    }
    for kind, names in (("events", event_names), ("cube", cube_names)):
        if not names:
            continue
        target = targets[kind]
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # left by a killed revision, never named by a manifest
            shutil.rmtree(target)
        (stage / kind).replace(target)
        _fsync_dir(target.parent)
    shutil.rmtree(stage, ignore_errors=True)
    lake = paths.lake
    final = BatchManifest(
        **{
            **manifest.to_json(),
            **changes,
            "files": tuple(str(targets["events"].relative_to(lake) / n) for n in event_names),
            "aggregates": tuple(str(targets["cube"].relative_to(lake) / n) for n in cube_names),
            "layers": tuple(changes.get("layers", manifest.layers)),
            "revision": revision,
        }
    )
    write_atomically(paths.manifest_path(batch_id), json.dumps(final.to_json(), indent=2) + "\n")
    return final


def utc_now_text() -> str:
    """The current time as an ISO 8601 UTC string (manifest timestamps)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


LATENCY_QUANTILES = (0.5, 0.9, 0.99)
"""Reporting latency (reported_at - occurred_at) percentiles shown per agency."""


@dataclass(frozen=True)
class AgencyStats:
    """One source agency's state in the lake: volume, rejects, freshness and latency."""

    agency: str
    batches: int
    rows_in: int
    committed: int
    quarantined: int
    last_ingested_at: str
    last_occurred_at: str | None
    latency_seconds: Mapping[str, float | None]
    """Percentiles of reported_at - occurred_at in seconds, keyed "p50", "p90", "p99"."""


@dataclass(frozen=True)
class LakeStats:
    """Aggregate state of the lake for the CLI and the hub's home page (never event rows)."""

    batches: int
    rows_in: int
    committed: int
    quarantined: int
    rows_by_agency: Mapping[str, int]
    rows_by_sector: Mapping[str, int]
    rows_by_kind: Mapping[str, int]
    agencies: tuple[AgencyStats, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["agencies"] = [asdict(a) for a in self.agencies]
        return data


def _latency_by_agency(files: list[Path]) -> dict[str, dict[str, float | None]]:
    if not files:
        return {}
    paths = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in files) + "]"
    quantiles = ", ".join(str(q) for q in LATENCY_QUANTILES)
    sql = (
        "SELECT agency, quantile_cont(epoch(reported_at) - epoch(occurred_at), "
        f"[{quantiles}]) AS q FROM read_parquet({paths}, union_by_name = true) "
        "WHERE reported_at IS NOT NULL GROUP BY agency"
    )
    with LocalExecutor(time_zone=None) as con:
        rows = con.rows(sql)
    names = [f"p{round(q * 100)}" for q in LATENCY_QUANTILES]
    return {agency: dict(zip(names, values, strict=True)) for agency, values in rows}


def _add(total: dict[str, int], counts: Mapping[str, int]) -> None:
    for key, value in counts.items():
        total[key] = total.get(key, 0) + int(value)


def lake_stats(data_dir: Path, *, latency: bool = True) -> LakeStats:
    """Counts from the manifests; latency percentiles (optional) from a scan of two columns."""
    manifests = list_batches(data_dir)
    by_agency: dict[str, int] = {}
    by_sector: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    per_agency: dict[str, list[BatchManifest]] = {}
    for m in manifests:
        _add(by_agency, {m.agency: m.committed})
        _add(by_sector, m.committed_by_sector)
        _add(by_kind, m.committed_by_kind)
        per_agency.setdefault(m.agency, []).append(m)
    latencies = _latency_by_agency(event_files(data_dir, manifests)) if latency else {}
    empty: dict[str, float | None] = {f"p{round(q * 100)}": None for q in LATENCY_QUANTILES}
    agencies = tuple(
        AgencyStats(
            agency=agency,
            batches=len(batches),
            rows_in=sum(b.rows_in for b in batches),
            committed=sum(b.committed for b in batches),
            quarantined=sum(b.quarantined for b in batches),
            last_ingested_at=max(b.ingested_at for b in batches),
            last_occurred_at=max((b.occurred_max for b in batches if b.occurred_max), default=None),
            latency_seconds=latencies.get(agency, empty),
        )
        for agency, batches in sorted(per_agency.items())
    )
    return LakeStats(
        batches=len(manifests),
        rows_in=sum(m.rows_in for m in manifests),
        committed=sum(m.committed for m in manifests),
        quarantined=sum(m.quarantined for m in manifests),
        rows_by_agency=dict(sorted(by_agency.items())),
        rows_by_sector=dict(sorted(by_sector.items())),
        rows_by_kind=dict(sorted(by_kind.items())),
        agencies=agencies,
    )
