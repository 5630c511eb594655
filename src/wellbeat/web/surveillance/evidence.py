"""Evidence a viewer is allowed to see: series, expected values, bounds and area maps built
from ``governed_aggregate`` reads made as that viewer (suppressed cells stay hidden)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely

from wellbeat.analytics.alerts import count_matrix, default_method, run_detector
from wellbeat.analytics.indicators.catalogue import UNRELIABLE_BELOW
from wellbeat.geo import AreaLayer, load_layers
from wellbeat.governance import DataRequest, Refusal
from wellbeat.web.accounts.models import User
from wellbeat.web.governance.service import data_dir, governed_aggregate
from wellbeat.web.surveillance.watchlist import WatchedIndicator

SIMPLIFY_DEGREES = 0.0005
"""Area outlines are simplified to about 50 m for drawing (the map shows areas, not streets)."""


@dataclass
class GovernedSeries:
    """A series as the viewer may see it; ``None`` counts are suppressed cells."""

    periods: list[str] = field(default_factory=list)
    observed: list[float | None] = field(default_factory=list)
    expected: list[float | None] = field(default_factory=list)
    upperbound: list[float | None] = field(default_factory=list)
    method: str = ""
    refusal: str = ""
    notes: list[str] = field(default_factory=list)

    def chart(self, title: str) -> dict[str, Any]:
        return {
            "type": "series",
            "title": title,
            "x": self.periods,
            "observed": self.observed,
            "expected": self.expected,
            "upperbound": self.upperbound,
            "method": self.method,
        }

    def table(self) -> list[dict[str, Any]]:
        return [
            {"period": p, "observed": o, "expected": e, "upperbound": u, "suppressed": o is None}
            for p, o, e, u in zip(
                self.periods, self.observed, self.expected, self.upperbound, strict=True
            )
        ]


def _clean(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None


def governed_series(
    user: User,
    spec: WatchedIndicator,
    *,
    start: dt.date,
    end: dt.date,
    layer: str | None = None,
    area: str | None = None,
    agencies: tuple[str, ...] | None = None,
    method: str | None = None,
    export: bool | str = False,
) -> GovernedSeries:
    """One area's (or the whole city's) series for ``user`` with the detector's expected value
    and upper bound recomputed on what the user may see."""
    request = replace(
        spec.request(layer or "", agencies),
        area_layer=layer if area else None,
        by=(),
        start=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
    )
    released = governed_aggregate(user, spec.purpose, request, export=export)
    out = GovernedSeries(method=method or default_method(spec.period))
    if isinstance(released, Refusal):
        out.refusal = released.message
        return out
    out.notes = list(released.notes)
    table = released.table
    periods = table.column("period").to_pylist()
    counts = table.column("count").to_pylist()
    hidden = table.column("suppressed").to_pylist() if "suppressed" in table.column_names else []
    areas = table.column("area").to_pylist() if "area" in table.column_names else []
    rows: list[tuple[str, dt.date, float]] = []
    suppressed_days: set[dt.date] = set()
    for i, (day, count) in enumerate(zip(periods, counts, strict=True)):
        if areas and areas[i] != area:
            continue
        if (hidden and hidden[i]) or count is None:
            suppressed_days.add(day)
            continue
        rows.append(("all", day, float(count)))
    step = 7 if spec.period == "week" else 1
    first = start - dt.timedelta(days=start.weekday()) if step == 7 else start
    last = end - dt.timedelta(days=end.weekday()) if step == 7 else end
    matrix = count_matrix(spec.id, layer or "", spec.period, rows, ["all"], first, last)
    values = matrix.counts[0].copy()
    for i, day in enumerate(matrix.periods):
        if day in suppressed_days:
            values[i] = np.nan
    out.periods = [d.isoformat() for d in matrix.periods]
    out.observed = [_clean(v) for v in values]
    expected = np.full(values.shape, np.nan)
    upper = np.full(values.shape, np.nan)
    result = run_detector(replace(matrix, counts=values[np.newaxis, :]), out.method)
    if result is not None:
        expected[result.index - 1] = result.expected[0]
        upper[result.index - 1] = result.upperbound[0]
    out.expected = [_clean(v) for v in expected]
    out.upperbound = [_clean(v) for v in upper]
    return out


def layer_named(name: str) -> AreaLayer | None:
    for layer in load_layers(data_dir() / "areas"):
        if layer.name == name:
            return layer
    return None


def layer_names() -> list[str]:
    """The hub's installed area layers (the explorer's choice of map)."""
    return sorted(layer.name for layer in load_layers(data_dir() / "areas"))


def area_shapes(layer: AreaLayer) -> list[dict[str, Any]]:
    """Every area's outline as x/y lists (None between rings), for drawing without tiles."""
    shapes = []
    simplified = shapely.simplify(layer.geometries, SIMPLIFY_DEGREES)
    for area_id, name, geometry in zip(layer.ids, layer.names, simplified, strict=True):
        xs: list[float | None] = []
        ys: list[float | None] = []
        polygons = getattr(geometry, "geoms", [geometry])
        for polygon in polygons:
            ring = np.asarray(polygon.exterior.coords)
            xs.extend([round(float(x), 5) for x in ring[:, 0]] + [None])
            ys.extend([round(float(y), 5) for y in ring[:, 1]] + [None])
        shapes.append({"id": area_id, "name": name, "x": xs, "y": ys})
    return shapes


