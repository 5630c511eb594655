"""Running a plan on the lake's engine: one query per provider, then ``release``.

Each provider is read with its own narrowed filter (its agreement's sectors, kinds and
syndromes), so one agreement's scope never widens another's.
"""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from wellbeat.governance.decision import Grant, Plan
from wellbeat.governance.release import EXTRACT_CONTROL_COLUMNS, Release, release
from wellbeat.lake.query import AggregateQuery, EventFilter, ExtractQuery


class QueryEngine(Protocol):
    """The part of ``wellbeat.lake.engine.Engine`` the governed service uses."""

    def aggregate(self, q: AggregateQuery) -> pa.Table: ...

    def extract(self, q: ExtractQuery) -> pa.Table: ...


def _sorted(values: frozenset[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(sorted(values))


def event_filter(plan: Plan, grant: Grant) -> EventFilter:
    """The engine filter for one provider's rows under ``plan``."""
    req = plan.request
    return EventFilter(
        agencies=(grant.provider,),
        sectors=_sorted(grant.sectors),
        kinds=_sorted(grant.kinds),
        syndromes=_sorted(grant.syndromes),
        codes=req.codes,
        start=req.start,
        end=req.end,
    )


def engine_queries(plan: Plan) -> list[tuple[Grant, AggregateQuery | ExtractQuery]]:
    """The queries that read exactly the plan's rows, one per provider."""
    queries: list[tuple[Grant, AggregateQuery | ExtractQuery]] = []
    for grant in plan.grants:
        flt = event_filter(plan, grant)
        if plan.kind == "aggregate":
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
