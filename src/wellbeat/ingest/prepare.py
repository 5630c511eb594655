"""``wellbeat prepare``: turn an agency's raw extract into a shareable batch, at the agency.

The profile (docs/profiles.md) says which columns mean what. Prepare reads only those columns,
maps them onto the canonical event (``events.schema.BATCH_SCHEMA``), replaces the person's
identifiers by a keyed pseudonym and a Bloom-filter linkage code, lets the source's connector
derive syndromes from codes and free text, and writes ``events.parquet`` + ``batch.json``.
Identity columns, free text and every column the profile does not name never reach the batch.

Prepare never drops or reorders rows: a value it cannot convert is written as its raw string so
that ingest can quarantine the row with its row number, field and reason. The one exception is
a date of birth: an unparseable DOB yields no age band rather than being copied out.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from wellbeat import __version__
from wellbeat.events.schema import AGE_BANDS, BATCH_SCHEMA, SEX_SYNONYMS
from wellbeat.ingest.codecheck import CodeReport
from wellbeat.ingest.connectors import CONNECTORS
from wellbeat.ingest.connectors.base import (
    ATTRIBUTES_TYPE,
    SourceRows,
    constant_lists,
    lists_from_pairs,
    with_attributes,
)
from wellbeat.ingest.profile import (
    ColumnMapping,
    IdentityColumns,
    PrepareError,
    Profile,
    load_profile,
)
from wellbeat.lake.local import LocalExecutor, SqlError, SqlInputError
from wellbeat.privacy.bloom import BLOOM_PARAMETERS
from wellbeat.privacy.keys import key_fingerprint, load_key
from wellbeat.privacy.linkage import tokens_and_codes
from wellbeat.privacy.pseudonym import Identity

BATCH_FORMAT = "wellbeat-batch/1"
EVENTS_FILE = "events.parquet"
BATCH_FILE = "batch.json"
REPORT_FILE = "report.json"
REPORT_FORMAT = "wellbeat-prepare-report/1"
CHUNK_ROWS = 262_144
"""Rows mapped and written at a time: bounds memory and paces the progress bar."""
DICTIONARY_PAGE_BYTES = 1 << 24
"""Parquet dictionary page limit of the batch (as the lake's): with Arrow's 1 MiB default the
dictionary of person tokens and linkage codes overflows within a slice and the column falls back
to plain encoding, about four times the bytes to write, hash and read back at ingest."""
UNIQUE_PER_ROW = frozenset({"row_number", "event_id", "occurred_at", "reported_at"})
"""Batch columns whose values rarely repeat: written plain, as a dictionary would not pay."""

_T = TypeVar("_T")

_OFFSET_AT_END = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|UTC|[+-]\d{2}(:?\d{2})?)$"


@dataclass(frozen=True)
class Extract:
    """The columns of a raw extract that the profile uses, every value as text."""

    path: Path
    format: str
    columns: tuple[str, ...]
    """Every column of the extract, in file order (for error messages)."""
    table: pa.Table
    """Only the profile's columns, as strings (null where empty)."""
    temporal: frozenset[str]
    """Columns that were typed dates/timestamps in a Parquet extract (their format is ignored)."""


@dataclass(frozen=True)
class BatchSummary:
    """What ``prepare_extract`` wrote: the batch directory and its ``batch.json``."""

    batch: Path
    rows: int
    agency: str
    connector: str
    events_sha256: str
    key_fingerprint: str
    metadata: Mapping[str, object]
    seconds: float
    codes: Sequence[Mapping[str, object]] = ()
    """``CodeReport.to_json()``: per ``codes:`` entry, unmapped and unknown codes."""
    code_problems: Sequence[str] = ()
    """``CodeReport.lines()``: one sentence per column with unmapped or unknown codes."""

    def as_json(self) -> dict[str, object]:
        """The one object ``wellbeat prepare --json`` prints."""
        return {
            "batch": str(self.batch),
            "rows": self.rows,
            "agency": self.agency,
            "connector": self.connector,
            "events_sha256": self.events_sha256,
            "key_fingerprint": self.key_fingerprint,
            "codes": [dict(entry) for entry in self.codes],
        }


class UnmappedCodesError(PrepareError):
    """``--fail-on-unmapped`` and the extract has codes unmapped or not in their code set."""

    def __init__(self, extract: Path, report: CodeReport) -> None:
        self.report = report
        super().__init__(
            extract,
            "codes",
            "every code mapped by the profile and in its code set (--fail-on-unmapped)",
            "; ".join(report.lines()) + "; no batch written",
        )


# ---------------------------------------------------------------------------------------------
# Reading extracts


def read_extract(path: str | Path, profile: Profile) -> Extract:
    """Read the profile's columns of the extract at ``path`` as text; fail on a missing column."""
    p = Path(path)
    if not p.is_file():
        raise PrepareError(p, "(extract)", "an existing extract file", "no such file")
    fmt = profile.extract_format(p)
    try:
        if fmt == "csv":
            columns = _csv_header(p)
            profile.check_columns(columns, p)
            table = _read_csv(p, list(profile.columns_used()))
            temporal: frozenset[str] = frozenset()
        elif fmt == "parquet":
            schema = pq.read_schema(p)
            columns = tuple(schema.names)
            profile.check_columns(columns, p)
            table, temporal = _read_parquet(p, list(profile.columns_used()))
        else:
            columns = _ndjson_keys(p)
            profile.check_columns(columns, p)
            table = _read_ndjson(p, list(profile.columns_used()))
            temporal = frozenset()
    except (pa.ArrowException, SqlError, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PrepareError(p, "(extract)", f"a readable {fmt} extract", _first_line(exc)) from exc
    return Extract(p, fmt, tuple(columns), table, temporal)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv_header(path: Path) -> tuple[str, ...]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise PrepareError(path, "line 1", "a header row naming the columns", "an empty file", 1)
    return tuple(header)


CSV_BLOCK_BYTES = 1 << 20
"""Bytes of CSV Arrow parses at a time; a record must fit in one block, so a larger one makes
the read start again with blocks ``GROWTH`` times larger, up to ``MAX_RECORD_BYTES``."""
NDJSON_OBJECT_BYTES = 1 << 24
"""DuckDB's largest NDJSON line to start with (its default), grown like ``CSV_BLOCK_BYTES``."""
GROWTH = 8
MAX_RECORD_BYTES = 1 << 28
"""The largest record (CSV row or NDJSON line) prepare reads: 256 MiB. Beyond it, prepare stops
and names the line and the column holding the oversized value."""


def _buffer_sizes(start: int) -> Iterator[int]:
    size = start
    while size < MAX_RECORD_BYTES:
        yield size
        size *= GROWTH
    yield MAX_RECORD_BYTES


def _read_csv(path: Path, columns: list[str]) -> pa.Table:
    """The named columns as text. Arrow parses the whole record, read columns or not, in blocks
    that must each hold whole records: a huge value (even in a column the profile drops) makes
    the read start again with larger blocks, and a record over MAX_RECORD_BYTES stops prepare
    with its line and column."""
    convert = pacsv.ConvertOptions(
        include_columns=columns,
        column_types={column: pa.string() for column in columns},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    # Narratives often hold line breaks inside quotes: a record is a data row, not a line.
    parse = pacsv.ParseOptions(newlines_in_values=True)
    for block in _buffer_sizes(CSV_BLOCK_BYTES):
        try:
            return pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=block),
                parse_options=parse,
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):  # Arrow: "straddling object straddles two blocks"
                raise
    raise _oversized_csv_record(path)


def _oversized_csv_record(path: Path) -> PrepareError:
    """Find the first CSV record longer than MAX_RECORD_BYTES and say where it is."""
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            line = reader.line_num + 1
            for record in reader:
                sizes = [len(value.encode("utf-8")) for value in record]
                if sum(sizes) > MAX_RECORD_BYTES:
                    index = sizes.index(max(sizes))
                    column = header[index] if index < len(header) else f"number {index + 1}"
                    return _oversized(path, line, column, max(sizes))
                line = reader.line_num + 1
    finally:
        csv.field_size_limit(limit)
    return _oversized(path, None, None, None)


def _oversized(path: Path, line: int | None, column: str | None, size: int | None) -> PrepareError:
    return PrepareError(
        path,
        f"column {column!r}" if column else "(extract)",
        f"records of at most {MAX_RECORD_BYTES // 2**20} MiB, every column counted (even one "
        "the profile does not use)",
        f"a value of {size / 2**20:,.0f} MiB" if size else "a larger record",
        line,
    )


def _read_parquet(path: Path, columns: list[str]) -> tuple[pa.Table, frozenset[str]]:
    table = pq.read_table(path, columns=columns)
    temporal = set()
    arrays = []
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_temporal(column.type):
            temporal.add(name)
        arrays.append(_as_text(column))
    return pa.table(arrays, names=table.column_names), frozenset(temporal)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type):
        return column
    if pa.types.is_large_string(column.type) or pa.types.is_dictionary(column.type):
        return column.cast(pa.string())
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        wall = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        return pc.binary_join_element_wise(wall.cast(pa.string()), "Z", "")
    return column.cast(pa.string())


