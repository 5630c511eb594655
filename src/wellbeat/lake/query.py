"""Query builders: pure functions from a query description to SQL text plus parameters.

Builders know nothing about files or connections. They take a ``Dialect`` (the few SQL
differences between engines live there, as in Splink's ``dialects.py``) and the names of the
relations to read (``events`` and ``cube``), and return a ``SqlQuery``. An engine only binds the
relations and executes, so adding Spark means adding a ``Dialect`` and an executor: no caller
changes. See docs/engine.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from wellbeat.events.periods import PERIODS, Period, is_local_midnight, local_date
from wellbeat.events.schema import EVENT_SCHEMA, LOCAL_DAY, area_column

BY_DIMENSIONS: tuple[str, ...] = ("agency", "sector", "kind", "syndrome", "sex", "age_band")
CUBE_BY: frozenset[str] = frozenset({"agency", "sector", "kind", "syndrome"})
SYNDROME_SET = "syndrome_set"
"""A ``by`` dimension: the event's syndromes, distinct and sorted, joined with ``|`` ("" for
none), so each event counts once (the governed release's base cells; docs/governance.md)."""
AREA_BY_PREFIX = "area_"
"""A ``by`` dimension ``area_<layer>``: the event's area in another layer, next to ``area``."""
ATTRIBUTE_BY_PREFIX = "attribute:"
"""A ``by`` dimension ``attribute:<name>``: the value of one ``attributes`` entry (precinct,
problem, race, outcome ...); the result column is named ``attribute:<name>`` and events without
the attribute group under NULL (never dropped). Only the events can answer it, not the cube."""
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_SCHEMA.names)
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class QueryError(ValueError):
    """A query that cannot be built: unknown column, layer, period or dimension."""


@dataclass(frozen=True)
class AttributeCondition:
    """A condition on one ``attributes`` entry: equal to one of ``equals``, or a number
    greater than ``greater_than`` (exactly one of the two). A missing attribute never
    matches."""

    name: str
    equals: tuple[str, ...] | None = None
    greater_than: float | None = None

    def problems(self) -> list[str]:
        """What is malformed, each naming the attribute."""
        out: list[str] = []
        if not isinstance(self.name, str) or not _IDENTIFIER.match(self.name):
            out.append(f"attribute {self.name!r} is not a valid name (expected [a-z][a-z0-9_]*)")
        if (self.equals is None) == (self.greater_than is None):
            out.append(f"attribute {self.name!r}: give exactly one of equals or greater_than")
        elif self.equals is not None and not self.equals:
            out.append(f"attribute {self.name!r}: equals lists no value")
        return out

    def matches(self, value: str | None) -> bool:
        """Whether one event's attribute value (None: the event lacks it) satisfies this."""
        if value is None:
            return False
        if self.equals is not None:
            return value in self.equals
        number = attribute_number(value)
        return number is not None and self.greater_than is not None and number > self.greater_than

    def describe(self) -> str:
        """``race in (black, white)`` / ``naloxone_doses > 1``: for notes and audit entries."""
        if self.equals is not None:
            if len(self.equals) == 1:
                return f"{self.name} = {self.equals[0]}"
            return f"{self.name} in ({', '.join(self.equals)})"
        return f"{self.name} > {self.greater_than:g}"


def attribute_number(value: str) -> float | None:
    """An attribute value read as a number, as the engine's ``TRY_CAST(... AS DOUBLE)`` does
    (surrounding spaces allowed); None when it is not one."""
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return None if number != number else number  # NaN compares false, as in SQL


def attribute_dimension(name: str) -> str:
    """The ``by`` dimension (and agreement field) of attribute ``name``: ``attribute:<name>``."""
    return f"{ATTRIBUTE_BY_PREFIX}{name}"


def attribute_name(dimension: str) -> str | None:
    """``race`` for ``attribute:race``; None for any other dimension."""
    if dimension.startswith(ATTRIBUTE_BY_PREFIX):
        return dimension.removeprefix(ATTRIBUTE_BY_PREFIX)
    return None


def valid_attribute_dimension(dimension: str) -> bool:
    """``attribute:<name>`` with a name matching ``[a-z][a-z0-9_]*``."""
    name = attribute_name(dimension)
    return name is not None and bool(_IDENTIFIER.match(name))


