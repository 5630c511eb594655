"""An in-memory stand-in for the lake's engine: answers AggregateQuery / ExtractQuery over a
list of event dicts with the lake's semantics (any-of syndromes, unnest on by=syndrome,
half-open time range), so governance tests run without Parquet."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from wellbeat.lake.query import AggregateQuery, EventFilter, ExtractQuery

# neighbourhood n0..n7 lie in beats b0..b3, which lie in districts d0, d1.
NEIGHBOURHOODS = tuple(f"n{i}" for i in range(8))


def area_of(neighbourhood: str, layer: str) -> str:
    i = int(neighbourhood[1:])
    return {"neighbourhood": f"n{i}", "beat": f"b{i // 2}", "district": f"d{i // 4}"}[layer]


def truncate(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "mmwr_week":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    return day.replace(month=1, day=1)


def matches(event: dict[str, Any], f: EventFilter) -> bool:
    if f.agencies is not None and event["agency"] not in f.agencies:
        return False
    if f.sectors is not None and event["sector"] not in f.sectors:
        return False
    if f.kinds is not None and event["kind"] not in f.kinds:
        return False
    if f.syndromes is not None and not set(event["syndromes"]) & set(f.syndromes):
        return False
    attributes = event.get("attributes") or {}
    if not all(c.matches(attributes.get(c.name)) for c in f.attributes):
        return False
    if f.start is not None and _key(event, f.start) < f.start:
        return False
    return not (f.end is not None and _key(event, f.end) >= f.end)


def _key(event: dict[str, Any], bound: date) -> date:
    """What a bound is compared with: the instant for a datetime bound, else the event's
    local day (this fake lake's zone is UTC)."""
    occurred: datetime = event["occurred_at"]
    return occurred if isinstance(bound, datetime) else occurred.date()


class FakeEngine:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.queries: list[AggregateQuery | ExtractQuery] = []

    def aggregate(self, q: AggregateQuery) -> pa.Table:
        self.queries.append(q)
        counts: Counter[tuple[Any, ...]] = Counter()
        for e in self.events:
            if not matches(e, q.filter):
                continue
            base: tuple[Any, ...] = ()
            if q.area_layer:
                base += (area_of(e["neighbourhood"], q.area_layer),)
            if q.period:
                base += (truncate(e["occurred_at"].date(), q.period),)
            keys = [base]
            for dim in q.by:
                if dim == "syndrome":
                    keys = [(*k, s) for k in keys for s in e["syndromes"]]
                elif dim == "syndrome_set":
                    keys = [(*k, "|".join(sorted(set(e["syndromes"])))) for k in keys]
                elif dim.startswith("area_"):
                    keys = [(*k, area_of(e["neighbourhood"], dim[5:])) for k in keys]
                elif dim.startswith("attribute:"):
                    value = (e.get("attributes") or {}).get(dim.removeprefix("attribute:"))
                    keys = [(*k, value) for k in keys]
                else:
                    keys = [(*k, e[dim]) for k in keys]
            for k in keys:
                counts[k] += 1
        names = (["area"] if q.area_layer else []) + (["period"] if q.period else []) + list(q.by)
        if not names:
            return pa.table({"count": pa.array([sum(counts.values())], pa.int64())})
        ordered = sorted(counts, key=lambda k: tuple((v is None, v or "") for v in k))
        columns: dict[str, Any] = {}
        for j, name in enumerate(names):
            kind = pa.date32() if name == "period" else pa.string()
            columns[name] = pa.array([k[j] for k in ordered], kind)
        columns["count"] = pa.array([counts[k] for k in ordered], pa.int64())
        return pa.table(columns)

    def extract(self, q: ExtractQuery) -> pa.Table:
        self.queries.append(q)
        rows = [e for e in self.events if matches(e, q.filter)][: q.limit]
        types = {
            "occurred_at": pa.timestamp("us", tz="UTC"),
            "syndromes": pa.list_(pa.string()),
            "sensitivity": pa.list_(pa.string()),
        }
        columns = {}
        for c in q.columns:
            if c.startswith("area_"):
                values = [area_of(r["neighbourhood"], c[5:]) for r in rows]
            else:
                values = [r.get(c) for r in rows]
            columns[c] = pa.array(values, types.get(c, pa.string()))
        return pa.table(columns)


def event(
    agency: str,
    neighbourhood: str,
    when: datetime,
    syndromes: tuple[str, ...] = ("overdose",),
    *,
    token: str | None = None,
    sensitivity: tuple[str, ...] = (),
    sector: str = "fire_ems",
    kind: str = "ems_response",
    sex: str = "female",
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "agency": agency,
        "sector": sector,
        "kind": kind,
        "neighbourhood": neighbourhood,
        "occurred_at": when,
        "syndromes": list(syndromes),
        "person_token": token,
        "sensitivity": list(sensitivity),
        "sex": sex,
        "age_band": "30-34",
        "attributes": dict(attributes or {}),
        "event_id": f"{agency}-{when.isoformat()}",
    }
