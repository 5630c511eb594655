"""How fine a place or a time may be: the order of area layers and of periods.

Layers nest (a neighbourhood lies in a beat, a beat in a district), but not always in a line: a
census tract and a police beat are unrelated. So the layer order is a partial order, read from
the parent-id properties area files carry (a neighbourhood feature with a ``district`` property
lies in a district) or given as a finer -> coarser list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from wellbeat.events.periods import (
    DEFAULT_TIME_ZONE,
    PERIOD_RANK,
    PERIODS,
    coarsest_period,
    is_local_midnight,
    local_date,
    next_period,
    period_allowed,
    period_start,
)

__all__ = [
    "PERIODS",
    "PERIOD_RANK",
    "LayerOrder",
    "coarsest_period",
    "next_period_start",
    "period_allowed",
    "period_start",
    "snap_window",
]

next_period_start = next_period
"""First day of the period after the one containing a day (``events.periods.next_period``)."""


def _local_day(value: date | datetime, time_zone: str) -> tuple[date, bool]:
    """The local day of a bound and whether the bound is exactly its start (a ``date``, or
    an instant at that local midnight)."""
    if isinstance(value, datetime):
        day = local_date(value, time_zone)
        return day, is_local_midnight(value, time_zone)
    return value, True


def snap_window(
    start: date | datetime | None,
    end: date | datetime | None,
    period: str,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> tuple[date | None, date | None]:
    """Widen ``[start, end)`` to whole local periods of ``time_zone``, as local days: the start
    moves back to the first day of its period, the end forward to the first day of the next
    period unless it is one already. Bounds are local days (``date``) or instants
    (``datetime``, naive = UTC). Open ends stay open."""
    snapped_start = None
    if start is not None:
        snapped_start = period_start(_local_day(start, time_zone)[0], period)
    snapped_end = None
    if end is not None:
        day, whole = _local_day(end, time_zone)
        snapped_end = (
            day if whole and period_start(day, period) == day else next_period(day, period)
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