@dataclass(frozen=True)
class EventFilter:
    """Which events a query reads. ``None`` means no restriction on that dimension."""

    agencies: tuple[str, ...] | None = None
    sectors: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    syndromes: tuple[str, ...] | None = None
    """Any-of: an event carrying at least one of these syndromes."""
    codes: tuple[str, ...] | None = None
    """Any-of; a trailing ``*`` is a prefix match (``icd10cm:T40*``)."""
    start: date | datetime | None = None
    """Inclusive lower bound: a ``date`` is a local day (compared with ``local_day``), a
    ``datetime`` an instant (compared with ``occurred_at``; naive ones are taken as UTC)."""
    end: date | datetime | None = None
    """Exclusive upper bound: a ``date`` is the first local day left out, a ``datetime`` an
    instant (see ``start``)."""
    sensitivity_excluded: tuple[str, ...] = ()
    """Drop events carrying any of these sensitivity labels."""
    person_tokens_excluded: tuple[str, ...] = ()
    """Drop events of these persons (e.g. opted out, or no consent)."""
    attributes: tuple[AttributeCondition, ...] = ()
    """All must hold; an event without the named attribute never matches."""


@dataclass(frozen=True)
class AggregateQuery:
    """Counts of events grouped by area, period and dimensions."""

    filter: EventFilter = field(default_factory=EventFilter)
    area_layer: str | None = None
    period: Period | None = None
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtractQuery:
    """Event rows (chosen lake columns) matching a filter."""

    filter: EventFilter
    columns: tuple[str, ...]
    limit: int | None = None


@dataclass(frozen=True)
class SqlQuery:
    """SQL text for one dialect and its named parameters."""

    sql: str
    params: dict[str, Any]