def area_map(
    layer: AreaLayer,
    values: dict[str, float | None],
    *,
    highlight: tuple[str, ...] = (),
    context: tuple[str, ...] = (),
    title: str = "",
) -> dict[str, Any]:
    """A choropleth of ``values`` by area (missing: no data or suppressed), with the alert's
    area and its neighbours outlined."""
    return {
        "type": "map",
        "title": title,
        "areas": area_shapes(layer),
        "values": values,
        "highlight": list(highlight),
        "context": list(context),
    }


def governed_area_totals(
    user: User,
    spec: WatchedIndicator,
    layer: str,
    start: dt.date,
    end: dt.date,
    *,
    export: bool | str = False,
) -> tuple[dict[str, float | None], str, list[str]]:
    """Counts per area over a window as the user may see them (None: suppressed)."""
    request = DataRequest(
        kind="aggregate",
        syndromes=spec.syndromes,
        sectors=spec.sectors,
        kinds=spec.kinds,
        area_layer=layer,
        start=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
    )
    released = governed_aggregate(user, spec.purpose, request, export=export)
    if isinstance(released, Refusal):
        return {}, released.message, []
    table = released.table
    hidden = (
        table.column("suppressed").to_pylist()
        if "suppressed" in table.column_names
        else [False] * table.num_rows
    )
    values: dict[str, float | None] = {}
    for area, count, sup in zip(
        table.column("area").to_pylist(), table.column("count").to_pylist(), hidden, strict=True
    ):
        if area is not None:
            values[area] = None if sup or count is None else float(count)
    return values, "", list(released.notes)


RATE_PER = 100_000
"""Area rates are per 100,000 residents over the window shown."""


def area_rate_rows(
    layer: AreaLayer | None, totals: dict[str, float | None]
) -> list[dict[str, Any]]:
    """The area table: count, population, rate per 100,000 over the window, and whether the
    rate is unreliable (fewer than 20 events, NCHS) or the count suppressed."""
    positions = {a: i for i, a in enumerate(layer.ids)} if layer is not None else {}
    rows = []
    for area_id in sorted(totals):
        position = positions.get(area_id)
        population: int | None = None
        name = area_id
        if layer is not None and position is not None:
            population, name = int(layer.population[position]), layer.names[position]
        count = totals[area_id]
        rate = round(count / population * RATE_PER, 1) if count is not None and population else None
        rows.append(
            {
                "area": area_id,
                "name": name,
                "population": population,
                "count": count,
                "rate_per_100000": rate,
                "unreliable": count is not None and count < UNRELIABLE_BELOW,
                "suppressed": count is None,
            }
        )
    return rows
