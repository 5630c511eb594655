"""Plain canonical files: a CSV or NDJSON already in the batch columns, for integrations.

A system that already speaks the canonical event can skip ``wellbeat prepare`` and hand the hub
a file whose columns are BATCH_SCHEMA names (see docs/ingest.md). It goes through exactly the
same validation, quarantine and atomic commit as a prepared batch; the file's SHA-256 and the
agency are its identity. Columns outside the batch schema are refused, not dropped, because an
unexpected column may hold an identifier.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.ingest.ingest import (
    BATCH_FORMAT,
    Batch,
    BatchError,
    IngestResult,
    file_sha256,
    ingest_table,
    progress_steps,
)
from wellbeat.lake.local import LocalExecutor, SqlError

REQUIRED_COLUMNS = ("event_id", "sector", "kind", "occurred_at")
LIST_COLUMNS = ("codes", "syndromes", "sensitivity")
LIST_SEPARATOR = ";"
"""Separator of several values in one CSV cell of ``codes``, ``syndromes``, ``sensitivity``."""
SUFFIXES = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}
ACCEPTED = tuple(n for n in BATCH_SCHEMA.names if n not in ("row_number", "linkage_code"))


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _check_columns(path: Path, columns: list[str]) -> None:
    unknown = [c for c in columns if c not in ACCEPTED]
    if unknown:
        raise BatchError(
            path,
            f"only batch columns ({', '.join(ACCEPTED)})",
            f"unknown column(s) {', '.join(unknown)}",
            field=unknown[0],
            line=1,
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise BatchError(
            path,
            f"the required column(s) {', '.join(REQUIRED_COLUMNS)}",
            f"no column {', '.join(missing)}",
            field=missing[0],
            line=1,
        )


def _read_csv(con: LocalExecutor, path: Path) -> pa.Table:
    source = f"read_csv({_quoted(path)}, header = true, all_varchar = true)"
    columns = [row[0] for row in con.rows(f"DESCRIBE SELECT * FROM {source}")]
    _check_columns(path, columns)
    if "attributes" in columns:
        bad = con.rows(
            f"SELECT n, attributes FROM (SELECT row_number() OVER () AS n, attributes "
            f"FROM {source}) WHERE attributes IS NOT NULL AND trim(attributes) <> '' AND "
            f"(NOT json_valid(attributes) OR json_type(attributes) <> 'OBJECT') LIMIT 1"
        )
        if bad:
            raise BatchError(
                path,
                "a JSON object of strings",
                repr(bad[0][1]),
                field="attributes",
                line=int(bad[0][0]) + 1,
            )
    select = []
    for name in columns:
        quoted = f'"{name}"'
        if name in LIST_COLUMNS:
            select.append(
                f"list_filter(list_transform(string_split(coalesce({quoted}, ''), "
                f"'{LIST_SEPARATOR}'), lambda v: trim(v)), lambda v: v <> '') AS {quoted}"
            )
        elif name == "attributes":
            select.append(
                f"CASE WHEN trim({quoted}) <> '' THEN CAST(json({quoted}) AS "
                f"MAP(VARCHAR, VARCHAR)) END AS {quoted}"
            )
        else:
            select.append(quoted)
    return con.table(f"SELECT {', '.join(select)} FROM {source}")


def _read_ndjson(con: LocalExecutor, path: Path) -> pa.Table:
    try:
        described = con.rows(
            f"DESCRIBE SELECT * FROM read_json({_quoted(path)}, format = 'newline_delimited')"
        )
    except SqlError as exc:
        raise BatchError(path, "one JSON object per line", str(exc).splitlines()[0]) from exc
    columns = [row[0] for row in described]
    _check_columns(path, columns)
    types = {
        f.name: (
            "VARCHAR[]"
            if f.name in LIST_COLUMNS
            else "MAP(VARCHAR, VARCHAR)"
            if f.name == "attributes"
            else "VARCHAR"
        )
        for f in BATCH_SCHEMA
        if f.name in columns
    }
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
    source = f"read_json({_quoted(path)}, format = 'newline_delimited', columns = {spec})"
    try:
        return con.table(f"SELECT * FROM {source}")
    except SqlError as exc:
        raise BatchError(
            path, "batch values (strings, string lists)", str(exc).splitlines()[0]
        ) from exc


def read_plain_file(path: Path, agency: str | None = None) -> Batch:
    """Read a canonical CSV/NDJSON into a batch; its agency is ``agency`` or the file's one."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BatchError(path, f"a file ending in {', '.join(SUFFIXES)}", repr(path.suffix))
    with LocalExecutor(time_zone=None) as con:
        raw = _read_csv(con, path) if kind == "csv" else _read_ndjson(con, path)
    n = raw.num_rows
    columns: list[pa.Array | pa.ChunkedArray] = []
    for field in BATCH_SCHEMA:
        if field.name == "row_number":
            columns.append(pa.array(np.arange(1, n + 1, dtype=np.int64)))
        elif field.name in raw.column_names:
            columns.append(raw.column(field.name).cast(field.type))
        elif field.name == "agency" and agency is not None:
            columns.append(pa.array([agency] * n, pa.string()))
        else:
            columns.append(pa.nulls(n, field.type))
    table = pa.Table.from_arrays(columns, schema=BATCH_SCHEMA)
    if agency is None:
        found = sorted({a for a in table.column("agency").unique().to_pylist() if a})
        if len(found) != 1:
            raise BatchError(
                path,
                "--agency, or one agency value in the 'agency' column",
                ", ".join(found) or "no agency",
                field="agency",
            )
        agency = found[0]
    metadata = {"format": BATCH_FORMAT, "agency": agency, "connector": "generic", "profile": None}
    return Batch(source=path, metadata=metadata, events=table, events_sha256=file_sha256(path))


def ingest_file(
    path: Path,
    data_dir: Path,
    *,
    agency: str | None = None,
    progress: bool = False,
    now: datetime | None = None,
) -> IngestResult:
    """Ingest a plain canonical CSV/NDJSON file like a prepared batch (docs/ingest.md)."""
    steps = progress_steps(progress)
    next(steps)
    batch = read_plain_file(Path(path), agency)
    return ingest_table(batch, Path(data_dir), now=now, steps=steps)