class Dialect:
    """SQL differences between engines. This base speaks DuckDB; subclass for others."""

    name = "duckdb"

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def param(self, name: str) -> str:
        return f"${name}"

    def timestamp_param(self, name: str) -> str:
        """A parameter holding an ISO 8601 UTC string, as a zoned timestamp."""
        return f"CAST(${name} AS TIMESTAMPTZ)"

    def date_param(self, name: str) -> str:
        """A parameter holding an ISO 8601 date string, as a date."""
        return f"CAST(${name} AS DATE)"

    def local_day(self) -> str:
        """The event's local day: the ``local_day`` column, or the UTC date of ``occurred_at``
        for rows of batches written before local days (docs/engine.md)."""
        return f"coalesce({self.quote(LOCAL_DAY)}, {self.utc_date(self.quote('occurred_at'))})"

    def utc_date(self, column: str) -> str:
        """The UTC calendar date of a zoned timestamp column."""
        # Integer day arithmetic on the epoch: much cheaper than a time-zone conversion per row.
        return (
            f"CAST(DATE '1970-01-01' + CAST(floor(epoch_us({column}) / 86400000000.0) "
            "AS INTEGER) AS DATE)"
        )

    def truncate_date(self, date_sql: str, period: str) -> str:
        """Start date of the period containing a date.

        week: ISO 8601 week, Monday start; mmwr_week: CDC MMWR week, Sunday start.
        """
        if period == "day":
            return date_sql
        if period == "mmwr_week":
            # dayofweek: Sunday = 0 ... Saturday = 6, so this steps back to the Sunday.
            return f"CAST({date_sql} - CAST(dayofweek({date_sql}) AS INTEGER) AS DATE)"
        unit = {"week": "week", "month": "month", "quarter": "quarter", "year": "year"}[period]
        return f"CAST(date_trunc('{unit}', {date_sql}) AS DATE)"

    def in_list(self, expr: str, param: str) -> str:
        """``expr`` equals one of the strings in list parameter ``param``."""
        return f"list_contains(${param}, {expr})"

    def lists_overlap(self, list_column: str, param: str) -> str:
        """A list column shares at least one element with list parameter ``param``."""
        return f"list_has_any(coalesce({list_column}, []), ${param})"

    def any_element(self, list_column: str, var: str, predicate: str) -> str:
        """Some element ``var`` of a list column satisfies ``predicate``."""
        return f"len(list_filter(coalesce({list_column}, []), lambda {var}: {predicate})) > 0"

    def starts_with(self, expr: str, param: str) -> str:
        return f"starts_with({expr}, ${param})"

    def label_set(self, list_column: str) -> str:
        """A list column's distinct elements, sorted and joined with ``|`` ("" when empty)."""
        return f"array_to_string(list_sort(list_distinct(coalesce({list_column}, []))), '|')"

    def map_value(self, map_column: str, key_sql: str) -> str:
        """The value of a string map column at key ``key_sql`` (NULL when absent)."""
        return f"list_extract(map_extract({map_column}, {key_sql}), 1)"

    def try_double(self, expr: str) -> str:
        """``expr`` read as a double, NULL when it is not a number."""
        return f"TRY_CAST(trim({expr}) AS DOUBLE)"

    def string_literal(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def unnest(self, list_column: str) -> str:
        """Select-list expression producing one row per element."""
        return f"unnest({list_column})"


DUCKDB = Dialect()


def _utc_text(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def bound_sql(
    value: date | datetime, name: str, op: str, dialect: Dialect, params: dict[str, Any]
) -> str:
    """``occurred_at <op> instant`` for a datetime bound, ``local day <op> day`` for a date."""
    if isinstance(value, datetime):  # datetime is a date too: test it first
        params[name] = _utc_text(value)
        return f"{dialect.quote('occurred_at')} {op} {dialect.timestamp_param(name)}"
    params[name] = value.isoformat()
    # A local day lies within a day of the same UTC date in every zone (offsets are -12..+14
    # hours): the redundant instant bound lets the engine skip files and row groups by their
    # occurred_at statistics.
    near = datetime.combine(value, time(0), tzinfo=UTC) + timedelta(days=-2 if ">" in op else 2)
    params[f"{name}_near"] = near.isoformat()
    return (
        f"{dialect.local_day()} {op} {dialect.date_param(name)} AND "
        f"{dialect.quote('occurred_at')} {op} {dialect.timestamp_param(f'{name}_near')}"
    )


def whole_days(f: EventFilter, time_zone: str) -> EventFilter:
    """``f`` with every instant bound that falls on a local midnight of ``time_zone`` turned
    into that local day (the same rows, when every event's local day is in that zone), so
    the cube can answer. Other bounds are kept."""

    def day_of(value: date | datetime | None) -> date | datetime | None:
        if isinstance(value, datetime) and is_local_midnight(value, time_zone):
            return local_date(value, time_zone)
        return value

    start, end = day_of(f.start), day_of(f.end)
    if start is f.start and end is f.end:
        return f
    return replace(f, start=start, end=end)


def _check_identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.match(value):
        raise QueryError(f"{what} {value!r} is not a valid name (expected [a-z][a-z0-9_]*)")
    return value


def filter_sql(f: EventFilter, dialect: Dialect) -> SqlQuery:
    """WHERE-clause text (``TRUE`` when unrestricted) and its parameters, over event rows."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for name, column, values in (
        ("agencies", "agency", f.agencies),
        ("sectors", "sector", f.sectors),
        ("kinds", "kind", f.kinds),
    ):
        if values is not None:
            params[name] = list(values)
            clauses.append(dialect.in_list(dialect.quote(column), name))
    if f.syndromes is not None:
        params["syndromes"] = list(f.syndromes)
        clauses.append(dialect.lists_overlap(dialect.quote("syndromes"), "syndromes"))
    if f.codes is not None:
        exact = [c for c in f.codes if not c.endswith("*")]
        prefixes = [c[:-1] for c in f.codes if c.endswith("*")]
        terms = []
        if exact:
            params["codes"] = exact
            terms.append(dialect.in_list("c", "codes"))
        for i, prefix in enumerate(prefixes):
            params[f"code_prefix_{i}"] = prefix
            terms.append(dialect.starts_with("c", f"code_prefix_{i}"))
        predicate = " OR ".join(terms) if terms else "FALSE"
        clauses.append(dialect.any_element(dialect.quote("codes"), "c", predicate))
    if f.start is not None:
        clauses.append(bound_sql(f.start, "start", ">=", dialect, params))
    if f.end is not None:
        clauses.append(bound_sql(f.end, "end", "<", dialect, params))
    if f.sensitivity_excluded:
        params["sensitivity_excluded"] = list(f.sensitivity_excluded)
        clauses.append(
            "NOT " + dialect.lists_overlap(dialect.quote("sensitivity"), "sensitivity_excluded")
        )
    for j, condition in enumerate(f.attributes):
        problems = condition.problems()
        if problems:
            raise QueryError("; ".join(problems))
        key = f"attr{j}_name"
        params[key] = condition.name
        value = dialect.map_value(dialect.quote("attributes"), dialect.param(key))
        if condition.equals is not None:
            params[f"attr{j}_values"] = list(condition.equals)
            clauses.append(f"coalesce({dialect.in_list(value, f'attr{j}_values')}, FALSE)")
        else:
            params[f"attr{j}_bound"] = condition.greater_than
            number = dialect.try_double(value)
            clauses.append(f"coalesce({number} > {dialect.param(f'attr{j}_bound')}, FALSE)")
    if f.person_tokens_excluded:
        params["person_tokens_excluded"] = list(f.person_tokens_excluded)
        token = dialect.quote("person_token")
        clauses.append(
            f"({token} IS NULL OR NOT {dialect.in_list(token, 'person_tokens_excluded')})"
        )
    return SqlQuery(" AND ".join(clauses) if clauses else "TRUE", params)


def _check_aggregate(q: AggregateQuery) -> None:
    if q.period is not None and q.period not in PERIODS:
        raise QueryError(f"period {q.period!r} is not one of {', '.join(PERIODS)}")
    for dim in q.by:
        if dim.startswith(AREA_BY_PREFIX):
            _check_identifier(dim.removeprefix(AREA_BY_PREFIX), "area layer")
        elif dim.startswith(ATTRIBUTE_BY_PREFIX):
            _check_identifier(dim.removeprefix(ATTRIBUTE_BY_PREFIX), "attribute")
        elif dim not in BY_DIMENSIONS and dim != SYNDROME_SET:
            raise QueryError(
                f"dimension {dim!r} is not one of {', '.join(BY_DIMENSIONS)}, "
                f"{SYNDROME_SET}, {AREA_BY_PREFIX}<layer> or {ATTRIBUTE_BY_PREFIX}<name>"
            )
    if len(set(q.by)) != len(q.by):
        raise QueryError(f"dimensions repeat in by={q.by!r}")
    if q.area_layer is not None:
        _check_identifier(q.area_layer, "area layer")


def _output_columns(q: AggregateQuery) -> list[str]:
    return (["area"] if q.area_layer else []) + (["period"] if q.period else []) + list(q.by)


def aggregate_sql(q: AggregateQuery, dialect: Dialect = DUCKDB, events: str = "events") -> SqlQuery:
    """Counts from event rows: columns [area] [period] [by...] count, ordered by the keys.

    ``by`` containing ``syndrome`` unnests syndromes: an event counts once per syndrome it
    carries, and events without syndromes drop out. ``syndrome_set`` keeps each event once,
    keyed by its sorted syndromes joined with ``|``; ``area_<layer>`` adds the event's area in
    another layer; ``attribute:<name>`` the value of one attribute (NULL for events without it).
    """
    _check_aggregate(q)
    where = filter_sql(q.filter, dialect)
    select: list[str] = []
    if q.area_layer:
        select.append(f"{dialect.quote(area_column(q.area_layer))} AS area")
    if q.period:
        select.append(f"{dialect.truncate_date(dialect.local_day(), q.period)} AS period")
    for dim in q.by:
        if dim == "syndrome":
            select.append(f"{dialect.unnest(dialect.quote('syndromes'))} AS syndrome")
        elif dim == SYNDROME_SET:
            # Grouped on the raw lists first; the (few) groups are turned into sets after.
            select.append(f"{dialect.quote('syndromes')} AS {SYNDROME_SET}")
        elif dim.startswith(AREA_BY_PREFIX):
            select.append(f"{dialect.quote(dim)} AS {dialect.quote(dim)}")
        elif dim.startswith(ATTRIBUTE_BY_PREFIX):
            name = dialect.string_literal(dim.removeprefix(ATTRIBUTE_BY_PREFIX))
            value = dialect.map_value(dialect.quote("attributes"), name)
            select.append(f"{value} AS {dialect.quote(dim)}")
        else:
            select.append(f"{dialect.quote(dim)} AS {dim}")
    keys = _output_columns(q)
    inner = f"SELECT {', '.join(select) if select else '1 AS one'} FROM {events} WHERE {where.sql}"
    if SYNDROME_SET not in q.by:
        return SqlQuery(_group_sql(inner, keys, "count(*)", dialect), where.params)
    grouped = _group_sql(inner, keys, "count(*)", dialect, order=False)
    labelled = ", ".join(
        f"{dialect.label_set(dialect.quote(k))} AS {SYNDROME_SET}"
        if k == SYNDROME_SET
        else dialect.quote(k)
        for k in keys
    )
    outer = f"SELECT {labelled}, count AS n FROM ({grouped}) AS lists"
    return SqlQuery(_group_sql(outer, keys, "sum(n)", dialect), where.params)


def _group_sql(
    inner: str, keys: Sequence[str], measure: str, dialect: Dialect, *, order: bool = True
) -> str:
    quoted = [dialect.quote(k) for k in keys]
    if not keys:
        return f"SELECT CAST({measure} AS BIGINT) AS count FROM ({inner}) AS rows"
    cols = ", ".join(quoted)
    return (
        f"SELECT {cols}, CAST({measure} AS BIGINT) AS count FROM ({inner}) AS rows "
        f"GROUP BY {cols}" + (f" ORDER BY {cols}" if order else "")
    )


def cube_answers(q: AggregateQuery) -> bool:
    """Whether the materialised cube holds everything this query needs.

    True when the query groups only by area, a day-or-coarser period and cube dimensions, and
    filters only on cube dimensions: agencies/sectors/kinds, whole local days (``date`` bounds;
    an instant bound needs the events: see ``whole_days``), sensitivity
    exclusions, and syndromes when the result cannot double count (one syndrome and no syndrome
    grouping). Codes, attributes and person exclusions need the events.
    """
    _check_aggregate(q)
    f = q.filter
    if not set(q.by) <= CUBE_BY:
        return False
    if f.codes is not None or f.person_tokens_excluded or f.attributes:
        return False
    if isinstance(f.start, datetime) or isinstance(f.end, datetime):
        return False
    return not (f.syndromes is not None and (len(f.syndromes) != 1 or "syndrome" in q.by))


def cube_aggregate_sql(
    q: AggregateQuery, dialect: Dialect = DUCKDB, cube: str = "cube"
) -> SqlQuery:
    """The same counts as ``aggregate_sql``, summed from the cube (see ``cube_answers``)."""
    if not cube_answers(q):
        raise QueryError("this query needs the events: the cube cannot answer it")
    f = q.filter
    params: dict[str, Any] = {}
    clauses: list[str] = []
    for name, column, values in (
        ("agencies", "agency", f.agencies),
        ("sectors", "sector", f.sectors),
        ("kinds", "kind", f.kinds),
    ):
        if values is not None:
            params[name] = list(values)
            clauses.append(dialect.in_list(dialect.quote(column), name))
    day = dialect.quote("day")
    if f.start is not None:
        params["start"] = f.start.isoformat()
        clauses.append(f"{day} >= {dialect.date_param('start')}")
    if f.end is not None:
        params["end"] = f.end.isoformat()
        clauses.append(f"{day} < {dialect.date_param('end')}")
    if f.sensitivity_excluded:
        params["sensitivity_excluded"] = list(f.sensitivity_excluded)
        clauses.append(
            "NOT " + dialect.lists_overlap(dialect.quote("sensitivity"), "sensitivity_excluded")
        )
    syndrome = dialect.quote("syndrome")
    if f.syndromes is not None:
        params["syndrome"] = f.syndromes[0]
        clauses.append(f"{syndrome} = {dialect.param('syndrome')}")
    elif "syndrome" in q.by:
        clauses.append(f"{syndrome} IS NOT NULL")
    else:
        clauses.append(f"{syndrome} IS NULL")
    select: list[str] = []
    if q.area_layer:
        select.append(f"{dialect.quote(area_column(q.area_layer))} AS area")
    if q.period:
        select.append(f"{dialect.truncate_date(day, q.period)} AS period")
    for dim in q.by:
        select.append(f"{dialect.quote(dim)} AS {dim}")
    select.append(f"{dialect.quote('count')} AS n")
    inner = f"SELECT {', '.join(select)} FROM {cube} WHERE {' AND '.join(clauses)}"
    keys = _output_columns(q)
    return SqlQuery(_group_sql(inner, keys, "coalesce(sum(n), 0)", dialect), params)


def extract_sql(
    q: ExtractQuery,
    available: Sequence[str],
    dialect: Dialect = DUCKDB,
    events: str = "events",
) -> SqlQuery:
    """Event rows with the chosen columns, oldest first (then agency, event_id)."""
    if not q.columns:
        raise QueryError("an extract needs at least one column")
    unknown = [c for c in q.columns if c not in available]
    if unknown:
        raise QueryError(
            f"unknown lake column(s) {', '.join(unknown)}; expected among {', '.join(available)}"
        )
    if q.limit is not None and q.limit < 0:
        raise QueryError(f"limit must be >= 0, got {q.limit}")
    where = filter_sql(q.filter, dialect)
    cols = ", ".join(dialect.quote(c) for c in q.columns)
    order = ", ".join(dialect.quote(c) for c in ("occurred_at", "agency", "event_id"))
    sql = f"SELECT {cols} FROM {events} WHERE {where.sql} ORDER BY {order}"
    params = dict(where.params)
    if q.limit is not None:
        params["limit"] = q.limit
        sql += f" LIMIT {dialect.param('limit')}"
    return SqlQuery(sql, params)
