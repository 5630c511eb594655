"""Invariants of the local statistics (Hypothesis): the fast permutation count equals a plain
loop over areas and draws, and z-scores do not depend on the units of the values."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from wellbeat.analytics.spatial import gi_star, local_moran
from wellbeat.analytics.spatial.inference import conditional_lag_counts, permutation_table


@st.composite
def graphs(draw: st.DrawFn) -> tuple[np.ndarray, sparse.csr_matrix, int]:
    """Integer values (ties likely) on a random symmetric neighbour graph, and a seed."""
    n = draw(st.integers(min_value=4, max_value=25))
    values = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=float)
    pairs = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=60)
    )
    rows = [i for i, j in pairs if i != j] + [j for i, j in pairs if i != j]
    cols = [j for i, j in pairs if i != j] + [i for i, j in pairs if i != j]
    structure = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    structure.data[:] = 1.0
    return values, structure, draw(st.integers(0, 2**31 - 1))


def _plain_counts(values: np.ndarray, structure: sparse.csr_matrix, direction: np.ndarray,
                  table: np.ndarray) -> np.ndarray:  # fmt: skip
    """esda's conditional randomisation written out: area by area, draw by draw."""
    n = values.size
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        neighbours = structure[i].indices
        k = neighbours.size
        if k == 0:
            counts[i] = table.shape[0]
            continue
        others = np.delete(values, i)
        observed = values[neighbours].sum()
        for draw in table:
            drawn = others[draw[:k]].sum()
            counts[i] += direction[i] * drawn >= direction[i] * observed
    return counts


@settings(max_examples=60, deadline=None)
@given(graphs(), st.integers(1, 40))
def test_fast_count_equals_the_plain_loop(
    case: tuple[np.ndarray, sparse.csr_matrix, int], permutations: int
) -> None:
    values, structure, seed = case
    width = int(np.diff(structure.indptr).max())
    table = permutation_table(values.size, width, permutations, seed)
    direction = np.sign(values - values.mean())
    fast = conditional_lag_counts(values, structure, direction, table)
    np.testing.assert_array_equal(fast, _plain_counts(values, structure, direction, table))


@settings(max_examples=40, deadline=None)
@given(graphs(), st.floats(0.01, 1000), st.floats(-50, 50))
def test_z_does_not_depend_on_units(
    case: tuple[np.ndarray, sparse.csr_matrix, int], scale: float, shift: float
) -> None:
    values, structure, _ = case
    if np.all(values == values[0]):
        return
    g, g_scaled = gi_star(values, structure), gi_star(values * scale, structure)
    np.testing.assert_allclose(g.z, g_scaled.z, atol=1e-6, equal_nan=True)
    lisa = local_moran(values, structure)
    moved = local_moran(values * scale + shift, structure)
    # An area exactly at the mean has I = E = Var = 0 (z undefined); after the shift rounding
    # may move it off the mean, so compare the others. Shifting values of 0.01 by 50 costs
    # about seven digits to cancellation, hence 1e-6 (z is of order 1).
    off_mean = values * values.size != values.sum()
    np.testing.assert_allclose(lisa.z[off_mean], moved.z[off_mean], atol=1e-6, equal_nan=True)
    clear = np.abs(np.nan_to_num(lisa.ii)) > 1e-9
    assert lisa.quadrant[clear].tolist() == moved.quadrant[clear].tolist()


def test_an_area_neighbouring_every_other_has_no_z() -> None:
    """Its neighbourhood is the whole map: no variance under randomisation, z undefined (NaN),
    never the +-inf that rounding can leave."""
    n = 6
    rows = [0] * (n - 1) + list(range(1, n))
    cols = list(range(1, n)) + [0] * (n - 1)
    star = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    values = np.array([0.1, 0.3, 0.7, 0.2, 0.9, 0.4]) * 1000 + 50
    assert np.isnan(gi_star(values, star).z[0])
    assert np.isnan(local_moran(values, star).z[0])
    assert np.isfinite(gi_star(values, star).z[1:]).all()