def _with_object_size(path: Path, run: Callable[[LocalExecutor, int], _T]) -> _T:
    """Run a DuckDB read of an NDJSON file, allowing longer lines when one does not fit (DuckDB
    needs a whole line in memory, read columns or not); a line over MAX_RECORD_BYTES stops
    prepare with its line and column."""
    for size in _buffer_sizes(NDJSON_OBJECT_BYTES):
        with LocalExecutor(time_zone=None) as con:
            con.execute("SET preserve_insertion_order = true")
            try:
                return run(con, size)
            except SqlInputError as exc:
                if "maximum_object_size" not in str(exc):
                    raise
    raise _oversized_ndjson_line(path)


def _oversized_ndjson_line(path: Path) -> PrepareError:
    with path.open("rb") as handle:
        for line, text in enumerate(handle, start=1):
            if len(text) > MAX_RECORD_BYTES:
                try:
                    values = json.loads(text)
                except ValueError:
                    return _oversized(path, line, None, None)
                if not isinstance(values, dict) or not values:
                    return _oversized(path, line, None, None)
                sizes = {key: len(json.dumps(value)) for key, value in values.items()}
                column = max(sizes, key=lambda key: sizes[key])
                return _oversized(path, line, column, sizes[column])
    return _oversized(path, None, None, None)


