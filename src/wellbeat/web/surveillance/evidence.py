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
from wellbeat.events.periods import period_start
from wellbeat.geo import AreaLayer, load_layers
from wellbeat.governance import DataRequest, Refusal
from wellbeat.web.accounts.models import Agency, User
from wellbeat.web.governance.service import (
    data_dir,
    decide,
    governed_aggregate,
    requester_for_user,
)
from wellbeat.web.surveillance.watchlist import WatchedIndicator

SIMPLIFY_DEGREES = 0.0005
"""Area outlines are simplified to about 50 m for drawing (the map shows areas, not streets)."""


VALUE = "value"
ZERO = "zero"
SUPPRESSED = "suppressed"
NOT_SHARED = "not-shared"
STATUSES = (VALUE, ZERO, SUPPRESSED, NOT_SHARED)
"""What a count shown to a viewer is (the ``status`` column of downloads, the ``data-status``
attribute of pages): a number, a true zero, a cell hidden by small-cell suppression, or data
no agreement shares with the viewer. A page never shows 0 for the last two."""


def count_status(count: float | None, *, suppressed: bool, not_shared: bool) -> str:
    if not_shared:
        return NOT_SHARED
    if suppressed or count is None:
        return SUPPRESSED
    return ZERO if count == 0 else VALUE


PERIOD_WORDS = {"day": ("daily", "days"), "week": ("weekly", "weeks")}
"""The periods the explorer draws (the detectors' count matrices are daily or weekly)."""

BASELINE_DAYS = {"day": 28, "week": 7 * 60}
"""History read before the window shown so the detector has its baseline there: EARS needs 7
(+2 lag) days; Farrington flexible needs a year plus its window (w = 3) of weeks."""

MOSTLY_SUPPRESSED = 0.5
"""A series with more than this share of its periods suppressed is "mostly suppressed": the
explorer then chooses the next coarser period by itself and says why."""


@dataclass
class Sharing:
    """Who holds an indicator's events and which of them share them with the viewer."""

    holders: list[str] = field(default_factory=list)
    """Agencies of the sectors that hold these events ("MFD (Metro Fire & EMS)")."""
    shared: list[str] = field(default_factory=list)
    unshared: list[str] = field(default_factory=list)
    """One line per holder that does not share: "MFD (Metro Fire & EMS): <why not>"."""

    @property
    def none_shared(self) -> bool:
        """True when agencies hold these events and none of them shares with the viewer."""
        return bool(self.holders) and not self.shared

    @property
    def phrase(self) -> str:
        """The short "held by" text a not-shared cell carries."""
        if not self.none_shared:
            return ""
        return "held by " + ", ".join(h.split(" (")[0] for h in self.holders)

    @property
    def explanation(self) -> str:
        """Who holds the data and, per holder, the agreement that would share it."""
        if not self.unshared:
            return self.phrase
        return f"{self.phrase}. " + "; ".join(self.unshared)


def sharing_for(user: User, spec: WatchedIndicator, request: DataRequest) -> Sharing:
    """Ask the governance decision (no read, no audit) whether each agency holding ``spec``'s
    events would share ``request`` with ``user``; a refusal's reason names the agreement
    that is missing, expired or does not cover the request."""
    out = Sharing()
    agency = user.agency
    if agency is None:
        return out
    requester = requester_for_user(user)
    holders = Agency.objects.filter(sector__in=spec.holder_sectors).order_by("code")
    for holder in holders:
        label = f"{holder.code} ({holder.name})"
        out.holders.append(label)
        if holder.pk == agency.pk:
            out.shared.append(label)
            continue
        decision = decide(requester, spec.purpose, replace(request, agencies=(holder.code,)))
        if isinstance(decision, Refusal):
            out.unshared.append(f"{label}: {decision.message}")
        else:
            out.shared.append(label)
    return out


def viewable_agencies(
    user: User, spec: WatchedIndicator, agencies: tuple[str, ...], layer: str
) -> tuple[tuple[str, ...], list[str]]:
    """Of the agencies an alert was raised on, those whose counts ``user`` may read at
    ``layer`` (coarsening time if need be), and why each other one is left out."""
    requester = requester_for_user(user)
    base = replace(spec.request(layer), by=(), coarsen=True)
    shown: list[str] = []
    left_out: list[str] = []
    for code in agencies:
        decision = decide(requester, spec.purpose, replace(base, agencies=(code,)))
        if isinstance(decision, Refusal):
            left_out.append(f"not included: {decision.message}")
        else:
            shown.append(code)
    return tuple(shown), left_out


