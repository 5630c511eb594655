"""The equity analysis of one police agency's stops and uses of force, from rows read through
``governed_extract`` as the viewer (audited), computed by ``wellbeat.analytics.equity``.

The viewer's own agency is read in full. Another agency's rows come only as its agreement
allows: person-level granularity and the ``attributes`` column in its ``fields`` (race is one
of the attributes); the page never asks for more than ``event_id``, ``occurred_at``, the area
column and ``attributes``. A refusal is shown for that agency as "not shared with you"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from django.conf import settings

from wellbeat.analytics.equity import (
    Disparities,
    Estimate,
    VeilResult,
    disparities,
    rates,
    veil_of_darkness,
)
from wellbeat.geo import AreaLayer
from wellbeat.governance import DataRequest, Refusal
from wellbeat.web.accounts.models import Agency, User
from wellbeat.web.governance.service import governed_extract

POLICE = "police"
REFERENCE = "white"
VEIL_GROUP = "black"
PER = 1000
POPULATION_PREFIX = "population_"
"""An area layer property ``population_<race>`` holds that group's residents (optional)."""


def day_window(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The extract's bounds for the whole days ``start``..``end`` (inclusive): local days of
    the hub's zone, end exclusive, as the lake reads date bounds."""
    return start, end + dt.timedelta(days=1)


def hub_zone() -> str:
    """The hub's time zone (the lake's, which Django's TIME_ZONE repeats): clock times of
    the veil-of-darkness test are read in it."""
    return str(settings.TIME_ZONE)


def attributes_frame(table: pa.Table, names: tuple[str, ...]) -> pd.DataFrame:
    """The released rows with each named attribute as a column (missing: None)."""
    raw = table.column("attributes").to_pylist() if "attributes" in table.column_names else []
    maps = [dict(m) if m is not None else {} for m in raw]
    frame = pd.DataFrame(
        {c: table.column(c).to_pylist() for c in table.column_names if c != "attributes"}
    )
    for name in names:
        frame[name] = pd.Series([m.get(name) for m in maps], index=frame.index, dtype="object")
    return frame


STOP_ATTRIBUTES = (
    "race",
    "stop_type",
    "searched",
    "person_searched",
    "vehicle_searched",
    "contraband_found",
)
FORCE_ATTRIBUTES = ("race", "stop_id", "force_type")


def stops_frame(table: pa.Table, layer: str) -> pd.DataFrame:
    """One row per stop: event_id, occurred_at, area, race and the search flags (``searched``
    as the connector derived it, or person/vehicle searched when an older batch lacks it)."""
    frame = attributes_frame(table, STOP_ATTRIBUTES)
    derived = frame["person_searched"].astype("string").str.lower().eq("true").fillna(
        False
    ) | frame["vehicle_searched"].astype("string").str.lower().eq("true").fillna(False)
    frame["searched"] = frame["searched"].where(
        frame["searched"].notna(), derived.map({True: "true", False: "false"})
    )
    frame["area"] = frame.get(f"area_{layer}")
    return frame


@dataclass
class EquityBlock:
    """One agency's equity tables as the viewer may see them."""

    agency: Agency
    own: bool
    not_shared: str = ""
    force_not_shared: str = ""
    notes: list[str] = field(default_factory=list)
    stops: int = 0
    forces: int = 0
    result: Disparities | None = None
    race_rates: list[Estimate] = field(default_factory=list)
    race_rates_note: str = ""
    area_rates: list[Estimate] = field(default_factory=list)
    veil: VeilResult | None = None
    veil_note: str = ""

    @property
    def label(self) -> str:
        return f"{self.agency.code} ({self.agency.name})"


def police_agencies_for(user: User) -> list[tuple[Agency, bool]]:
    """The viewer's agency when it is a police agency, then every other police agency of the
    hub: the governed read decides, per agency, whether its stops are shared with the viewer
    (a refusal shows as "not shared with you", with the reason)."""
    assert user.agency is not None
    out = [(user.agency, True)] if user.agency.sector == POLICE else []
    others = Agency.objects.filter(sector=POLICE).exclude(pk=user.agency.pk).order_by("code")
    return out + [(a, False) for a in others]


def _extract(
    user: User,
    purpose: str,
    agency: str,
    kind: str,
    columns: tuple[str, ...],
    window: tuple[dt.date, dt.date],
) -> Any:
    start, end = window
    return governed_extract(
        user,
        purpose,
        DataRequest(
            kind="extract", agencies=(agency,), kinds=(kind,), columns=columns, start=start, end=end
        ),
    )


def _centre(layer: AreaLayer) -> tuple[float, float]:
    union = shapely.union_all(layer.geometries)
    point = union.centroid
    return float(point.y), float(point.x)


def race_population(layer: AreaLayer, area: str | None) -> dict[str, int]:
    """Residents per group from ``population_<group>`` properties (of one area, or summed)."""
    out: dict[str, int] = {}
    for i, props in enumerate(layer.properties):
        if area is not None and layer.ids[i] != area:
            continue
        for key, value in props.items():
            if key.startswith(POPULATION_PREFIX) and isinstance(value, int | float):
                group = key.removeprefix(POPULATION_PREFIX)
                out[group] = out.get(group, 0) + int(value)
    return out


def equity_block(
    user: User,
    purpose: str,
    agency: Agency,
    own: bool,
    *,
    start: dt.date,
    end: dt.date,
    layer: AreaLayer,
    area: str | None = None,
) -> EquityBlock:
    block = EquityBlock(agency, own)
    window = day_window(start, end)
    area_column = f"area_{layer.name}"
    stops = _extract(
        user,
        purpose,
        agency.code,
        "stop",
        ("event_id", "occurred_at", area_column, "attributes"),
        window,
    )
    if isinstance(stops, Refusal):
        block.not_shared = stops.message
        return block
    block.notes.extend(stops.notes)
    frame = stops_frame(stops.table, layer.name)
    if area is not None:
        frame = frame[frame["area"] == area].reset_index(drop=True)
    block.stops = len(frame)
    force_frame = None
    force = _extract(user, purpose, agency.code, "use_of_force", ("event_id", "attributes"), window)
    if isinstance(force, Refusal):
        block.force_not_shared = force.message
    else:
        force_frame = attributes_frame(force.table, FORCE_ATTRIBUTES)
        if area is not None:  # a use of force belongs to the area of its stop
            force_frame = force_frame[force_frame["stop_id"].isin(set(frame["event_id"]))]
        block.forces = len(force_frame)
    if frame.empty:
        return block
    block.result = disparities(frame, force=force_frame, reference=REFERENCE, per=PER)
    populations = race_population(layer, area)
    if populations:
        counts = frame["race"].astype("string").fillna("unknown").value_counts()
        block.race_rates = rates(
            {str(k): int(v) for k, v in counts.items()}, populations, PER, REFERENCE
        )
    else:
        block.race_rates_note = (
            f"The {layer.name} layer carries no residents by race (properties "
            f"'{POPULATION_PREFIX}<race>'), so stops per resident by race cannot be computed; "
            "the tables per stop below do not need populations."
        )
    by_area = frame["area"].astype("string").fillna("(no area)").value_counts()
    population = {
        a: int(p) for a, p in zip(layer.ids, layer.population, strict=True) if area in (None, a)
    }
    block.area_rates = rates({str(k): int(v) for k, v in by_area.items()}, population, PER)
    block.veil, block.veil_note = _veil(stops, frame, layer)
    return block


def _veil(release: Any, frame: pd.DataFrame, layer: AreaLayer) -> tuple[VeilResult | None, str]:
    truncated = [g.finest_period for g in release.plan.grants if not g.own and g.finest_period]
    if truncated:
        return None, (
            f"Not computed: the agreement releases stop times only to the {truncated[0]}, and "
            "the test needs each stop's clock time."
        )
    traffic = frame[frame["stop_type"].astype("string") == "traffic"].reset_index(drop=True)
    if traffic.empty:
        return None, "Not computed: no traffic stops in this selection."
    lat, lon = _centre(layer)
    try:
        return (
            veil_of_darkness(
                traffic, lat=lat, lon=lon, zone=hub_zone(), group=VEIL_GROUP, place="area"
            ),
            "",
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        return None, f"Not computed: {exc}."


def _fmt(value: float | None, scale: float, digits: int) -> str:
    return "" if value is None else f"{value * scale:.{digits}f}"


@dataclass(frozen=True)
class EquityTable:
    """One measure's table: per group the count over its denominator, the estimate with its
    95% interval and the ratio to the reference group with its interval."""

    id: str
    title: str
    unit: str
    numerator: str
    denominator: str
    estimates: list[Estimate]
    scale: float = 100.0
    digits: int = 1
    ratio_name: str = "risk ratio"
    names: dict[str, str] = field(default_factory=dict)

    @property
    def has_ratio(self) -> bool:
        """Whether any group has a ratio to the reference (area tables compare no groups)."""
        return any(e.ratio is not None for e in self.estimates)

    def label(self, group: str) -> str:
        return f"{self.names[group]} ({group})" if group in self.names else group

    @staticmethod
    def _interval(low: float | None, high: float | None, scale: float, digits: int) -> str:
        if low is None or high is None:
            return ""
        return f"{_fmt(low, scale, digits)} to {_fmt(high, scale, digits)}"

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "group": self.label(e.group),
                "count": e.count,
                "denominator": e.denominator,
                "value": _fmt(e.value, self.scale, self.digits),
                "interval": self._interval(e.low, e.high, self.scale, self.digits),
                "ratio": _fmt(e.ratio, 1, 2),
                "ratio_interval": self._interval(e.ratio_low, e.ratio_high, 1, 2),
            }
            for e in self.estimates
        ]

    def chart(self, agency: str) -> dict[str, Any] | None:
        """The estimates with their intervals (None when no group has one: no empty chart)."""
        rows = [
            {
                "group": self.label(e.group),
                "value": round(e.value * self.scale, 4),
                "low": round((e.low or 0.0) * self.scale, 4),
                "high": round((e.high or 0.0) * self.scale, 4),
            }
            for e in self.estimates
            if e.value is not None and e.low is not None and e.high is not None
        ]
        if not rows:
            return None
        return {
            "type": "intervals",
            "title": f"{self.title}, {agency} (95% interval)",
            "label": f"{self.unit} (95% interval)",
            "unit": self.unit,
            "rows": rows,
        }