def _ndjson_keys(path: Path) -> tuple[str, ...]:
    def run(con: LocalExecutor, size: int) -> list[tuple[object, ...]]:
        return con.rows(
            "SELECT DISTINCT unnest(json_keys(json)) AS k "
            "FROM read_ndjson_objects(?, maximum_object_size = ?) ORDER BY k",
            [str(path), size],
        )

    return tuple(str(row[0]) for row in _with_object_size(path, run))


def _read_ndjson(path: Path, columns: list[str]) -> pa.Table:
    """Every named key as text (numbers and booleans as written, nested values as JSON)."""
    quoted = (column.replace("'", "''") for column in columns)
    struct = "{" + ", ".join(f"'{column}': 'VARCHAR'" for column in quoted) + "}"

    def run(con: LocalExecutor, size: int) -> pa.Table:
        return con.table(
            f"SELECT * FROM read_json(?, format='newline_delimited', columns={struct}, "
            f"maximum_object_size = {int(size)})",
            [str(path)],
        )

    return _with_object_size(path, run)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Mapping one slice of the extract onto BATCH_SCHEMA


def apply_map(values: pa.Array, mapping: Mapping[str, str]) -> pa.Array:
    """Translate the agency's codes; a value not in ``mapping`` passes through unchanged."""
    return apply_map_on(values, mapping, fallback=values) if mapping else values


def _trimmed(values: pa.Array) -> pa.Array:
    """Values without surrounding whitespace; blank becomes null."""
    stripped = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped)


UTC_STAMP = pa.timestamp("us", tz="UTC")
ISO_TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
"""ISO 8601 shapes tried in order by Arrow's fast parser; anything else goes to pandas."""
ISO_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


_TIME_DIRECTIVES = ("%H", "%I", "%T", "%R", "%X", "%c", "%s")
_LAST_SECOND_OF_DAY = pa.scalar(86_399_000_000, pa.duration("us"))


def _is_aware(fmt: str) -> bool:
    return "%z" in fmt or "%Z" in fmt


def _is_date_only(fmt: str) -> bool:
    return not any(directive in fmt for directive in _TIME_DIRECTIVES)


