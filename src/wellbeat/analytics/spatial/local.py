"""Getis-Ord Gi* and local Moran's I with the analytical moments of R ``spdep``.

* ``gi_star``: ``spdep::localG`` on ``nb2listw(include.self(nb), style = "B")``: binary
  weights, each area in its own neighbourhood (Ord & Getis 1995, eq. 14-15).
* ``local_moran``: ``spdep::localmoran`` on ``nb2listw(nb, style = "W")`` (row-standardised),
  its defaults ``mlvar = TRUE`` and ``conditional = TRUE`` (the moments under conditional
  randomisation, Sokal, Oden & Thomson 1998, eq. A7-A8); ``conditional=False`` gives the total
  randomisation moments of Anselin (1995, eq. 13-14). spdep's Ii = esda's ``Is`` * n / (n - 1).

Both take the neighbour structure as an n x n sparse matrix whose non-zero entries mark
neighbours (``wellbeat.geo`` contiguity, k nearest, distance band); the weighting the method
needs is applied here, so the caller cannot mix them up. Formulas are in docs/methods.md.

Islands (areas with no neighbour) stay in the mean and variance of the values, as in spdep with
``zero.policy = TRUE``, but their own statistic, z and p-values are NaN: a neighbourhood of one
says nothing about clustering. (spdep returns NaN for local Moran there too; for Gi* it returns
the area's own standardised value.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.stats import norm

from wellbeat.analytics.spatial.inference import (
    DEFAULT_PERMUTATIONS,
    conditional_lag_counts,
    folded_pseudo_p,
    permutation_table,
)

Array = npt.NDArray[np.float64]


class SpatialInputError(ValueError):
    """Values or neighbours that a local statistic cannot be computed on."""


@dataclass(frozen=True, eq=False)
class GiStarResult:
    """Gi* per area, in the order of the values given."""

    g: Array
    """G*_i = sum_j w_ij x_j / sum_j x_j (self included)."""
    expected: Array
    variance: Array
    """E and Var of G*_i under the null (spdep ``localG`` internals)."""
    z: Array
    p_value: Array
    """Two-sided normal p-value of z."""
    p_sim: Array | None
    """Folded pseudo p-value from conditional permutations (None when not permuted)."""
    permutations: int
    islands: npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class LocalMoranResult:
    """Local Moran's I per area, in the order of the values given."""

    ii: Array
    expected: Array
    variance: Array
    z: Array
    p_value: Array
    """Two-sided normal p-value of z."""
    quadrant: npt.NDArray[np.str_]
    """HH, LL, HL, LH: the sign of x_i - mean, then of its spatial lag (esda / spdep "pysal")."""
    p_sim: Array | None
    permutations: int
    islands: npt.NDArray[np.bool_]