def equity_tables(block: EquityBlock, layer: AreaLayer, per: int = PER) -> list[EquityTable]:
    out = []
    if block.race_rates:
        out.append(
            EquityTable(
                "stop-rate-race", "Stops per resident by race", f"stops per {per:,} residents",
                "stops", "residents", block.race_rates, scale=1.0, digits=1,
                ratio_name="rate ratio",
            )
        )  # fmt: skip
    if block.area_rates:
        out.append(
            EquityTable(
                "stop-rate-area", f"Stops per resident by {layer.name}",
                f"stops per {per:,} residents", "stops", "residents", block.area_rates,
                scale=1.0, digits=1, ratio_name="rate ratio",
                names=dict(zip(layer.ids, layer.names, strict=True)),
            )
        )  # fmt: skip
    if block.result is not None:
        out += [
            EquityTable(
                "search-rate", "Search rate by race", "% of stops searched", "searched", "stops",
                block.result.search_rate,
            ),
            EquityTable(
                "hit-rate", "Hit rate by race (contraband found when searched)",
                "% of searches finding contraband", "contraband found", "searches",
                block.result.hit_rate,
            ),
        ]  # fmt: skip
        if not block.force_not_shared:
            out.append(
                EquityTable(
                    "force-rate", "Use of force per stop by race", "% of stops with force",
                    "stops with force", "stops", block.result.force_per_stop,
                )
            )  # fmt: skip
    return out
