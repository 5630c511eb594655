"""Emerging hot-spot analysis: Gi* in every period, a Mann-Kendall trend per area, categories.

Follows ArcGIS Pro's Emerging Hot Spot Analysis ("How Emerging Hot Spot Analysis works"):
Gi* z-scores are computed for each period over the same neighbours, the Mann-Kendall test is
run on each area's series of z-scores (is clustering of high values intensifying?), and each
area gets one category from the significant hot/cold periods and the trend. The rules, in the
order they are tried (first match wins; ``share`` = significant hot periods / periods):

=========================  ===============================================================
new hot spot               hot in the final period only (never hot before)
consecutive hot spot       a single uninterrupted run of >= 2 hot periods ending with the
                           final one, never hot before that run, share < 90 %
intensifying hot spot      share >= 90 %, hot in the final period, z trend up (significant)
persistent hot spot        share >= 90 %, hot in the final period, no significant trend
diminishing hot spot       share >= 90 %, hot in the final period, z trend down (significant)
sporadic hot spot          hot in the final period, share < 90 %, never a cold spot
oscillating hot spot       hot in the final period, share < 90 %, a cold spot at least once
historical hot spot        not hot in the final period, share >= 90 %
=========================  ===============================================================

Cold spots mirror them (cold for hot; an intensifying cold spot's z trends down). Anything else
is "no pattern detected"; an area without neighbours is "no neighbours". ArcGIS's definition
of a persistent spot does not say "including the final period"; without it a persistent area
could never be historical, so it is read in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.stats import norm

from wellbeat.analytics.spatial.classes import NO_NEIGHBOURS
from wellbeat.analytics.spatial.local import SpatialInputError, gi_star

Array = npt.NDArray[np.float64]

PERSISTENT_SHARE = 0.9
NO_PATTERN = "no pattern detected"
PATTERNS = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)
EMERGING_CATEGORIES: tuple[str, ...] = (
    *(f"{pattern} hot spot" for pattern in PATTERNS),
    *(f"{pattern} cold spot" for pattern in PATTERNS),
    NO_PATTERN,
    NO_NEIGHBOURS,
)


@dataclass(frozen=True, eq=False)
class MannKendallResult:
    """Mann-Kendall trend test per series (rows)."""

    s: Array
    """S = sum over pairs i < j of sign(x_j - x_i)."""
    variance: Array
    """Var(S) with the correction for tied values."""
    z: Array
    """(S - sign(S)) / sqrt(Var S): with the continuity correction (Kendall 1975)."""
    p_value: Array
    """Two-sided normal p-value of z."""
    tau: Array
    """Kendall's tau-b between time and value (= scipy.stats.kendalltau(t, x))."""


def mann_kendall(series: npt.ArrayLike, *, continuity: bool = True) -> MannKendallResult:
    """Mann-Kendall trend test on each row of ``series`` (areas x periods), vectorised.

    As R ``Kendall::MannKendall`` and pymannkendall's ``original_test`` (normal approximation,
    tie-corrected variance, continuity correction unless ``continuity=False``; without it z and p
    equal ``scipy.stats.kendalltau(t, x, method="asymptotic")``).
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    rows, t = x.shape
    if t < 3:
        raise SpatialInputError(f"a trend test needs at least 3 periods, got {t}")
    if not np.isfinite(x).all():
        raise SpatialInputError("a trend series contains a missing or infinite value")
    upper_i, upper_j = np.triu_indices(t, k=1)
    s = np.sign(x[:, upper_j] - x[:, upper_i]).sum(axis=1)
    tie_term = np.zeros(rows)
    tie_pairs = np.zeros(rows)
    ordered = np.sort(x, axis=1)
    for row in range(rows):
        _, sizes = np.unique(ordered[row], return_counts=True)
        sizes = sizes[sizes > 1].astype(np.float64)
        tie_term[row] = np.sum(sizes * (sizes - 1) * (2 * sizes + 5))
        tie_pairs[row] = np.sum(sizes * (sizes - 1) / 2)
    variance = (t * (t - 1) * (2 * t + 5) - tie_term) / 18.0
    numerator = s - np.sign(s) if continuity else s
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, numerator / np.sqrt(variance), 0.0)
        pairs = t * (t - 1) / 2
        tau = np.where(tie_pairs < pairs, s / np.sqrt(pairs * (pairs - tie_pairs)), np.nan)
    return MannKendallResult(s, variance, z, 2.0 * norm.sf(np.abs(z)), tau)


@dataclass(frozen=True, eq=False)
class EmergingResult:
    """Per area: its category, the Gi* z and p of every period, and the trend of the z's."""

    category: npt.NDArray[np.str_]
    z: Array
    """(areas, periods) Gi* z-scores."""
    p: Array
    """(areas, periods) p-values used for significance (p_sim when permuting)."""
    trend: MannKendallResult
    hot: npt.NDArray[np.bool_]
    cold: npt.NDArray[np.bool_]