def _parse_instants(
    values: pa.Array,
    formats: Sequence[str],
    timezone: str | None,
    pandas_format: str,
    *,
    end_of_day: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch and a parsed mask, trying ``formats`` then pandas.

    Arrow's strptime (C++) takes the bulk; pandas (``pandas_format``, which accepts ``%f`` and
    loose ISO 8601) only sees what Arrow could not read. With a ``timezone``, naive values are
    local times there (ambiguous -> first occurrence, skipped -> moved forward) and the result
    is UTC; without one, values stay naive (calendar dates). With ``end_of_day``, a value read
    by a date-only format stands for the last second of that local day.
    """
    n = len(values)
    micros = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    present = values.is_valid().to_numpy(zero_copy_only=False)
    for fmt in formats:
        todo = np.flatnonzero(present & ~ok)
        if len(todo) == 0:
            break
        try:
            pending = values if len(todo) == len(values) else values.take(todo)
            parsed = pc.strptime(pending, format=fmt, unit="us", error_is_null=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue  # a directive Arrow lacks: pandas handles it below
        if end_of_day and _is_date_only(fmt):
            parsed = pc.add(parsed, _LAST_SECOND_OF_DAY)
        if timezone is not None and not _is_aware(fmt):
            parsed = pc.assume_timezone(
                parsed, timezone, ambiguous="earliest", nonexistent="latest"
            )
        good = parsed.is_valid().to_numpy(zero_copy_only=False)
        numbers = pc.fill_null(parsed.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        micros[todo[good]] = numbers[good]
        ok[todo[good]] = True
    todo = np.flatnonzero(present & ~ok)
    if len(todo):
        rest, rest_ok = _parse_with_pandas(
            values.take(todo), pandas_format, timezone, end_of_day=end_of_day
        )
        micros[todo[rest_ok]] = rest[rest_ok]
        ok[todo[rest_ok]] = True
    return micros, ok


def _parse_with_pandas(
    values: pa.Array, fmt: str, timezone: str | None, *, end_of_day: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    text = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
    if fmt == "ISO8601":
        aware = pc.fill_null(pc.match_substring_regex(values, _OFFSET_AT_END), False)
        aware_mask = aware.to_numpy(zero_copy_only=False)
    else:
        aware_mask = np.full(len(text), _is_aware(fmt))
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if aware_mask.any():
        parsed[aware_mask] = pd.to_datetime(
            text[aware_mask], format=fmt, errors="coerce", utc=True
        ).dt.as_unit("us")
    if (~aware_mask).any():
        local = pd.to_datetime(text[~aware_mask], format=fmt, errors="coerce").dt.as_unit("us")
        if end_of_day and fmt != "ISO8601" and _is_date_only(fmt):
            local = local + pd.Timedelta(seconds=86_399)
        if timezone is not None:
            local = local.dt.tz_localize(
                timezone,
                ambiguous=np.ones(len(local), dtype=bool),
                nonexistent="shift_forward",
            )
        else:
            local = local.dt.tz_localize("UTC")
        parsed[~aware_mask] = local.dt.tz_convert("UTC")
    ok = parsed.notna().to_numpy()
    micros = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]").view(np.int64)
    return np.where(ok, micros, 0), ok


def parse_timestamps(
    values: pa.Array,
    fmt: str | None,
    timezone: str,
    *,
    typed: bool = False,
    end_of_day: bool = False,
) -> tuple[pa.Array, pa.Array]:
    """Timestamps as UTC ISO 8601 text (``2024-03-01T14:05:00Z``) plus the parsed UTC values.

    ``fmt`` is a strptime format (default ISO 8601). Values with an offset are converted;
    naive local values are placed in ``timezone`` (an ambiguous hour at the end of daylight
    saving reads as its first occurrence, a skipped hour moves forward) and converted to UTC.
    With ``end_of_day`` a date without a time is the last second of that local day (used for
    ``reported_at``: a record entered "on 3 May" existed by the end of 3 May, not before an
    event of 3 May at 14:00). A value that does not parse is returned as its raw text and
    null in the parsed values.
    """
    if typed or fmt is None:
        formats: Sequence[str] = ISO_TIMESTAMP_FORMATS
        pandas_format = "ISO8601"
    else:
        formats, pandas_format = (fmt,), fmt
    micros, ok = _parse_instants(values, formats, timezone, pandas_format, end_of_day=end_of_day)
    stamps = pa.array(micros, pa.int64(), mask=~ok).cast(UTC_STAMP)
    return _utc_text(stamps, values), stamps


def _utc_text(stamps: pa.Array, raw: pa.Array) -> pa.Array:
    """``2024-03-01T14:05:00Z`` (microseconds only when present); raw text where unparsed."""
    wall = stamps.cast(pa.timestamp("us"))  # UTC wall clock; naive casts to text fast
    whole = wall.cast(pa.timestamp("s"), safe=False)
    fractional = pc.fill_null(pc.not_equal(whole.cast(pa.timestamp("us")), wall), False)
    text = whole.cast(pa.string())
    if pc.any(fractional).as_py():  # most sources record whole seconds: one cast suffices
        text = pc.if_else(fractional, wall.cast(pa.string()), text)
    iso = pc.binary_join_element_wise(
        pc.replace_substring(text, " ", "T", max_replacements=1), "Z", ""
    )
    return iso if stamps.null_count == 0 else pc.if_else(stamps.is_valid(), iso, raw)


def parse_dates(values: pa.Array, fmt: str | None) -> pa.Array:
    """Calendar dates (e.g. dates of birth) with ``fmt`` or ISO 8601, as date32; null if invalid."""
    formats = (fmt,) if fmt else ISO_DATE_FORMATS
    micros, ok = _parse_instants(values, formats, None, fmt or "ISO8601")
    return pa.array(micros, pa.int64(), mask=~ok).cast(pa.timestamp("us")).cast(pa.date32())


_WHOLE_AGE = r"^\d{1,3}(\.0*)?$"


def age_bands_from_ages(values: pa.Array) -> pa.Array:
    """Whole-year ages (``34``, ``34.0``) -> 5-year bands ("90+" top); anything else stays raw.

    Ages of 130 and over are not plausible and stay raw too, for ingest to quarantine.
    """
    whole = pc.fill_null(pc.match_substring_regex(values, _WHOLE_AGE), False)
    ok = whole.to_numpy(zero_copy_only=False)
    numbers = pc.if_else(whole, values, "0").cast(pa.float64()).to_numpy(zero_copy_only=False)
    ok &= numbers < 130
    return pc.if_else(pa.array(ok), _bands(numbers, ok), values)


def age_bands_from_dob(born: pa.Array, at: pa.Array, timezone: str) -> pa.Array:
    """Age band on the event's local date from dates of birth; null where either is unknown."""
    event = at.cast(pa.timestamp("us", tz=timezone))

    def part(values: pa.Array, fn: Callable[[pa.Array], pa.Array]) -> np.ndarray:
        return pc.fill_null(fn(values), 0).to_numpy(zero_copy_only=False).astype(np.int64)

    years = part(event, pc.year) - part(born, pc.year)
    month, day = part(event, pc.month), part(event, pc.day)
    born_month, born_day = part(born, pc.month), part(born, pc.day)
    before_birthday = (month < born_month) | ((month == born_month) & (day < born_day))
    age = (years - before_birthday).astype(float)
    ok = born.is_valid().to_numpy(zero_copy_only=False) & event.is_valid().to_numpy(
        zero_copy_only=False
    )
    return _bands(age, ok & (age >= 0))


