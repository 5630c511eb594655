"""Conditional permutation inference and false-discovery-rate control for local statistics.

Conditional randomisation (Anselin 1995): area i keeps its own value; its k_i neighbours'
values are replaced by k_i values drawn without replacement from the other n - 1 areas, R times.
As in PySAL ``esda.crand``, one table of R draws of ``max k_i`` positions in 0..n-2 is made and
shared by every area (area i reads position j as area j if j < i, else j + 1), drawn with
NumPy's legacy Mersenne Twister exactly as esda does without numba
(``np.random.seed(seed)``, then ``np.random.choice(n - 1, max_k, replace=False)`` per draw):
with the same seed and data, the pseudo p-values equal esda's.

The pseudo p-value is esda's ``p_sim`` (its "directed" alternative, the default of
``Moran_Local`` and ``G_Local``): with M the number of draws whose statistic is >= the observed
one, M is folded to R - M when fewer draws lie below (R - M < M), and p = (M + 1) / (R + 1).
That is the share of the smaller tail, so p_sim < 0.05 is a one-tailed test at 5 % in the
direction the data lean (two-sided at 10 %).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

Array = npt.NDArray[np.float64]

DEFAULT_PERMUTATIONS = 999
_TIE_TOLERANCE = 1e-12
_CHUNK_CELLS = 4_000_000
"""Work in blocks of about this many (area x draw x neighbour) cells (32 MB of float64)."""


def permutation_table(n: int, max_neighbours: int, permutations: int, seed: int) -> np.ndarray:
    """(permutations, max_neighbours) positions in 0..n-2, each row without repeats (esda)."""
    if permutations < 1:
        raise ValueError(f"permutations must be >= 1, got {permutations}")
    if max_neighbours > n - 1:
        raise ValueError(f"{max_neighbours} neighbours cannot be drawn from {n - 1} other areas")
    state = np.random.RandomState(seed)
    table = np.empty((permutations, max(max_neighbours, 1)), dtype=np.intp)
    for draw in range(permutations):
        table[draw, :max_neighbours] = state.choice(n - 1, size=max_neighbours, replace=False)
    return table[:, :max_neighbours]


def conditional_lag_counts(
    values: Array, neighbours: sparse.csr_matrix, direction: Array, table: np.ndarray
) -> npt.NDArray[np.int64]:
    """For each area, how many draws give a statistic >= the observed one.

    ``neighbours`` marks each area's neighbours (no diagonal); every neighbour of an area has
    the same weight (binary or row-standardised weights), and the statistics handled here are
    increasing in ``direction[i] * sum of the neighbours' values`` (the area's own term is fixed
    under conditional randomisation), so draws are compared on that plain sum. A draw within
    rounding (``_TIE_TOLERANCE`` relative to the largest possible sum) of the observed sum counts
    as a tie, hence as at least as extreme: the same values drawn in another order must not turn
    a tie into a miss. (esda compares rounded statistics, so on tied data, counts above all, a
    tied draw may count or not.) Areas whose ``direction`` is 0 (their statistic does not
    depend on the draw) count every draw.

    Cost O(n * R) in all instead of O(n * R * k): for the m areas with k neighbours (positions
    a_1 < ... < a_m), draw r sums ``low[r, :k]`` (table positions read as areas j < i) plus,
    for each column c, the change ``step[r, c]`` for the areas i <= table[r, c] (position j read
    as area j + 1), which is a prefix of a_1..a_m: a cumulative sum over that prefix spreads it.
    """
    n = values.size
    permutations = table.shape[0]
    cards = np.diff(neighbours.indptr)
    binary = sparse.csr_matrix(
        (np.ones(neighbours.nnz), neighbours.indices, neighbours.indptr), shape=(n, n)
    )
    observed = binary @ values
    tolerance = _TIE_TOLERANCE * cards * np.abs(values).max()
    low = values[table]  # the area at position j when j < i
    step = values[np.minimum(table + 1, n - 1)] - low  # ... and the change when j >= i
    low_sums = np.cumsum(low, axis=1)
    larger = np.full(n, permutations, dtype=np.int64)  # islands: every draw ties (sum 0)
    for k in np.unique(cards[cards > 0]).tolist():
        areas = np.flatnonzero(cards == k)
        m = areas.size
        sign = direction[areas][None, :]
        floor = sign * observed[areas][None, :] - tolerance[areas][None, :]
        counted = np.zeros(m, dtype=np.int64)
        block = max(1, _CHUNK_CELLS // (m + 1))
        for first in range(0, permutations, block):
            draws = np.arange(first, min(permutations, first + block))
            rows = np.arange(draws.size)
            changes = np.zeros((draws.size, m + 1))
            changes[:, 0] = step[draws, :k].sum(axis=1)
            for c in range(k):
                # The first area past table[r, c] no longer takes the change (one cell per
                # draw per column, so no write is lost).
                past = np.searchsorted(areas, table[draws, c], side="right")
                changes[rows, past] -= step[draws, c]
            sums = low_sums[draws, k - 1][:, None] + np.cumsum(changes[:, :m], axis=1)
            counted += np.count_nonzero(sign * sums >= floor, axis=0)
        larger[areas] = counted
    return larger


def folded_pseudo_p(larger: npt.NDArray[np.int64], permutations: int) -> Array:
    """esda's ``p_sim``: (min(M, R - M) + 1) / (R + 1), M draws at or above the observed value."""
    folded = np.where(permutations - larger < larger, permutations - larger, larger)
    return (folded + 1.0) / (permutations + 1.0)


def fdr_threshold(p_values: Array, alpha: float = 0.05) -> float:
    """Benjamini-Hochberg p-value cut-off, as ``esda.fdr``: reject where p < the cut-off.

    The cut-off is k * alpha / n for the largest k whose k-th smallest p-value is below it;
    when there is none, the Bonferroni bound alpha / n. NaN p-values (islands) are not tests.
    """
    p = np.asarray(p_values, dtype=np.float64)
    p = p[~np.isnan(p)]
    n = p.size
    if n == 0:
        return float(alpha)
    descending = np.sort(p)[::-1]
    cut = np.arange(n, 0, -1) * alpha / n
    below = np.flatnonzero(descending < cut)
    return float(cut[below[0]]) if below.size else float(alpha / n)


def benjamini_hochberg(p_values: Array) -> Array:
    """BH-adjusted p-values (q-values), as R's ``p.adjust(p, "BH")``; NaN stays NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    n = tested.size
    if n == 0:
        return adjusted
    order = np.argsort(p[tested])[::-1]
    scaled = p[tested][order] * n / np.arange(n, 0, -1)
    adjusted[tested[order]] = np.minimum(1.0, np.minimum.accumulate(scaled))
    return adjusted
