"""The materialised area x day x dimension cube, computed per batch at ingest.

Each batch carries its own small cube (``lake/aggregates/cube/batch_id=<id>/``), written and
committed with the batch, so refreshing is incremental and atomic: the engine sums the cubes of
the committed batches. Rows with ``syndrome`` NULL count every event once; rows with a syndrome
count the events carrying it (so ``by=("syndrome",)`` matches the unnested events exactly).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from wellbeat.events.schema import LOCAL_DAY, area_column
from wellbeat.lake.local import LocalExecutor

UTC_DAY_NUMBER = "CAST(floor(epoch_us({column}) / 86400000000.0) AS BIGINT)"
"""Days since 1970-01-01 of a zoned timestamp, in UTC: integer maths, much cheaper than a
time-zone conversion per row."""

CUBE_DIMENSIONS = ("day", "agency", "sector", "kind", "sensitivity", "syndrome")
"""Non-area dimensions of the cube; the area columns of every layer come first."""


def cube_schema(layers: Sequence[str]) -> pa.Schema:
    """Arrow schema of a cube file for these area layers."""
    fields = [pa.field(area_column(layer), pa.string()) for layer in layers]
    fields += [
        pa.field("day", pa.date32(), nullable=False),
        pa.field("agency", pa.string(), nullable=False),
        pa.field("sector", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("sensitivity", pa.list_(pa.string())),
        pa.field("syndrome", pa.string()),
        pa.field("count", pa.int64(), nullable=False),
    ]
    return pa.schema(fields)


def build_cube(
    events: pa.Table,
    layers: Sequence[str],
    executor: LocalExecutor | None = None,
) -> pa.Table:
    """Aggregate lake rows (lake_schema) into the cube for these layers.

    Days are the events' local days (the ``local_day`` column; UTC calendar days of
    ``occurred_at`` for rows without one, as batches written before local days);
    ``sensitivity`` is the row's label set (sorted and distinct, as validation stores it),
    kept as a dimension so label exclusions can be answered from the cube. ``syndromes`` must
    likewise be sets.
    """
    areas = [f'"{area_column(layer)}"' for layer in layers]
    keys = ", ".join([*areas, "day", "agency", "sector", "kind", "sensitivity"])
    con = executor or LocalExecutor()
    con.execute("SET TimeZone = 'UTC'")
    con.register("cube_source", events)
    try:
        # One pass over the events groups them by every key including the syndrome set;
        # the per-syndrome rows then come from unnesting that much smaller table.
        utc_day = UTC_DAY_NUMBER.format(column="occurred_at")
        day_number = (
            f"coalesce(CAST({LOCAL_DAY} - DATE '1970-01-01' AS BIGINT), {utc_day})"
            if LOCAL_DAY in events.column_names
            else utc_day
        )
        sql = f"""
        WITH days AS (
            SELECT {", ".join([*areas, ""])}
                   {day_number} AS day_number,
                   agency, sector, kind,
                   coalesce(sensitivity, []) AS sensitivity,
                   coalesce(syndromes, []) AS syndromes,
                   count(*) AS n
            FROM cube_source
            GROUP BY ALL
        ),
        pre AS (
            SELECT * EXCLUDE (day_number),
                   CAST(DATE '1970-01-01' + CAST(day_number AS INTEGER) AS DATE) AS day
            FROM days
        )
        SELECT {keys}, NULL::VARCHAR AS syndrome, sum(n) AS count
        FROM pre GROUP BY {keys}
        UNION ALL
        SELECT {keys}, syndrome, sum(n) AS count
        FROM (SELECT *, unnest(syndromes) AS syndrome FROM pre)
        GROUP BY {keys}, syndrome
        ORDER BY ALL
        """
        table = con.table(sql)
    finally:
        con.unregister("cube_source")
        if executor is None:
            con.close()
    return table.cast(cube_schema(layers))