def _bands(age: np.ndarray, ok: np.ndarray) -> pa.Array:
    """Five-year band per whole-year age (``events.schema.age_band``); null where not ``ok``."""
    index = np.minimum(np.where(ok, age, 0).astype(np.int64) // 5, len(AGE_BANDS) - 1)
    return pa.array(np.array(AGE_BANDS, dtype=object)[index], pa.string(), mask=~ok)


def normalise_sex(values: pa.Array, mapping: Mapping[str, str]) -> pa.Array:
    """The profile's map first, then the common spellings of ``events.schema.SEX_SYNONYMS``
    (M, F, Female, U, non-binary, ...) to the enum; anything else is left for validation."""
    mapped = apply_map(values, mapping)
    # events.schema.sex_key, vectorised: lower case, each run of other characters one space.
    spaced = pc.replace_substring_regex(
        pc.utf8_lower(mapped), pattern="[^a-z0-9]+", replacement=" "
    )
    return apply_map_on(pc.utf8_trim(spaced, characters=" "), SEX_SYNONYMS, fallback=mapped)


def apply_map_on(keys: pa.Array, mapping: Mapping[str, str], fallback: pa.Array) -> pa.Array:
    """Look ``keys`` up in ``mapping``; where absent, take ``fallback``."""
    index = pc.index_in(keys, value_set=pa.array(list(mapping), pa.string()))
    targets = pa.array(list(mapping.values()), pa.string())
    return pc.if_else(pc.is_null(index), fallback, targets.take(index))


def _codes(table: pa.Table, profile: Profile, report: CodeReport | None) -> pa.ListArray:
    """Namespaced codes per row from every ``codes:`` entry, in profile order, de-duplicated.
    ``report`` (if given) tallies the codes left unmapped or not in their code set."""
    n = table.num_rows
    rows: list[np.ndarray] = []
    values: list[pa.Array] = []
    for index, mapping in enumerate(profile.codes):
        column = table.column(mapping.column).combine_chunks()
        if mapping.split is None:
            cells = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), column)
        else:
            cells = pc.split_pattern(column, pattern=mapping.split)
        flat = _trimmed(pc.list_flatten(cells))
        parents = pc.list_parent_indices(cells).to_numpy(zero_copy_only=False)
        coded = apply_map(flat, mapping.map)
        if report is not None:
            report.add(index, mapping, flat, coded)
        prefixed = pc.binary_join_element_wise(f"{mapping.namespace}:", coded, "")
        rows.append(parents)
        values.append(prefixed)
    if not rows:
        return constant_lists(n, ())
    return lists_from_pairs(n, np.concatenate(rows), pa.concat_arrays(values))


