"""Row validation of a shareable batch: BATCH_SCHEMA strings in, typed lake rows out.

Every rule runs as one vectorised DuckDB query over the whole batch (no Python loop per row).
A row with any problem is quarantined whole; each problem becomes one quarantine line
(row_number, field, value, reason) so the source can fix its extract. See docs/ingest.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

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


def _checks_sql(agency: str, limit: datetime) -> str:
    """The query that types every field and computes one reason column per field."""
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
WITH raw AS (
    SELECT
        row_number,
        nullif(trim(event_id), '') AS event_id,
        nullif(trim(agency), '') AS agency,
        nullif(trim(sector), '') AS sector,
        nullif(trim(kind), '') AS kind,
        nullif(trim(occurred_at), '') AS occurred_raw,
        nullif(trim(reported_at), '') AS reported_raw,
        nullif(trim(lat), '') AS lat_raw,
        nullif(trim(lon), '') AS lon_raw,
        coalesce(codes, []) AS codes,
        list_sort(list_distinct(coalesce(syndromes, []))) AS syndromes,
        nullif(trim(person_token), '') AS person_token,
        linkage_code,
        nullif(trim(age_band), '') AS age_band,
        nullif(trim(sex), '') AS sex,
        attributes,
        list_sort(list_distinct(coalesce(sensitivity, []))) AS sensitivity,
        syndromes AS syndromes_raw,
        sensitivity AS sensitivity_raw
    FROM batch
),
typed AS (
    SELECT
        *,
        CASE WHEN regexp_full_match(occurred_raw, '{ISO_WITH_ZONE}')
             THEN try_cast(occurred_raw AS TIMESTAMPTZ) END AS occurred_at,
        CASE WHEN regexp_full_match(reported_raw, '{ISO_WITH_ZONE}')
             THEN try_cast(reported_raw AS TIMESTAMPTZ) END AS reported_at,
        try_cast(lat_raw AS DOUBLE) AS lat,
        try_cast(lon_raw AS DOUBLE) AS lon,
        min(row_number) OVER (PARTITION BY event_id) AS first_row
    FROM raw
)
SELECT
    *,
    CASE WHEN event_id IS NULL THEN 'required: a non-empty event id'
         WHEN event_id IS NOT NULL AND row_number <> first_row
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
                f"FROM (SELECT row_number, unnest(p_{field}) AS v FROM checked "
                f"WHERE len(p_{field}) > 0)"
            )
        else:
            parts.append(
                f"SELECT row_number, {order} AS field_order, '{field}' AS field, "
                f"{_RAW_VALUE[field]} AS value, p_{field} AS reason "
                f"FROM checked WHERE p_{field} IS NOT NULL"
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


def conform_batch_table(table: pa.Table, source: str) -> pa.Table:
    """Check a batch table has every BATCH_SCHEMA column with a castable type; cast it.

    Raises ValueError naming the source file and the missing or mistyped column.
    """
    missing = [f.name for f in BATCH_SCHEMA if f.name not in table.column_names]
    if missing:
        raise ValueError(
            f"{source}: missing column(s) {', '.join(missing)}: expected the BATCH_SCHEMA "
            f"columns {', '.join(BATCH_SCHEMA.names)}"
        )
    columns = []
    for field in BATCH_SCHEMA:
        column = table.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(
                    f"{source}: column {field.name!r} has type {column.type}, expected {field.type}"
                ) from exc
        columns.append(column)
    if table.num_rows and table.column("row_number").null_count:
        raise ValueError(f"{source}: column 'row_number' has nulls, expected a 1-based line number")
    return pa.Table.from_arrays(columns, schema=BATCH_SCHEMA.remove_metadata())


def validate_rows(
    table: pa.Table,
    *,
    agency: str,
    now: datetime | None = None,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> Validation:
    """Validate a BATCH_SCHEMA table against the rules in docs/ingest.md.

    ``agency`` is batch.json's agency; every row must carry it. ``now`` (default: the clock)
    bounds occurred_at/reported_at from above, with ``future_tolerance`` for clock skew.
    """
    batch = conform_batch_table(table, "events")
    clock = (now or datetime.now(UTC)).astimezone(UTC)
    con = connection or duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("batch", batch)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE checked AS "
            + _checks_sql(agency, clock + future_tolerance),
            {"syndromes": list(SYNDROMES)},
        )
        bad = _bad_row_predicate()
        valid = con.sql(
            f"SELECT {', '.join(VALIDATED_SCHEMA.names)} FROM checked "
            f"WHERE NOT ({bad}) ORDER BY row_number"
        ).to_arrow_table()
        problems = con.sql(_problems_sql()).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS checked")
        con.unregister("batch")
        if connection is None:
            con.close()
    return Validation(
        rows_in=batch.num_rows,
        valid=valid.cast(VALIDATED_SCHEMA),
        problems=problems.cast(QUARANTINE_SCHEMA),
    )
