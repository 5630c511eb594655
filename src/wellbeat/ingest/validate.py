"""Row validation of a shareable batch: BATCH_SCHEMA strings in, typed lake rows out.

Every rule runs as one vectorised DuckDB query over the whole batch (no Python loop per row).
A row with any problem is quarantined whole; each problem becomes one quarantine line
(row_number, field, value, reason) so the source can fix its extract. See docs/ingest.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import (
    AGE_BANDS,
    BATCH_SCHEMA,
    CODE_NAMESPACES,
    SEXES,
    SYNDROMES,
    Kind,
    Sector,
    Sensitivity,
)
from wellbeat.lake.local import LocalExecutor

FUTURE_TOLERANCE = timedelta(hours=1)
"""How far past the hub's clock an occurred_at/reported_at may lie (source clock skew)."""

ISO_WITH_ZONE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)"
"""ISO 8601 date-time with an explicit zone (``Z`` or an offset); naive times are ambiguous."""

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("row_number", pa.int64(), nullable=False),
        pa.field("field", pa.string(), nullable=False),
        pa.field("value", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

VALIDATED_SCHEMA = pa.schema(
    [
        pa.field("row_number", pa.int64(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("agency", pa.string(), nullable=False),
        pa.field("sector", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("reported_at", pa.timestamp("us", tz="UTC")),
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
        pa.field("codes", pa.list_(pa.string())),
        pa.field("syndromes", pa.list_(pa.string())),
        pa.field("person_token", pa.string()),
        pa.field("linkage_code", pa.binary()),
        pa.field("age_band", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("attributes", pa.map_(pa.string(), pa.string())),
        pa.field("sensitivity", pa.list_(pa.string())),
    ]
)
"""A validated row: the lake row before geography (area columns, h3) and batch_id are added."""


@dataclass(frozen=True)
class Validation:
    """Outcome of validating one batch: typed good rows and one line per problem."""

    rows_in: int
    valid: pa.Table
    """Good rows in VALIDATED_SCHEMA, in source order."""
    problems: pa.Table
    """QUARANTINE_SCHEMA, sorted by row_number then field order."""

    @property
    def quarantined(self) -> int:
        """Number of rejected rows (a row with several problems counts once)."""
        return self.rows_in - self.valid.num_rows


def _one_of(values: Sequence[str]) -> str:
    return ", ".join(values)


# Scalar rules: (field, SQL reason expression evaluated over `checked` or NULL when valid).
# The reason says what was expected; the value column carries what was got.
_FIELDS = (
    "event_id",
    "agency",
    "sector",
    "kind",
    "occurred_at",
    "reported_at",
    "lat",
    "lon",
    "codes",
    "syndromes",
    "age_band",
    "sex",
    "sensitivity",
)


def _sql_text_list(values: Sequence[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _timestamp_sql(column: str) -> str:
    """A zoned ISO 8601 string as TIMESTAMPTZ, NULL when it is not one (or has no zone)."""
    return (
        f"CASE WHEN regexp_full_match({column}, '{ISO_WITH_ZONE}') "
        f"THEN try_cast({column} AS TIMESTAMPTZ) END"
    )


def _checks_sql(agency: str, limit: datetime, duplicates: bool) -> str:
    """The query that finds bad rows: one reason column per field, only rows with a problem.

    ``duplicates`` adds the (costly) window that finds repeated event ids; skipped when the
    caller already knows every event id is distinct. Table ``known`` (event_id, batch_id)
    holds the ids of this agency already in the lake: a row repeating one is rejected.
    """
    first_row = "min(row_number) OVER (PARTITION BY event_id)" if duplicates else "row_number"
    sectors = [s.value for s in Sector]
    kinds = [k.value for k in Kind]
    labels = [s.value for s in Sensitivity]
    limit_text = limit.astimezone(UTC).isoformat()
    q_agency = agency.replace("'", "''")
    code_ok = (
        "c IS NOT NULL AND regexp_full_match(c, '[a-z0-9_]+:\\S+') "
        f"AND list_contains({_sql_text_list(CODE_NAMESPACES)}, split_part(c, ':', 1))"
    )
    return f"""
WITH typed AS (
    SELECT
        row_number, event_id, agency, sector, kind,
        occurred_at AS occurred_raw,
        reported_at AS reported_raw,
        lat AS lat_raw,
        lon AS lon_raw,
        coalesce(codes, []) AS codes,
        syndromes AS syndromes_raw,
        sensitivity AS sensitivity_raw,
        age_band, sex,
        {_timestamp_sql("occurred_at")} AS occurred_at,
        {_timestamp_sql("reported_at")} AS reported_at,
        try_cast(lat AS DOUBLE) AS lat,
        try_cast(lon AS DOUBLE) AS lon,
        {first_row} AS first_row,
        known.batch_id AS known_batch
    FROM batch LEFT JOIN known USING (event_id)
),
checked AS (
SELECT
    *,
    CASE WHEN event_id IS NULL THEN 'required: a non-empty event id'
         WHEN known_batch IS NOT NULL
         THEN 'duplicate event_id: already in the lake (batch ' || known_batch || ')'
         WHEN row_number <> first_row
         THEN 'duplicate event_id in this batch (first at row ' || first_row || ')'
    END AS p_event_id,
    CASE WHEN agency IS NULL THEN 'required: expected the batch agency {q_agency}'
         WHEN agency <> '{q_agency}'
         THEN 'expected the batch agency {q_agency} (batch.json)'
    END AS p_agency,
    CASE WHEN sector IS NULL THEN 'required: expected one of {_one_of(sectors)}'
         WHEN NOT list_contains({_sql_text_list(sectors)}, sector)
         THEN 'unknown sector: expected one of {_one_of(sectors)}'
    END AS p_sector,
    CASE WHEN kind IS NULL THEN 'required: expected one of {_one_of(kinds)}'
         WHEN NOT list_contains({_sql_text_list(kinds)}, kind)
         THEN 'unknown kind: expected one of {_one_of(kinds)}'
    END AS p_kind,
    CASE WHEN occurred_raw IS NULL
         THEN 'required: expected an ISO 8601 timestamp with zone'
         WHEN occurred_at IS NULL
         THEN 'not an ISO 8601 timestamp with zone (e.g. 2024-05-01T13:45:00Z)'
         WHEN occurred_at > TIMESTAMPTZ '{limit_text}'
         THEN 'in the future: expected no later than {limit_text}'
         WHEN reported_at IS NOT NULL AND occurred_at > reported_at
         THEN 'after reported_at (' || reported_raw || '): expected occurred_at <= reported_at'
    END AS p_occurred_at,
    CASE WHEN reported_raw IS NOT NULL AND reported_at IS NULL
         THEN 'not an ISO 8601 timestamp with zone (e.g. 2024-05-01T13:45:00Z)'
         WHEN reported_at > TIMESTAMPTZ '{limit_text}'
         THEN 'in the future: expected no later than {limit_text}'
    END AS p_reported_at,
    CASE WHEN lat_raw IS NOT NULL AND (lat IS NULL OR isnan(lat))
         THEN 'not a decimal number: expected latitude in degrees (WGS84)'
         WHEN lat < -90 OR lat > 90 THEN 'out of range: expected -90 <= lat <= 90'
         WHEN lat_raw IS NULL AND lon_raw IS NOT NULL
         THEN 'missing while lon is given: expected both lat and lon, or neither'
    END AS p_lat,
    CASE WHEN lon_raw IS NOT NULL AND (lon IS NULL OR isnan(lon))
         THEN 'not a decimal number: expected longitude in degrees (WGS84)'
         WHEN lon < -180 OR lon > 180 THEN 'out of range: expected -180 <= lon <= 180'
         WHEN lon_raw IS NULL AND lat_raw IS NOT NULL
         THEN 'missing while lat is given: expected both lat and lon, or neither'
    END AS p_lon,
    list_filter(codes, lambda c: NOT ({code_ok})) AS p_codes,
    list_filter(coalesce(syndromes_raw, []),
                lambda s: s IS NULL OR NOT list_contains($syndromes, s)) AS p_syndromes,
    CASE WHEN age_band IS NOT NULL AND NOT list_contains({_sql_text_list(AGE_BANDS)}, age_band)
         THEN 'unknown age band: expected a 5-year band such as 20-24, or 90+'
    END AS p_age_band,
    CASE WHEN sex IS NOT NULL AND NOT list_contains({_sql_text_list(SEXES)}, sex)
         THEN 'unknown sex: expected one of {_one_of(SEXES)}'
    END AS p_sex,
    list_filter(coalesce(sensitivity_raw, []),
                lambda s: s IS NULL OR NOT list_contains({_sql_text_list(labels)}, s))
        AS p_sensitivity
FROM typed
)
SELECT * FROM checked WHERE {_bad_row_predicate()}
"""


def _list_reasons() -> dict[str, str]:
    namespaces = _one_of(CODE_NAMESPACES)
    return {
        "codes": f"expected namespace:code with a known namespace ({namespaces})",
        "syndromes": "unknown syndrome: expected one of wellbeat.events.schema.SYNDROMES",
        "sensitivity": f"unknown sensitivity label: expected one of "
        f"{_one_of([s.value for s in Sensitivity])}",
    }


_RAW_VALUE = {
    "event_id": "event_id",
    "agency": "agency",
    "sector": "sector",
    "kind": "kind",
    "occurred_at": "occurred_raw",
    "reported_at": "reported_raw",
    "lat": "lat_raw",
    "lon": "lon_raw",
    "age_band": "age_band",
    "sex": "sex",
}


def _problems_sql() -> str:
    parts: list[str] = []
    reasons = _list_reasons()
    for order, field in enumerate(_FIELDS):
        if field in reasons:
            reason = reasons[field].replace("'", "''")
            parts.append(
                f"SELECT row_number, {order} AS field_order, '{field}' AS field, "
                f"coalesce(v, '(null)') AS value, '{reason}' AS reason "
                f"FROM (SELECT row_number, unnest(p_{field}) AS v FROM bad "
                f"WHERE len(p_{field}) > 0)"
            )
        else:
            parts.append(
                f"SELECT row_number, {order} AS field_order, '{field}' AS field, "
                f"{_RAW_VALUE[field]} AS value, p_{field} AS reason "
                f"FROM bad WHERE p_{field} IS NOT NULL"
            )
    union = "\nUNION ALL\n".join(parts)
    return (
        "SELECT row_number, field, value, reason FROM (\n"
        + union
        + "\n) ORDER BY row_number, field_order"
    )


def _bad_row_predicate() -> str:
    terms = []
    for field in _FIELDS:
        if field in ("codes", "syndromes", "sensitivity"):
            terms.append(f"len(p_{field}) > 0")
        else:
            terms.append(f"p_{field} IS NOT NULL")
    return " OR ".join(terms)


def conform_batch_table(table: pa.Table) -> pa.Table:
    """Check a batch table has every BATCH_SCHEMA column with a castable type; cast it.

    Raises ValueError naming the missing or mistyped column (the caller adds the file).
    """
    missing = [f.name for f in BATCH_SCHEMA if f.name not in table.column_names]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}; the batch columns are "
            f"{', '.join(BATCH_SCHEMA.names)}"
        )
    columns = []
    for field in BATCH_SCHEMA:
        column = table.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(
                    f"column {field.name!r} has type {column.type}, expected {field.type}"
                ) from exc
        columns.append(column)
    if table.num_rows and table.column("row_number").null_count:
        raise ValueError("column 'row_number' has nulls, expected a 1-based line number")
    return pa.Table.from_arrays(columns, schema=BATCH_SCHEMA.remove_metadata())


_TEXT_COLUMNS = (
    "event_id",
    "agency",
    "sector",
    "kind",
    "occurred_at",
    "reported_at",
    "lat",
    "lon",
    "age_band",
    "sex",
)
_WHITESPACE = ("' '", "chr(9)", "chr(10)", "chr(13)")
_LIST_COLUMNS = ("codes", "syndromes", "sensitivity")


def _clean_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim surrounding whitespace; an empty string is a missing value."""
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


_MAYBE_REPEATED_IDS = (
    "count(DISTINCT hash(event_id)) FILTER (WHERE event_id IS NOT NULL) < count(event_id)"
)
"""Whether two non-null event ids may be equal. Equal hashes are only a hint (the exact check
runs when this says "maybe"); the NULL ids are left out because ``hash(NULL)`` is a value, and
counting it as one distinct id while ``count`` skips the nulls would cancel out a repeat."""


def _normalise(con: LocalExecutor, batch: pa.Table) -> tuple[pa.Table, bool]:
    """Trim text, turn empty strings and missing lists into NULL / [], and say whether any
    event id may repeat. One DuckDB pass finds which columns need it, so a clean batch (the
    usual case) is not copied. The repeat check looks at the ids as they will be checked:
    when the ids were trimmed (``" E1"`` is ``E1``) it runs again on the trimmed ids."""
    edges = " OR ".join(f"starts_with({{c}}, {w}) OR ends_with({{c}}, {w})" for w in _WHITESPACE)
    flags = [f"bool_or({c} = '' OR {edges.format(c=c)}) AS {c}" for c in _TEXT_COLUMNS]
    sql = f"SELECT {', '.join(flags)}, {_MAYBE_REPEATED_IDS} AS dup FROM batch"
    (row,) = con.rows(sql)  # an aggregate without GROUP BY: exactly one row
    *dirty, duplicates = row
    for name, needs in zip(_TEXT_COLUMNS, dirty, strict=True):
        if needs:
            index = batch.schema.get_field_index(name)
            batch = batch.set_column(index, name, _clean_text(batch.column(name)))
    empty = pa.scalar([], pa.list_(pa.string()))
    for name in _LIST_COLUMNS:
        column = batch.column(name)
        if column.null_count:
            index = batch.schema.get_field_index(name)
            batch = batch.set_column(index, name, pc.if_else(pc.is_null(column), empty, column))
    if dirty[_TEXT_COLUMNS.index("event_id")]:
        con.register("cleaned_ids", batch.select(["event_id"]))
        try:
            (again,) = con.rows(f"SELECT {_MAYBE_REPEATED_IDS} FROM cleaned_ids")
        finally:
            con.unregister("cleaned_ids")
        duplicates = again[0]
    return batch, bool(duplicates)


def _known_ids(con: LocalExecutor, agency: str, lake_files: Sequence[str | Path]) -> None:
    """Create temp table ``known``: this agency's event ids in the lake that the batch repeats,
    each with the (first) batch that holds it. Only two columns of the lake are read."""
    if not lake_files:
        con.execute("CREATE OR REPLACE TEMP TABLE known (event_id VARCHAR, batch_id VARCHAR)")
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE known AS "
        "SELECT event_id, min(batch_id) AS batch_id "
        "FROM read_parquet($files, union_by_name = true) "
        "WHERE agency = $agency AND event_id IN (SELECT event_id FROM batch) "
        "GROUP BY event_id",
        {"files": [str(f) for f in lake_files], "agency": agency},
    )


def _typed(
    con: LocalExecutor, batch: pa.Table, column: str, target: pa.DataType, sql: str
) -> pa.ChunkedArray:
    """Cast a text column with Arrow (fast) or, if any value fails, row by row with DuckDB
    (values that fail become NULL; their rows are quarantined by the checks)."""
    try:
        return batch.column(column).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        typed = con.table(f"SELECT {sql} AS v FROM batch").column("v")
        return typed.cast(target)


def _label_set(con: LocalExecutor, batch: pa.Table, column: str) -> pa.ChunkedArray:
    """A list column as sorted, distinct labels (a set), so each label counts once per event.

    Prepared batches already hold sorted sets; that is checked with Arrow and only a column
    that needs it is rewritten (by DuckDB).
    """
    lists = batch.column(column).combine_chunks()
    values = lists.flatten()
    if len(values) > 1:
        parents = pc.list_parent_indices(lists)
        same_row = pc.equal(parents[:-1], parents[1:])
        ascending = pc.less(values[:-1], values[1:])
        if not pc.any(pc.and_(same_row, pc.invert(ascending))).as_py():
            return batch.column(column)
    else:
        return batch.column(column)
    sql = f"SELECT list_sort(list_distinct({column})) AS v FROM batch"
    return con.table(sql).column("v")


def validate_rows(
    table: pa.Table,
    *,
    agency: str,
    now: datetime | None = None,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
    executor: LocalExecutor | None = None,
    lake_files: Sequence[str | Path] = (),
) -> Validation:
    """Validate a BATCH_SCHEMA table against the rules in docs/ingest.md.

    ``agency`` is batch.json's agency; every row must carry it. ``now`` (default: the clock)
    bounds occurred_at/reported_at from above, with ``future_tolerance`` for clock skew.
    ``lake_files`` are the lake's event files: a row whose event id this agency already
    committed there is rejected as a duplicate (as is a repeat within the batch).
    The checks run in one DuckDB query that returns only the bad rows; the good rows are then
    typed and selected with Arrow, so a clean batch costs little more than a scan.
    """
    batch = conform_batch_table(table)
    clock = (now or datetime.now(UTC)).astimezone(UTC)
    con = executor or LocalExecutor()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("batch", batch)
        batch, duplicates = _normalise(con, batch)
        con.register("batch", batch)
        _known_ids(con, agency, lake_files)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE bad AS "
            + _checks_sql(agency, clock + future_tolerance, duplicates),
            {"syndromes": list(SYNDROMES)},
        )
        problems = con.table(_problems_sql())
        utc = pa.timestamp("us", tz="UTC")
        typed = {
            "occurred_at": _typed(con, batch, "occurred_at", utc, _timestamp_sql("occurred_at")),
            "reported_at": _typed(con, batch, "reported_at", utc, _timestamp_sql("reported_at")),
            "lat": _typed(con, batch, "lat", pa.float64(), "try_cast(lat AS DOUBLE)"),
            "lon": _typed(con, batch, "lon", pa.float64(), "try_cast(lon AS DOUBLE)"),
            "syndromes": _label_set(con, batch, "syndromes"),
            "sensitivity": _label_set(con, batch, "sensitivity"),
        }
    finally:
        con.execute("DROP TABLE IF EXISTS bad")
        con.execute("DROP TABLE IF EXISTS known")
        con.unregister("batch")
        if executor is None:
            con.close()
    columns = [typed.get(f.name, batch.column(f.name)) for f in VALIDATED_SCHEMA]
    valid = pa.Table.from_arrays(columns, names=VALIDATED_SCHEMA.names)
    if problems.num_rows:
        bad_rows = pc.unique(problems.column("row_number"))
        valid = valid.filter(pc.invert(pc.is_in(batch.column("row_number"), value_set=bad_rows)))
    return Validation(
        rows_in=batch.num_rows,
        valid=valid.cast(VALIDATED_SCHEMA),
        problems=problems.cast(QUARANTINE_SCHEMA),
    )