def map_rows(
    table: pa.Table,
    profile: Profile,
    *,
    first_row: int,
    temporal: frozenset[str] = frozenset(),
    event_id_prefix: str = "",
    report: CodeReport | None = None,
) -> tuple[pa.Table, dict[str, pa.Array]]:
    """Map a slice of the extract (text columns) onto BATCH_SCHEMA; also return the kept text.

    ``first_row`` is the 1-based data-row number of the slice's first row. The identity columns
    are not touched here (``person_token`` and ``linkage_code`` come back null). ``report``, if
    given, tallies the codes the profile leaves unmapped or the code sets lack.
    """
    n = table.num_rows

    def column(mapping: ColumnMapping) -> pa.Array:
        return _trimmed(table.column(mapping.column).combine_chunks())

    def constant(value: str) -> pa.Array:
        return pa.repeat(pa.scalar(value, pa.string()), n)

    null = pa.nulls(n, pa.string())
    out: dict[str, pa.Array] = {
        "row_number": pa.array(np.arange(first_row, first_row + n, dtype=np.int64)),
        "agency": constant(profile.agency),
        "sector": constant(profile.sector),
    }
    fields = profile.fields
    if "event_id" in fields:
        out["event_id"] = apply_map(column(fields["event_id"]), fields["event_id"].map)
    else:
        ids = np.char.add(event_id_prefix, np.arange(first_row, first_row + n).astype(str))
        out["event_id"] = pa.array(ids.astype(object), pa.string())
    if "kind" in fields:
        kinds = apply_map(column(fields["kind"]), fields["kind"].map)
        out["kind"] = pc.fill_null(kinds, profile.kind) if profile.kind else kinds
    else:
        out["kind"] = constant(profile.kind)

    parsed: dict[str, pa.Array] = {}
    for name in ("occurred_at", "reported_at"):
        if name not in fields:
            out[name] = null
            continue
        mapping = fields[name]
        raw = apply_map(column(mapping), mapping.map)
        out[name], parsed[name] = parse_timestamps(
            raw,
            mapping.format,
            profile.timezone,
            typed=mapping.column in temporal,
            end_of_day=name == "reported_at",
        )
    for name in ("lat", "lon"):
        out[name] = apply_map(column(fields[name]), fields[name].map) if name in fields else null
    out["sex"] = (
        normalise_sex(column(fields["sex"]), fields["sex"].map) if "sex" in fields else null
    )

    if profile.age_band is not None:
        raw_age = apply_map(column(profile.age_band), profile.age_band.map)
        out["age_band"] = age_bands_from_ages(raw_age)
    elif profile.age_from_dob is not None:
        source = profile.age_from_dob
        fmt = None if source.column in temporal else source.format or profile.identity.dob_format
        born = parse_dates(_trimmed(table.column(source.column).combine_chunks()), fmt)
        at = parsed.get(source.at, pa.nulls(n, UTC_STAMP))
        out["age_band"] = age_bands_from_dob(born, at, profile.timezone)
    else:
        out["age_band"] = null

    out["codes"] = _codes(table, profile, report)
    out["syndromes"] = constant_lists(n, ())
    out["sensitivity"] = constant_lists(n, profile.sensitivity)
    out["person_token"] = null
    out["linkage_code"] = pa.nulls(n, pa.binary())
    out["attributes"] = pa.MapArray.from_arrays(
        pa.array(np.zeros(n + 1, dtype=np.int32)),
        pa.array([], pa.string()),
        pa.array([], pa.string()),
    ).cast(ATTRIBUTES_TYPE)
    events = pa.Table.from_pydict(
        {name: out[name] for name in BATCH_SCHEMA.names}, schema=BATCH_SCHEMA
    )

    text = {
        name: _trimmed(table.column(kept.column).combine_chunks())
        for name, kept in profile.keep_text.items()
    }
    attributes = {
        name: apply_map(column(mapping), mapping.map)
        for name, mapping in profile.attributes.items()
    }
    attributes.update({name: text[name] for name, kept in profile.keep_text.items() if kept.share})
    return with_attributes(events, attributes), text


# ---------------------------------------------------------------------------------------------
# Identifiers -> pseudonym + linkage code (memoised per distinct identity)

_PART_SEPARATOR = "\x1f"