def _categorise(
    hot: npt.NDArray[np.bool_],
    cold: npt.NDArray[np.bool_],
    trend_up: npt.NDArray[np.bool_],
    trend_down: npt.NDArray[np.bool_],
    kind: str,
) -> npt.NDArray[np.object_]:
    """Categories for one side (``kind`` 'hot' with hot/cold as given, or mirrored for 'cold')."""
    areas, periods = hot.shape
    share = hot.sum(axis=1) / periods
    final = hot[:, -1]
    # Length of the run of hot periods that ends with the final one.
    not_hot_positions = np.where(~hot, np.arange(periods)[None, :], -1)
    last_gap = not_hot_positions.max(axis=1)
    run = periods - 1 - last_gap
    # Hot before that run: the first hot period comes before the last period that was not hot.
    before_run = hot.any(axis=1) & (np.argmax(hot, axis=1) < last_gap)
    ever_other = cold.any(axis=1)
    many = share >= PERSISTENT_SHARE - 1e-12
    rules = [
        ("new", final & (hot.sum(axis=1) == 1)),
        ("consecutive", final & (run >= 2) & ~before_run & ~many),
        ("intensifying", many & final & trend_up),
        ("persistent", many & final & ~trend_up & ~trend_down),
        ("diminishing", many & final & trend_down),
        ("sporadic", final & ~many & ~ever_other),
        ("oscillating", final & ~many & ever_other),
        ("historical", ~final & many),
    ]
    category = np.full(areas, "", dtype=object)
    for pattern, applies in rules:
        category[(category == "") & applies] = f"{pattern} {kind} spot"
    return category


def emerging_hotspots(
    values: npt.ArrayLike,
    neighbours: sparse.spmatrix,
    *,
    alpha: float = 0.05,
    trend_alpha: float = 0.05,
    permutations: int = 0,
    seed: int | None = None,
) -> EmergingResult:
    """Emerging hot-spot categories for ``values`` (areas x periods, oldest period first).

    A period is a significant hot (cold) spot for an area when its Gi* p-value (analytical, or
    the pseudo p-value with ``permutations``) is below ``alpha`` and z > 0 (< 0). A period in
    which every area has the same value has no hot or cold spot (z = 0, p = 1).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2:
        raise SpatialInputError(f"values must be areas x periods, got shape {x.shape}")
    areas, periods = x.shape
    z = np.zeros((areas, periods))
    p = np.ones((areas, periods))
    for period in range(periods):
        column = x[:, period]
        if np.all(column == column[0]):
            continue
        result = gi_star(
            column,
            neighbours,
            permutations=permutations,
            seed=None if seed is None else seed + period,
        )
        z[:, period] = result.z
        p[:, period] = result.p_sim if result.p_sim is not None else result.p_value
    islands = np.isnan(z).any(axis=1)
    z_filled = np.nan_to_num(z, nan=0.0)
    significant = np.nan_to_num(p, nan=1.0) < alpha
    hot = significant & (z_filled > 0)
    cold = significant & (z_filled < 0)
    trend = mann_kendall(z_filled)
    up = (trend.p_value < trend_alpha) & (trend.s > 0)
    down = (trend.p_value < trend_alpha) & (trend.s < 0)
    category = _categorise(hot, cold, up, down, "hot")
    cold_category = _categorise(cold, hot, down, up, "cold")
    category = np.where(category == "", cold_category, category)
    category[category == ""] = NO_PATTERN
    category[islands] = NO_NEIGHBOURS
    return EmergingResult(category.astype(str), z, p, trend, hot, cold)
