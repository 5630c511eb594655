"""Running a plan on the lake's engine: one query per provider, then ``release``.

Each provider is read with its own narrowed filter (its agreement's sectors, kinds and
syndromes), so one agreement's scope never widens another's.
"""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from wellbeat.governance.decision import DataRequest, Grant, Plan
from wellbeat.governance.release import (
    EXTRACT_CONTROL_COLUMNS,
    Release,
    base_dimensions,
    base_layers,
    base_period,
    release,
)
from wellbeat.governance.resolution import snap_window
from wellbeat.lake.query import AREA_BY_PREFIX, AggregateQuery, EventFilter, ExtractQuery


class QueryEngine(Protocol):
    """The part of ``wellbeat.lake.engine.Engine`` the governed service uses."""

    def aggregate(self, q: AggregateQuery) -> pa.Table: ...

    def extract(self, q: ExtractQuery) -> pa.Table: ...


def _sorted(values: frozenset[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(sorted(values))


def request_filter(request: DataRequest) -> EventFilter:
    """The engine filter that reads exactly what ``request`` names, across every agency it
    names (no agreement applied: for the hub's own jobs, see ``system_aggregate``)."""
    return EventFilter(
        agencies=request.agencies,
        sectors=request.sectors,
        kinds=request.kinds,
        syndromes=request.syndromes,
        codes=request.codes,
        start=request.start,
        end=request.end,
        attributes=request.attributes,
    )


def event_filter(plan: Plan, grant: Grant) -> EventFilter:
    """The engine filter for one provider's rows under ``plan`` (its window: ``plan.start`` /
    ``plan.end``; for another agency's counts, widened to whole periods of its grid)."""
    start, end = plan.start, plan.end
    if plan.kind == "aggregate" and not grant.own and grant.finest_period is not None:
        start, end = snap_window(start, end, grant.finest_period, plan.time_zone)
    return EventFilter(
        agencies=(grant.provider,),
        sectors=_sorted(grant.sectors),
        kinds=_sorted(grant.kinds),
        syndromes=_sorted(grant.syndromes),
        codes=plan.request.codes,
        start=start,
        end=end,
        attributes=plan.request.attributes,
    )


def base_query(plan: Plan, grant: Grant) -> AggregateQuery:
    """The cells of another agency's protected base table that ``plan`` needs: place and time
    at its agreements' finest layers and periods, every filterable dimension
    (``base_dimensions``, attributes included), and the area in the plan's layer next to the
    finest one. The request's filters only drop whole base cells (each filtered dimension is
    a key), so every kept cell's count is the same whatever the request."""
    by = (*base_dimensions(grant), *(f"{AREA_BY_PREFIX}{x}" for x in base_layers(plan, grant)))
    return AggregateQuery(
        event_filter(plan, grant),
        grant.finest_layer,
        base_period(grant),  # type: ignore[arg-type]
        by,
    )


def engine_queries(plan: Plan) -> list[tuple[Grant, AggregateQuery | ExtractQuery]]:
    """The queries that read exactly the plan's rows, one per provider: the user's own counts
    at the plan's cells, other agencies' as their protected base tables."""
    queries: list[tuple[Grant, AggregateQuery | ExtractQuery]] = []
    for grant in plan.grants:
        flt = event_filter(plan, grant)
        if plan.kind == "aggregate" and not grant.own:
            queries.append((grant, base_query(plan, grant)))
        elif plan.kind == "aggregate":
            by = tuple(d for d in plan.by if d != "agency")
            queries.append(
                (grant, AggregateQuery(flt, plan.area_layer, plan.period, by))  # type: ignore[arg-type]
            )
        else:
            columns = tuple(dict.fromkeys([*EXTRACT_CONTROL_COLUMNS, *plan.columns]))
            queries.append((grant, ExtractQuery(flt, columns, plan.request.limit)))
    return queries


def run_plan(plan: Plan, engine: QueryEngine, hub_key: bytes) -> Release:
    """Query the engine for every provider of ``plan`` and release the result."""
    tables: list[pa.Table] = []
    for grant, query in engine_queries(plan):
        if isinstance(query, AggregateQuery):
            table = engine.aggregate(query)
        else:
            table = engine.extract(query)
        if "agency" in table.column_names:
            table = table.drop_columns(["agency"])
        tables.append(
            table.append_column(
                "agency", pa.repeat(pa.scalar(grant.provider, pa.string()), table.num_rows)
            )
        )
    combined = (
        pa.concat_tables(tables, promote_options="default")
        if tables
        else pa.table({"agency": pa.array([], pa.string())})
    )
    return release(plan, combined, hub_key)
