"""Pure query builders for indicators, on top of ``wellbeat.lake.query``.

Two routes, both pure functions of (indicator, layer, period, start, end):

* ``indicator_requests`` maps a *governable* indicator (filters on kind, codes, syndromes and
  attributes, in terms that add up) to ``AggregateQuery`` objects, one per numerator term,
  whose counts sum to the indicator, optionally broken down ``by`` dimensions such as
  ``attribute:precinct``. The engine may answer them from the cube; the governed service can
  run them too (``indicator_data_requests`` gives the matching ``DataRequest`` objects).
* ``indicator_sql`` builds one SQL statement over the ``events`` relation for any indicator,
  including what aggregate requests cannot say: overlapping any-of terms and the person-level
  repeat window (computed inside the engine; only counts come out). It uses the lake's
  ``Dialect`` for quoting and parameters, as the lake's own builders do.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wellbeat.analytics.indicators.catalogue import Criteria, Indicator, IndicatorError
from wellbeat.events.schema import area_column
from wellbeat.governance.decision import DataRequest
from wellbeat.lake.query import (
    DUCKDB,
    PERIODS,
    AggregateQuery,
    Dialect,
    EventFilter,
    Period,
    QueryError,
    SqlQuery,
    bound_sql,
    filter_sql,
)


def _kept_from(start: date | datetime, dialect: Dialect, params: dict[str, Any]) -> str:
    """Keep flagged rows from ``start`` on: an instant, or a local day (``local_day`` is
    carried through the flagged rows for that)."""
    if isinstance(start, datetime):
        params["ind_start"] = start.astimezone(UTC).isoformat()
        return f"occurred_at >= {dialect.timestamp_param('ind_start')}"
    params["ind_start"] = start.isoformat()
    return f"flag_day >= {dialect.date_param('ind_start')}"


def day_start(value: date | datetime | None) -> date | datetime | None:
    """A window bound as the lake reads it: a ``date`` stays a local day of the hub's zone
    (compared with ``local_day``); a datetime is an instant (naive ones are taken as UTC)."""
    if value is None or not isinstance(value, datetime):
        return value
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _check_period(period: str | None) -> None:
    if period is not None and period not in PERIODS:
        raise QueryError(f"period {period!r} is not one of {', '.join(PERIODS)}")


def term_filter(
    term: Criteria, start: date | datetime | None = None, end: date | datetime | None = None
) -> EventFilter:
    """The engine filter for one numerator term, attribute conditions included."""
    return EventFilter(
        sectors=term.sectors,
        kinds=term.kinds,
        syndromes=term.syndromes,
        codes=term.codes,
        start=day_start(start),
        end=day_start(end),
        attributes=term.attributes,
    )


def indicator_requests(
    indicator: Indicator,
    layer: str | None,
    period: Period | None,
    start: date | datetime | None,
    end: date | datetime | None,
    by: tuple[str, ...] = (),
) -> tuple[AggregateQuery, ...]:
    """Aggregate queries whose counts, summed by (area, period, ``by``...), are the
    indicator's numerator.

    ``start`` is inclusive, ``end`` exclusive; dates are local days of the hub. ``by`` adds
    breakdowns (``attribute:precinct``, ``sex`` ...). Raises ``IndicatorError`` for an
    indicator the lake's filters cannot express (a repeat window, or overlapping terms):
    compute those with ``indicator_sql``.
    """
    if not indicator.governable:
        why = (
            "a person-level repeat window"
            if indicator.repeat_within_days is not None
            else "numerator terms that overlap in kind"
        )
        raise IndicatorError(
            f"needs {why}, which aggregate queries cannot express; compute it at the hub "
            "with indicator_sql / indicator_counts",
            indicator=indicator.code,
            field_name="numerator",
        )
    _check_period(period)
    return tuple(
        AggregateQuery(term_filter(term, start, end), layer, period, tuple(by))
        for term in indicator.numerator
    )


def indicator_request(
    indicator: Indicator,
    layer: str | None,
    period: Period | None,
    start: date | datetime | None,
    end: date | datetime | None,
) -> AggregateQuery:
    """The one aggregate query of a single-term governable indicator (see
    ``indicator_requests`` for indicators with several terms, whose counts add up)."""
    queries = indicator_requests(indicator, layer, period, start, end)
    if len(queries) != 1:
        raise IndicatorError(
            f"has {len(queries)} numerator terms: use indicator_requests and sum the counts",
            indicator=indicator.code,
            field_name="numerator",
        )
    return queries[0]


def data_request(query: AggregateQuery) -> DataRequest:
    """The governed-service request that asks for exactly this aggregate query."""
    f = query.filter
    return DataRequest(
        kind="aggregate",
        sectors=f.sectors,
        kinds=f.kinds,
        syndromes=f.syndromes,
        codes=f.codes,
        start=f.start,
        end=f.end,
        area_layer=query.area_layer,
        period=query.period,
        by=query.by,
        attributes=f.attributes,
    )


def indicator_data_requests(
    indicator: Indicator,
    layer: str | None,
    period: Period | None,
    start: date | datetime | None,
    end: date | datetime | None,
    by: tuple[str, ...] = (),
) -> tuple[DataRequest, ...]:
    """``DataRequest`` objects for ``governed_aggregate``; sum the released counts by their
    key columns (area, period, ``by``...)."""
    return tuple(
        data_request(q) for q in indicator_requests(indicator, layer, period, start, end, by)
    )


# -- one-statement SQL for any indicator ---------------------------------------------------------


def _prefixed(query: SqlQuery, prefix: str) -> SqlQuery:
    """Rename every parameter of ``query`` with a prefix, so several filters can share a
    statement (the lake's ``filter_sql`` always uses the same names)."""
    if not query.params:
        return query
    names = sorted(query.params, key=len, reverse=True)
    pattern = re.compile(r"\$(" + "|".join(re.escape(n) for n in names) + r")\b")
    sql = pattern.sub(lambda m: f"${prefix}{m.group(1)}", query.sql)
    return SqlQuery(sql, {f"{prefix}{k}": v for k, v in query.params.items()})


def term_sql(term: Criteria, index: int, dialect: Dialect = DUCKDB) -> SqlQuery:
    """Predicate text for one numerator term (attribute conditions included, as the lake's
    ``filter_sql`` writes them), params prefixed."""
    base = _prefixed(filter_sql(term_filter(term), dialect), f"t{index}_")
    return SqlQuery(f"({base.sql})", base.params)


def indicator_sql(
    indicator: Indicator,
    layer: str | None,
    period: Period | None,
    start: date | datetime | None,
    end: date | datetime | None,
    dialect: Dialect = DUCKDB,
    events: str = "events",
) -> SqlQuery:
    """Numerator counts in one statement: columns [area] [period] count, ordered by the keys.

    For a repeat indicator, events from ``repeat_within_days`` before ``start`` are read too,
    so a repeat early in the window sees its earlier contact; tokens stay inside the statement.
    """
    _check_period(period)
    terms = [term_sql(t, i, dialect) for i, t in enumerate(indicator.numerator)]
    params: dict[str, Any] = {}
    for t in terms:
        params.update(t.params)
    match = "(" + " OR ".join(t.sql for t in terms) + ")"
    occurred = dialect.quote("occurred_at")
    start_at, end_at = day_start(start), day_start(end)
    window = indicator.repeat_within_days
    read_from = start_at - timedelta(days=window) if start_at and window else start_at
    clauses = [match]
    if read_from is not None:
        clauses.append(bound_sql(read_from, "ind_read_from", ">=", dialect, params))
    if end_at is not None:
        clauses.append(bound_sql(end_at, "ind_end", "<", dialect, params))
    select = []
    if layer is not None:
        select.append(f"{dialect.quote(area_column(layer))} AS area")
    if period is not None:
        select.append(f"{dialect.truncate_date(dialect.local_day(), period)} AS period")

    keys = (["area"] if layer else []) + (["period"] if period else [])
    where = " AND ".join(clauses)
    if window is None:
        inner = f"SELECT {', '.join([*select, '1 AS one'])} FROM {events} WHERE {where}"
    else:
        agency, token = dialect.quote("agency"), dialect.quote("person_token")
        day = dialect.local_day()
        # Each crisis call looks back over the same person's calls at the same agency (tokens
        # are keyed per agency); RANGE includes calls at the same instant, minus itself.
        earlier = (
            f"count(*) OVER (PARTITION BY {agency}, {token} ORDER BY {occurred} "
            f"RANGE BETWEEN INTERVAL {int(window)} DAYS PRECEDING AND CURRENT ROW) - 1"
        )
        flagged = (
            f"SELECT {', '.join([*select, f'{occurred} AS occurred_at', f'{day} AS flag_day'])}, "
            f"{earlier} AS earlier "
            f"FROM {events} WHERE {where} AND {token} IS NOT NULL"
        )
        keep = ["earlier > 0"]
        if start_at is not None:
            keep.append(_kept_from(start_at, dialect, params))
        inner = f"SELECT * FROM ({flagged}) AS flagged WHERE {' AND '.join(keep)}"
    quoted = ", ".join(dialect.quote(k) for k in keys)
    if keys:
        sql = (
            f"SELECT {quoted}, CAST(count(*) AS BIGINT) AS count FROM ({inner}) AS rows "
            f"GROUP BY {quoted} ORDER BY {quoted}"
        )
    else:
        sql = f"SELECT CAST(count(*) AS BIGINT) AS count FROM ({inner}) AS rows"
    return SqlQuery(sql, params)