def _check(values: npt.ArrayLike, neighbours: sparse.spmatrix) -> tuple[Array, sparse.csr_matrix]:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise SpatialInputError(f"values must be one number per area, got shape {x.shape}")
    n = x.size
    if n < 3:
        raise SpatialInputError(f"local statistics need at least 3 areas, got {n}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise SpatialInputError(f"value at position {bad[0]} is {x[bad[0]]}; expected a number")
    if neighbours.shape != (n, n):
        raise SpatialInputError(f"neighbours are {neighbours.shape} for {n} values")
    structure = sparse.csr_matrix(neighbours, dtype=np.float64, copy=True)
    structure.setdiag(0)
    structure.eliminate_zeros()
    structure.data[:] = 1.0
    structure.sort_indices()
    if np.all(x == x[0]):
        raise SpatialInputError("all values are equal; a local statistic needs some variation")
    return x, structure


def _seed(seed: int | None) -> int:
    # esda draws a random seed in [12345, 12345000) when none is given; so do we.
    return int(np.random.default_rng().integers(12345, 12345000)) if seed is None else seed


def gi_star(
    values: npt.ArrayLike,
    neighbours: sparse.spmatrix,
    *,
    permutations: int = 0,
    seed: int | None = None,
) -> GiStarResult:
    """Getis-Ord Gi* with binary weights and self included, z identical to ``spdep::localG``.

    With ``permutations`` > 0 (999 is the usual number), also the conditional-permutation
    pseudo p-value of G*_i, equal to esda ``G_Local(star=True, transform="B")``'s ``p_sim``
    for the same ``seed``. Gi* is meant for values >= 0 (counts, rates).
    """
    x, structure = _check(values, neighbours)
    n = x.size
    islands = np.diff(structure.indptr) == 0
    weights = structure + sparse.identity(n, format="csr")  # include.self, style "B"
    lag = weights @ x
    w_sum = np.asarray(weights.sum(axis=1)).ravel()
    s1 = np.asarray(weights.multiply(weights).sum(axis=1)).ravel()
    mean = x.mean()
    s2 = np.sum((x - mean) ** 2) / n
    variance_lag = s2 * (n * s1 - w_sum**2) / (n - 1)
    total = x.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (lag - w_sum * mean) / np.sqrt(variance_lag)
        g = lag / total
        expected = w_sum * mean / total
        variance = variance_lag / total**2
    # An area whose neighbourhood is every area has no variance under randomisation: its z is
    # undefined (0/0), whatever sign rounding would give it. Binary weights: exact integers.
    z[islands | (n * s1 - w_sum**2 <= 0)] = np.nan
    p_value = 2.0 * norm.sf(np.abs(z))
    p_sim = None
    if permutations:
        table = permutation_table(
            n, int(np.diff(structure.indptr).max()), permutations, _seed(seed)
        )
        # z rises with the neighbours' sum; G*_i = sum / total may fall with it if the total is
        # negative, but the folded p-value is the same either way, so the sum decides.
        larger = conditional_lag_counts(x, structure, np.ones(n), table)
        p_sim = folded_pseudo_p(larger, permutations)
        p_sim[islands] = np.nan
    return GiStarResult(g, expected, variance, z, p_value, p_sim, permutations, islands)


def local_moran(
    values: npt.ArrayLike,
    neighbours: sparse.spmatrix,
    *,
    conditional: bool = True,
    permutations: int = 0,
    seed: int | None = None,
) -> LocalMoranResult:
    """Local Moran's I with row-standardised weights, identical to ``spdep::localmoran``.

    ``conditional`` picks spdep's default moments (conditional randomisation) or, when False,
    total randomisation. With ``permutations`` > 0, also the pseudo p-value equal to esda
    ``Moran_Local(transformation="r")``'s ``p_sim`` for the same ``seed`` (except that an area
    whose value equals the mean, where I_i = 0 whatever its neighbours, gets p_sim = 1; esda
    reports 1 / (R + 1) there).
    """
    x, structure = _check(values, neighbours)
    n = x.size
    cards = np.diff(structure.indptr)
    islands = cards == 0
    scale = np.divide(1.0, cards, out=np.zeros(n), where=cards > 0)
    weights = sparse.csr_matrix(sparse.diags(scale) @ structure)  # style "W"
    z = x - x.mean()
    lag = weights @ z
    m2 = np.sum(z * z) / n  # mlvar = TRUE: the variance with divisor n
    ii = z / m2 * lag
    w_sum = np.asarray(weights.sum(axis=1)).ravel()
    w2_sum = np.asarray(weights.multiply(weights).sum(axis=1)).ravel()
    if conditional:
        expected = -(z**2 * w_sum) / ((n - 1) * m2)
        variance = (
            (z / m2) ** 2 * (n / (n - 2)) * (w2_sum - w_sum**2 / (n - 1)) * (m2 - z**2 / (n - 1))
        )
    else:
        b2 = (np.sum(z**4) / n) / m2**2
        expected = -w_sum / (n - 1)
        variance = (
            (n - b2) / (n - 1) * w2_sum
            + (2 * b2 - n) / ((n - 1) * (n - 2)) * (w_sum**2 - w2_sum)
            - expected**2
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z_score = (ii - expected) / np.sqrt(variance)
    # No variance to speak of (the area neighbours every other one, or every other value is
    # the same): z is undefined, not the +-inf or noise that rounding leaves.
    structural = w2_sum - w_sum**2 / (n - 1)
    degenerate = np.abs(structural) <= 1e-12 * np.maximum(w2_sum, 1e-300)
    if conditional:
        spread = m2 - z**2 / (n - 1)
        degenerate |= spread <= 1e-12 * m2
    z_score[islands | degenerate] = np.nan
    for column in (ii, expected, variance):
        column[islands] = np.nan
    p_value = 2.0 * norm.sf(np.abs(z_score))
    high, high_lag = z > 0, lag > 0
    quadrant = np.where(high, np.where(high_lag, "HH", "HL"), np.where(high_lag, "LH", "LL"))
    quadrant[islands] = ""
    p_sim = None
    if permutations:
        table = permutation_table(n, int(cards.max()), permutations, _seed(seed))
        larger = conditional_lag_counts(z, weights, np.sign(z), table)
        p_sim = folded_pseudo_p(larger, permutations)
        p_sim[z == 0] = 1.0
        p_sim[islands] = np.nan
    return LocalMoranResult(
        ii, expected, variance, z_score, p_value, quadrant, p_sim, permutations, islands
    )


__all__ = [
    "DEFAULT_PERMUTATIONS",
    "GiStarResult",
    "LocalMoranResult",
    "SpatialInputError",
    "gi_star",
    "local_moran",
]