class Pseudonymiser:
    """Keyed person tokens and Bloom linkage codes for the identity columns of each row.

    Each distinct identity (the tuple of its identity cells) is pseudonymised once and the
    result reused for every row and slice that repeats it: sources see the same people often.
    The memo is held as Arrow arrays, so matching a slice against it is a hash join, not a
    Python loop. ``person_token`` is null below the minimum identity (``privacy.pseudonym``);
    a row whose identity cells are all empty gets no linkage code either.
    """

    def __init__(
        self, key: bytes, identity: IdentityColumns, temporal: frozenset[str] = frozenset()
    ) -> None:
        self.key = key
        self.parts = identity.columns()
        self.dob_format = None if identity.dob in temporal else identity.dob_format
        self.known = pa.array([], pa.string())
        self.tokens = pa.array([], pa.string())
        self.codes = pa.array([], pa.binary())

    def apply(self, table: pa.Table) -> tuple[pa.Array, pa.Array]:
        """(person_token, linkage_code) for each row of a slice of the extract."""
        cells = {
            part: _trimmed(table.column(column).combine_chunks())
            for part, column in self.parts.items()
        }
        filled = [pc.fill_null(values, "") for values in cells.values()]
        joined = pc.binary_join_element_wise(*filled, _PART_SEPARATOR)
        encoded = pc.dictionary_encode(joined)
        distinct = encoded.dictionary
        fresh = distinct.filter(pc.is_null(pc.index_in(distinct, value_set=self.known)))
        if len(fresh):
            first_rows = pc.index_in(fresh, value_set=joined)
            tokens, codes = self._pseudonymise(
                {part: values.take(first_rows) for part, values in cells.items()}
            )
            self.known = pa.concat_arrays([self.known, fresh])
            self.tokens = pa.concat_arrays([self.tokens, tokens])
            self.codes = pa.concat_arrays([self.codes, codes])
        position = pc.index_in(distinct, value_set=self.known).take(encoded.indices)
        return self.tokens.take(position), self.codes.take(position)

    def _pseudonymise(self, cells: Mapping[str, pa.Array]) -> tuple[pa.Array, pa.Array]:
        """Tokens and codes for identities given part by part (one row per identity)."""
        n = len(next(iter(cells.values())))
        texts = {part: values.to_pylist() for part, values in cells.items() if part != "dob"}
        births: list[date | None] = [None] * n
        if "dob" in cells:
            births = parse_dates(cells["dob"], self.dob_format).to_pylist()

        def part(name: str) -> list[str | None]:
            return texts.get(name) or [None] * n

        identities = [
            Identity(
                first_name=first_name,
                last_name=last_name,
                dob=dob,
                sex=sex,
                ssn=ssn,
                phone=phone,
                address=address,
                zip=zip_code,
            )
            for first_name, last_name, dob, sex, ssn, phone, address, zip_code in zip(
                part("first_name"),
                part("last_name"),
                births,
                part("sex"),
                part("ssn"),
                part("phone"),
                part("address"),
                part("zip"),
                strict=True,
            )
        ]
        return tokens_and_codes(self.key, identities)


def _dictionary_columns() -> list[str]:
    """Parquet paths of the batch columns to dictionary-encode: all but ``UNIQUE_PER_ROW``.

    Tokens, codes, locations and categories repeat, so their dictionaries shrink the batch;
    ids and timestamps do not, and building a dictionary for them only costs time.
    """
    sink = pa.BufferOutputStream()
    pq.write_table(BATCH_SCHEMA.empty_table(), sink)
    schema = pq.ParquetFile(pa.BufferReader(sink.getvalue())).schema
    paths = (schema.column(i).path for i in range(len(schema)))
    return [path for path in paths if path.split(".")[0] not in UNIQUE_PER_ROW]


# ---------------------------------------------------------------------------------------------
# The whole run


def _slices(table: pa.Table, size: int) -> Iterator[tuple[int, pa.Table]]:
    for start in range(0, table.num_rows, size):
        yield start, table.slice(start, size)


