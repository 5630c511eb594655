"""How fine a place or a time may be: the order of area layers and of periods.

Layers nest (a neighbourhood lies in a beat, a beat in a district), but not always in a line: a
census tract and a police beat are unrelated. So the layer order is a partial order, read from
the parent-id properties area files carry (a neighbourhood feature with a ``district`` property
lies in a district) or given as a finer -> coarser list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

PERIODS = ("day", "week", "mmwr_week", "month", "quarter", "year")
"""The lake's periods, finer to coarser (see docs/engine.md)."""

PERIOD_RANK: dict[str, int] = {
    "day": 0,
    "week": 1,
    "mmwr_week": 1,
    "month": 2,
    "quarter": 3,
    "year": 4,
}
"""Resolution of each period: ISO weeks and MMWR (Sunday-start) weeks are equally fine."""


def period_allowed(requested: str, finest: str) -> bool:
    """True when ``requested`` is no finer than ``finest``."""
    return PERIOD_RANK[requested] >= PERIOD_RANK[finest]


def coarsest_period(periods: Iterable[str], prefer: str) -> str:
    """The coarsest of ``periods``; ``prefer`` wins a tie (so a week request stays ISO weeks)."""
    listed = list(periods)
    top = max(PERIOD_RANK[p] for p in listed)
    if PERIOD_RANK[prefer] == top:
        return prefer
    return next(p for p in listed if PERIOD_RANK[p] == top)


def period_start(day: date, period: str) -> date:
    """First day of the ``period`` containing ``day``: the lake's calendar (ISO weeks start on
    Monday, MMWR weeks on Sunday; UTC days, docs/engine.md)."""
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
    if period == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"period {period!r} is not one of {', '.join(PERIODS)}")


def next_period_start(day: date, period: str) -> date:
    """First day of the period after the one containing ``day``."""
    start = period_start(day, period)
    if period == "day":
        return start + timedelta(days=1)
    if period in ("week", "mmwr_week"):
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def snap_window(
    start: datetime | None, end: datetime | None, period: str
) -> tuple[datetime | None, datetime | None]:
    """Widen ``[start, end)`` to whole periods (UTC midnights): the start moves back to the
    start of its period, the end forward to the start of the next period unless it is one
    already. Open ends stay open."""
    snapped_start = None if start is None else _midnight(period_start(_utc(start).date(), period))
    snapped_end = None
    if end is not None:
        utc_end = _utc(end)
        first = period_start(utc_end.date(), period)
        snapped_end = (
            utc_end
            if utc_end == _midnight(first)
            else _midnight(next_period_start(utc_end.date(), period))
        )
    return snapped_start, snapped_end


class LayerLike(Protocol):
    """What the layer order needs from ``wellbeat.geo.AreaLayer``: its name and properties."""

    @property
    def name(self) -> str: ...

    @property
    def properties(self) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True)
class LayerOrder:
    """Which area layers nest in which: ``coarser[x]`` lists every layer containing x's areas."""

    coarser: Mapping[str, frozenset[str]]

    @classmethod
    def from_sequence(cls, finer_to_coarser: Sequence[str]) -> LayerOrder:
        """A chain, e.g. ``["neighbourhood", "beat", "district"]`` (a deployment setting)."""
        if len(set(finer_to_coarser)) != len(finer_to_coarser):
            raise ValueError(f"layer order lists a layer twice: {list(finer_to_coarser)}")
        return cls(
            {
                layer: frozenset(finer_to_coarser[i + 1 :])
                for i, layer in enumerate(finer_to_coarser)
            }
        )

    @classmethod
    def from_parents(cls, parents: Mapping[str, Iterable[str]]) -> LayerOrder:
        """From direct parents (``{"neighbourhood": ["beat"], "beat": ["district"]}``),
        closed transitively; a cycle is an error (two layers cannot each contain the other)."""
        direct = {layer: set(ps) for layer, ps in parents.items()}
        for ps in list(direct.values()):
            for p in ps:
                direct.setdefault(p, set())
        closed: dict[str, frozenset[str]] = {}
        for layer in direct:
            seen: set[str] = set()
            stack = list(direct[layer])
            while stack:
                p = stack.pop()
                if p == layer:
                    raise ValueError(f"area layers nest in a cycle through {layer!r}")
                if p not in seen:
                    seen.add(p)
                    stack.extend(direct[p])
            closed[layer] = frozenset(seen)
        return cls(closed)

    @classmethod
    def from_area_layers(cls, layers: Iterable[LayerLike]) -> LayerOrder:
        """Infer nesting from area files: layer A lies in layer B when every feature of A
        carries a non-empty property named B (the parent area's id)."""
        listed = list(layers)
        names = {layer.name for layer in listed}
        parents: dict[str, set[str]] = {}
        for layer in listed:
            parents[layer.name] = {
                other
                for other in names
                if other != layer.name
                and layer.properties
                and all(props.get(other) not in (None, "") for props in layer.properties)
            }
        return cls.from_parents(parents)

    @property
    def layers(self) -> tuple[str, ...]:
        """Known layers, finest first (by how many layers contain them), then by name."""
        return tuple(sorted(self.coarser, key=lambda x: (-len(self.coarser[x]), x)))

    def allowed(self, requested: str, finest: str) -> bool:
        """True when ``requested`` is ``finest`` or a layer that contains ``finest``'s areas."""
        return requested == finest or requested in self.coarser.get(finest, frozenset())

    def join(self, layers: Iterable[str]) -> str | None:
        """The finest layer at least as coarse as every one of ``layers``; None when there is
        none (unrelated layers such as tracts and beats) or it is not unique."""
        wanted = set(layers)
        candidates = [c for c in self.coarser if all(self.allowed(c, w) for w in wanted)]
        finest = [c for c in candidates if all(self.allowed(o, c) for o in candidates)]
        return finest[0] if len(finest) == 1 else None
