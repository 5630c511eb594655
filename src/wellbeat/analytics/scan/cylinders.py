"""The cylinders a scan searches: circles around each location x temporal windows.

A circle is centred on a location and grows through its nearest neighbours; locations at the
same distance enter together (a circle is defined by its radius, so it never holds one of two
equidistant locations without the other). A circle is kept while it holds at most
``max_spatial_share`` of the cases (space-time permutation) or of the population (Poisson),
SaTScan's default maximum spatial cluster size being 50 %. Windows are runs of whole days,
``min_temporal_days`` (default 1) to ``max_temporal_days`` long (equal to the whole period
for both, the scan is purely spatial); a prospective scan keeps only the windows ending on the last
day of the study period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wellbeat.analytics.scan.problem import ScanInputError, ScanProblem

# A circle's weight may reach the limit up to float rounding of the cumulative sum.
_LIMIT_SLACK = 1e-9


@dataclass(frozen=True)
class Circles:
    """Every distinct-radius circle: circle ``r`` is ``orders[centre[r]][: size[r]]``."""

    orders: tuple[np.ndarray, ...]
    centre: np.ndarray
    size: np.ndarray
    radius: np.ndarray

    def __len__(self) -> int:
        return int(self.centre.shape[0])

    def members(self, circle: int) -> np.ndarray:
        return self.orders[int(self.centre[circle])][: int(self.size[circle])]


@dataclass(frozen=True)
class Windows:
    """Temporal windows as inclusive day indices ``start[w] .. end[w]``."""

    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return int(self.start.shape[0])

    @property
    def length(self) -> np.ndarray:
        return self.end - self.start + 1


def build_circles(problem: ScanProblem, weights: np.ndarray, max_share: float) -> Circles:
    """The circles around every location whose total ``weights`` stay within ``max_share``."""
    if not 0 < max_share <= 1:
        raise ScanInputError(f"max spatial share {max_share} must be in (0, 1]")
    zones = len(problem.locations)
    limit = max_share * float(weights.sum()) * (1 + _LIMIT_SLACK)
    index = np.arange(zones)
    orders: list[np.ndarray] = []
    centres: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    radii: list[np.ndarray] = []
    for centre in range(zones):
        distance = problem.distances_from(centre)
        order = np.lexsort((index, distance))
        ordered = distance[order]
        cumulative = np.cumsum(weights[order])
        # A prefix of length k is a circle when the next location is strictly farther.
        boundary = np.ones(zones, dtype=bool)
        boundary[:-1] = ordered[1:] > ordered[:-1]
        keep = boundary & (cumulative <= limit)
        # Beyond the first prefix over the limit no circle fits (weights are >= 0).
        over = np.flatnonzero(cumulative > limit)
        stop = int(over[0]) if over.size else zones
        lengths = np.flatnonzero(keep[:stop]) + 1
        orders.append(order[: int(lengths[-1])] if lengths.size else order[:0])
        centres.append(np.full(lengths.size, centre, dtype=np.int64))
        sizes.append(lengths.astype(np.int64))
        radii.append(ordered[lengths - 1])
    return Circles(
        orders=tuple(orders),
        centre=np.concatenate(centres),
        size=np.concatenate(sizes),
        radius=np.concatenate(radii),
    )


def build_windows(days: int, max_days: int, *, prospective: bool, min_days: int = 1) -> Windows:
    """Windows of ``min_days``..``max_days`` days within ``days`` days (ending on the last day
    if prospective)."""
    if max_days < 1:
        raise ScanInputError(f"max temporal window {max_days} must be at least 1 day")
    max_days = min(max_days, days)
    if not 1 <= min_days <= max_days:
        raise ScanInputError(
            f"min temporal window {min_days} must be between 1 and the max ({max_days} days)"
        )
    lengths = np.arange(min_days, max_days + 1, dtype=np.int64)
    if prospective:
        end = np.full(lengths.size, days - 1, dtype=np.int64)
        return Windows(start=end - lengths + 1, end=end)
    starts = [np.arange(0, days - length + 1, dtype=np.int64) for length in lengths]
    start = np.concatenate(starts)
    length_of = np.repeat(lengths, [s.size for s in starts])
    return Windows(start=start, end=start + length_of - 1)


def default_max_temporal_days(days: int) -> int:
    """SaTScan's default maximum temporal cluster size: 50 % of the study period (whole days)."""
    return max(1, days // 2)