@dataclass
class GovernedSeries:
    """A series as the viewer may see it, with each period's status (``STATUSES``); counts of
    suppressed and not-shared periods are None, never 0."""

    periods: list[str] = field(default_factory=list)
    observed: list[float | None] = field(default_factory=list)
    expected: list[float | None] = field(default_factory=list)
    upperbound: list[float | None] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    method: str = ""
    period: str = "day"
    min_cell: int = 1
    refusal: str = ""
    notes: list[str] = field(default_factory=list)
    sharing: Sharing = field(default_factory=Sharing)
    not_shared: str = ""
    """Why nothing in this series is shared with the viewer (empty when something is)."""
    incomplete: str = ""
    """The last period's start when the window ends inside it (drawn as incomplete)."""
    through: str = ""
    choice: str = ""
    """Why this period was chosen when the viewer left the choice to the explorer."""
    signals: list[str] = field(default_factory=list)
    layer: str | None = None
    area: str | None = None
    """The area shown (None: the whole city); may contain the one asked for (``choice``)."""

    @property
    def hidden(self) -> int:
        """Periods whose count the viewer cannot see (suppressed)."""
        return sum(1 for s in self.statuses if s == SUPPRESSED)

    @property
    def mostly_suppressed(self) -> bool:
        return bool(self.statuses) and self.hidden > MOSTLY_SUPPRESSED * len(self.statuses)

    @property
    def missing_lines(self) -> list[str]:
        """Why a line the chart's legend would name is not drawn (the legend names only drawn
        lines)."""
        out = []
        if self.not_shared:
            return [f"No observed counts: {self.not_shared}"]
        if self.statuses and all(s == SUPPRESSED for s in self.statuses):
            out.append(
                f"No observed counts: every {self.period} is suppressed (fewer than "
                f"{self.min_cell} events); choose a coarser period or area."
            )
        if not any(v is not None for v in self.expected):
            out.append(
                f"No expected value or upper bound: {self.method} needs more visible history "
                "than this window has (too short, or too much of it suppressed)."
            )
        return out

    def chart(self, title: str) -> dict[str, Any]:
        return {
            "type": "series",
            "title": title,
            "x": self.periods,
            "observed": self.observed,
            "expected": self.expected,
            "upperbound": self.upperbound,
            "statuses": self.statuses,
            "method": self.method,
            "period": self.period,
            "incomplete": self.incomplete,
            "through": self.through,
            "signals": self.signals,
        }

    def table(self) -> list[dict[str, Any]]:
        return [
            {
                "period": p,
                "observed": o,
                "status": s,
                "expected": e,
                "upperbound": u,
                "complete": p != self.incomplete,
            }
            for p, o, s, e, u in zip(
                self.periods,
                self.observed,
                self.statuses,
                self.expected,
                self.upperbound,
                strict=True,
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
    period: str | None = None,
) -> GovernedSeries:
    """One area's (or the whole city's) series for ``user`` from ``start`` to ``end`` by
    ``period`` (the indicator's own by default), with the detector's expected value and upper
    bound recomputed on what the user may see (history before ``start`` is read as the
    detector's baseline)."""
    wanted = period or spec.period
    read_start = period_start(start - dt.timedelta(days=BASELINE_DAYS[wanted]), wanted)
    request = replace(
        spec.request(layer or "", agencies),
        area_layer=layer if area else None,
        by=(),
        period=wanted,
        coarsen=True,
        start=read_start,  # local days of the hub (docs/engine.md)
        end=end + dt.timedelta(days=1),
    )
    out = GovernedSeries(
        method=method or default_method(wanted),
        period=wanted,
        through=end.isoformat(),
        layer=layer if area else None,
        area=area,
    )
    first = period_start(start, wanted)
    last = period_start(end, wanted)
    step = 7 if wanted == "week" else 1
    if wanted == "week" and end.weekday() != 6:
        out.incomplete = last.isoformat()
    display = [first + dt.timedelta(days=step * i) for i in range((last - first).days // step + 1)]
    out.periods = [d.isoformat() for d in display]

    def nothing(reason: str) -> GovernedSeries:
        out.not_shared = reason
        out.statuses = [NOT_SHARED] * len(display)
        out.observed = out.expected = out.upperbound = [None] * len(display)
        return out

    decision = decide(requester_for_user(user), spec.purpose, request)
    plan_period = wanted if isinstance(decision, Refusal) else decision.period or wanted
    if plan_period != wanted:
        if plan_period not in PERIOD_WORDS:
            return nothing(
                f"the agreements allow no finer period than {plan_period}; the explorer draws "
                "daily or weekly series"
            )
        return governed_series(
            user,
            spec,
            start=start,
            end=end,
            layer=layer,
            area=area,
            agencies=agencies,
            method=method if method and plan_period == spec.period else None,
            export=export,
            period=plan_period,
        )
    out.sharing = sharing_for(user, spec, request)
    released = governed_aggregate(user, spec.purpose, request, export=export)
    if isinstance(released, Refusal):
        out.refusal = released.message
        return nothing(released.message)
    out.notes = list(released.notes) + [
        f"not included: {line}" for line in out.sharing.unshared if out.sharing.shared
    ]
    out.min_cell = released.plan.strictest_min_cell
    if out.sharing.none_shared:
        return nothing(out.sharing.explanation)
    if area and released.plan.area_layer != layer:
        return nothing(
            f"the agreements allow this indicator no finer than layer "
            f"{released.plan.area_layer}; choose that layer or the whole city"
        )
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
        day = day.date() if isinstance(day, dt.datetime) else day
        if (hidden and hidden[i]) or count is None:
            suppressed_days.add(day)
            continue
        rows.append(("all", day, float(count)))
    matrix = count_matrix(
        spec.id, layer or "", "week" if wanted == "week" else "day", rows, ["all"], read_start, last
    )
    values = matrix.counts[0].copy()
    for i, day in enumerate(matrix.periods):
        if day in suppressed_days:
            values[i] = np.nan
    # The detector never sees a partial period as if it were complete (a drop).
    detector_values = values.copy()
    if out.incomplete:
        detector_values[-1] = np.nan
    expected = np.full(values.shape, np.nan)
    upper = np.full(values.shape, np.nan)
    result = run_detector(replace(matrix, counts=detector_values[np.newaxis, :]), out.method)
    if result is not None:
        expected[result.index - 1] = result.expected[0]
        upper[result.index - 1] = result.upperbound[0]
    shown = len(matrix.periods) - len(display)
    out.observed = [_clean(v) for v in values[shown:]]
    out.statuses = [count_status(v, suppressed=v is None, not_shared=False) for v in out.observed]
    out.expected = [_clean(v) for v in expected[shown:]]
    out.upperbound = [_clean(v) for v in upper[shown:]]
    return out


def containing_areas(layer_name: str, area: str) -> list[tuple[str, str, str]]:
    """The installed coarser layers' areas that contain ``area`` (from its parent-id
    properties), finest first, as (layer, area id, area name)."""
    layers = {layer.name: layer for layer in load_layers(data_dir() / "areas")}
    layer = layers.get(layer_name)
    if layer is None or area not in layer.ids:
        return []
    found = []
    for key, value in layer.properties[layer.index_of(area)].items():
        parent = layers.get(key)
        if key != layer_name and parent is not None and str(value) in parent.ids:
            found.append(
                (len(parent.ids), key, str(value), parent.names[parent.index_of(str(value))])
            )
    return [(key, value, name) for _, key, value, name in sorted(found, reverse=True)]


def choose_series(
    user: User,
    spec: WatchedIndicator,
    *,
    start: dt.date,
    end: dt.date,
    period: str = "",
    layer: str | None = None,
    area: str | None = None,
    agencies: tuple[str, ...] | None = None,
    method: str | None = None,
    export: bool | str = False,
    widen: bool = True,
) -> GovernedSeries:
    """The series at ``period``, or (``period`` empty) at the finest period the agreements
    allow at which it is not mostly suppressed, saying why a finer one was passed over. When
    every period leaves an area's series mostly suppressed, the smallest area containing it
    that is not (a beat, a district) is shown instead (``widen``), saying so."""

    def read(at: str) -> GovernedSeries:
        return governed_series(
            user,
            spec,
            start=start,
            end=end,
            layer=layer,
            area=area,
            agencies=agencies,
            method=method if at == spec.period else None,
            export=export,
            period=at,
        )

    if period in PERIOD_WORDS:
        return read(period)
    order = list(PERIOD_WORDS)
    candidates = [p for p in order if order.index(p) >= order.index(spec.period)]
    where = f"by {layer}" if area and layer else "for the whole city"
    passed: list[str] = []
    series = GovernedSeries()
    for i, candidate in enumerate(candidates):
        series = read(candidate)
        if series.period != candidate:
            continue  # coarsened by the agreements to a period still to come
        if not series.mostly_suppressed or i == len(candidates) - 1:
            break
        adjective, unit = PERIOD_WORDS[candidate]
        passed.append(
            f"{adjective} {where} would hide {series.hidden} of {len(series.statuses)} {unit}"
        )
    if series.mostly_suppressed and widen and layer and area and not export:
        adjective, unit = PERIOD_WORDS[series.period]
        passed.append(
            f"{adjective} {where} would hide {series.hidden} of {len(series.statuses)} {unit}"
        )
        for parent_layer, parent, name in containing_areas(layer, area):
            wider = choose_series(
                user,
                spec,
                start=start,
                end=end,
                layer=parent_layer,
                area=parent,
                agencies=agencies,
                method=method,
                widen=False,
            )
            if not wider.mostly_suppressed and not wider.not_shared:
                wider.choice = (
                    "; ".join([*passed, *([wider.choice] if wider.choice else [])])
                    + f"; showing {name} ({parent_layer} {parent}), which contains {area}"
                )
                return wider
        passed.pop()
    advice = (
        "choose a coarser area layer or the whole city"
        if area
        else f"your agreements hide counts under {series.min_cell} even for the whole city"
    )
    if passed:
        adjective = PERIOD_WORDS[series.period][0]
        series.choice = "; ".join(passed) + f"; showing {adjective}"
        if series.mostly_suppressed:
            series.choice += f" (still {series.hidden} of {len(series.statuses)} hidden: {advice})"
    elif series.mostly_suppressed:
        series.choice = (
            f"{series.hidden} of {len(series.statuses)} {PERIOD_WORDS[series.period][1]} are "
            f"suppressed at the coarsest period the explorer draws: {advice}"
        )
    return series


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
    totals: AreaTotals,
    *,
    highlight: tuple[str, ...] = (),
    context: tuple[str, ...] = (),
    title: str = "",
) -> dict[str, Any]:
    """A choropleth of the area counts with its colour scale, suppressed areas grey and named
    in the legend, and the alert's area and its neighbours outlined."""
    statuses = {a: totals.status(a) for a in layer.ids}
    values = {
        a: (totals.values.get(a, 0.0) if statuses[a] in (VALUE, ZERO) else None) for a in layer.ids
    }
    return {
        "type": "map",
        "title": title,
        "areas": area_shapes(layer),
        "values": values,
        "statuses": statuses,
        "suppressed_label": f"suppressed (fewer than {totals.min_cell})",
        "highlight": list(highlight),
        "context": list(context),
    }


@dataclass
class AreaTotals:
    """Counts per area over a window as a viewer may see them (None: suppressed)."""

    values: dict[str, float | None] = field(default_factory=dict)
    refusal: str = ""
    notes: list[str] = field(default_factory=list)
    min_cell: int = 1
    sharing: Sharing = field(default_factory=Sharing)
    not_shared: str = ""

    def status(self, area: str) -> str:
        """An area the release does not list had no events: a true zero."""
        if self.not_shared or self.refusal:
            return NOT_SHARED
        value = self.values.get(area, 0.0)
        return count_status(value, suppressed=value is None, not_shared=False)


def governed_area_totals(
    user: User,
    spec: WatchedIndicator,
    layer: str,
    start: dt.date,
    end: dt.date,
    *,
    export: bool | str = False,
) -> AreaTotals:
    """Counts per area over a window as the user may see them, with who holds the data when
    none of it is shared with the user."""
    request = DataRequest(
        kind="aggregate",
        syndromes=spec.syndromes,
        sectors=spec.sectors,
        kinds=spec.kinds,
        area_layer=layer,
        start=start,  # local days of the hub (docs/engine.md)
        end=end + dt.timedelta(days=1),
    )
    out = AreaTotals(sharing=sharing_for(user, spec, request))
    released = governed_aggregate(user, spec.purpose, request, export=export)
    if isinstance(released, Refusal):
        out.refusal = released.message
        return out
    out.notes = list(released.notes)
    out.min_cell = released.plan.strictest_min_cell
    if out.sharing.none_shared:
        out.not_shared = out.sharing.explanation
        return out
    table = released.table
    hidden = (
        table.column("suppressed").to_pylist()
        if "suppressed" in table.column_names
        else [False] * table.num_rows
    )
    for area, count, sup in zip(
        table.column("area").to_pylist(), table.column("count").to_pylist(), hidden, strict=True
    ):
        if area is not None:
            out.values[area] = None if sup or count is None else float(count)
    return out


RATE_PER = 100_000
"""Area rates are per 100,000 residents over the window shown."""


def area_rate_rows(layer: AreaLayer | None, totals: AreaTotals) -> list[dict[str, Any]]:
    """The area table, one row per area of the layer: count, population, rate per 100,000 over
    the window, whether the rate is unreliable (fewer than 20 events, NCHS), and the count's
    status (an area without events is a zero; suppressed and not-shared counts are empty)."""
    if layer is None:
        return []
    rows = []
    for position, area_id in sorted(enumerate(layer.ids), key=lambda item: item[1]):
        population, name = int(layer.population[position]), layer.names[position]
        status = totals.status(area_id)
        count = totals.values.get(area_id, 0.0) if status in (VALUE, ZERO) else None
        rate = round(count / population * RATE_PER, 1) if count is not None and population else None
        rows.append(
            {
                "area": area_id,
                "name": name,
                "population": population,
                "count": count,
                "status": status,
                "rate_per_100000": rate,
                "unreliable": status == VALUE and count is not None and count < UNRELIABLE_BELOW,
            }
        )
    return rows