def prepare_extract(
    extract_path: str | Path,
    profile: Profile,
    key: bytes,
    out: str | Path,
    *,
    progress: bool = False,
    overwrite: bool = False,
    fail_on_unmapped: bool = False,
) -> BatchSummary:
    """Prepare the extract at ``extract_path`` with ``profile`` and ``key`` into directory ``out``.

    The batch is written beside ``out`` under a temporary name and renamed into place when
    complete, so a half-written batch is never mistaken for a finished one. Codes the profile
    leaves unmapped or the code sets lack are reported (``BatchSummary.codes``, the batch's
    ``report.json``); with ``fail_on_unmapped`` they raise ``UnmappedCodesError`` instead and
    no batch is written.
    """
    started = time.perf_counter()
    destination = Path(out)
    if destination.exists() and not overwrite and any(destination.iterdir()):
        raise PrepareError(
            destination,
            "--out",
            "a new or empty directory (or --overwrite)",
            "a non-empty directory",
        )
    extract = read_extract(extract_path, profile)
    source_sha256 = file_sha256(extract.path)
    connector = CONNECTORS[profile.connector]
    pseudonyms = (
        Pseudonymiser(key, profile.identity, extract.temporal) if profile.identity else None
    )
    event_id_prefix = f"{profile.name}:{source_sha256[:12]}:"
    report = CodeReport(profile.codes)

    staging = destination.parent / f".{destination.name}.preparing-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    events_path = staging / EVENTS_FILE
    bar = tqdm(
        total=extract.table.num_rows,
        unit="rows",
        desc=f"prepare {extract.path.name}",
        disable=not progress,
        file=sys.stderr,
    )
    try:
        with (
            pq.ParquetWriter(
                events_path,
                BATCH_SCHEMA,
                compression="zstd",
                use_dictionary=_dictionary_columns(),
                dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
            ) as writer,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare-write") as write_behind,
        ):
            # Arrow encodes and compresses a slice without the GIL, so the next slice is
            # mapped and pseudonymised while the previous one is written.
            pending: Future[None] | None = None
            if extract.table.num_rows == 0:
                writer.write_table(BATCH_SCHEMA.empty_table())
            for start, rows in _slices(extract.table, CHUNK_ROWS):
                events, text = map_rows(
                    rows,
                    profile,
                    first_row=start + 1,
                    temporal=extract.temporal,
                    event_id_prefix=event_id_prefix,
                    report=report,
                )
                if pseudonyms is not None:
                    tokens, codes = pseudonyms.apply(rows)
                    events = events.set_column(
                        BATCH_SCHEMA.get_field_index("person_token"), "person_token", tokens
                    )
                    events = events.set_column(
                        BATCH_SCHEMA.get_field_index("linkage_code"), "linkage_code", codes
                    )
                derived = connector.derive(SourceRows(events, text, profile))
                batch_rows = derived.select(BATCH_SCHEMA.names).cast(BATCH_SCHEMA)
                if pending is not None:
                    pending.result()
                pending = write_behind.submit(writer.write_table, batch_rows)
                bar.update(rows.num_rows)
            if pending is not None:
                pending.result()
        bar.close()
        if fail_on_unmapped and not report.clean:
            raise UnmappedCodesError(extract.path, report)
        events_sha256 = file_sha256(events_path)
        metadata: dict[str, object] = {
            "format": BATCH_FORMAT,
            "agency": profile.agency,
            "sector": profile.sector,
            "connector": profile.connector,
            "profile": profile.name,
            "rows": extract.table.num_rows,
            "source_sha256": source_sha256,
            "events_sha256": events_sha256,
            "prepared_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "key_fingerprint": key_fingerprint(key),
            "wellbeat_version": __version__,
            "bloom": dict(BLOOM_PARAMETERS),
        }
        (staging / BATCH_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
        report_json = {"format": REPORT_FORMAT, "rows": extract.table.num_rows}
        report_json["codes"] = report.to_json()
        (staging / REPORT_FILE).write_text(
            json.dumps(report_json, indent=2) + "\n", encoding="utf-8"
        )
        if destination.exists():
            shutil.rmtree(destination)
        staging.rename(destination)
    except BaseException:
        bar.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BatchSummary(
        batch=destination,
        rows=extract.table.num_rows,
        agency=profile.agency,
        connector=profile.connector,
        events_sha256=events_sha256,
        key_fingerprint=str(metadata["key_fingerprint"]),
        metadata=metadata,
        seconds=time.perf_counter() - started,
        codes=report.to_json(),
        code_problems=report.lines(),
    )


def prepare(
    extract_path: str | Path,
    profile_path: str | Path,
    key_file: str | Path,
    out: str | Path,
    *,
    progress: bool = False,
    overwrite: bool = False,
    fail_on_unmapped: bool = False,
) -> BatchSummary:
    """Load the profile and key, then ``prepare_extract`` (what the CLI runs)."""
    profile = load_profile(profile_path)
    try:
        key = load_key(key_file)
    except (OSError, ValueError) as exc:
        raise PrepareError(
            key_file, "(key file)", "32+ random bytes as hex", _first_line(exc)
        ) from exc
    return prepare_extract(
        extract_path,
        profile,
        key,
        out,
        progress=progress,
        overwrite=overwrite,
        fail_on_unmapped=fail_on_unmapped,
    )
