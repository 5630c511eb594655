"""Hot/cold spot bins, Moran quadrant classes, Mann-Kendall, emerging hot-spot categories."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats

from wellbeat.analytics.spatial import (
    EMERGING_CATEGORIES,
    HOTSPOT_CLASSES,
    SpatialInputError,
    emerging_hotspots,
    gi_star,
    hotspot_classes,
    local_moran,
    mann_kendall,
    moran_classes,
)
from wellbeat.analytics.spatial.emerging import _categorise


def test_hotspot_bins_follow_arcgis_levels() -> None:
    z = np.array([3.0, 2.2, 1.7, 0.5, -1.7, -2.2, -3.0, 1.0])
    p = np.array([0.002, 0.03, 0.08, 0.6, 0.08, 0.03, 0.002, np.nan])
    assert hotspot_classes(z, p).tolist() == [
        "hot spot 99%", "hot spot 95%", "hot spot 90%", "not significant",
        "cold spot 90%", "cold spot 95%", "cold spot 99%", "no neighbours",
    ]  # fmt: skip
    assert set(hotspot_classes(z, p).tolist()) <= set(HOTSPOT_CLASSES)


def test_significance_is_strict_as_in_esda() -> None:
    assert hotspot_classes([2.0], [0.05]).tolist() == ["hot spot 90%"]
    assert moran_classes(["HH"], [0.05]).tolist() == ["not significant"]
    assert moran_classes(["HL", "LL"], [0.049, 0.2]).tolist() == ["HL", "not significant"]


def test_fdr_makes_classes_stricter() -> None:
    p = np.array([0.001, 0.02, 0.04, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    z = np.ones(10)
    plain = hotspot_classes(z, p)
    corrected = hotspot_classes(z, p, fdr=True)
    assert plain[:3].tolist() == ["hot spot 99%", "hot spot 95%", "hot spot 95%"]
    # FDR cut-offs: 1 %: none of the sorted p is below k * 0.001, so alpha / n = 0.001 (and
    # 0.001 is not below it); 5 %: 0.005 (0.001 < 0.005, 0.02 > 0.01); 10 %: 0.01.
    assert corrected[:3].tolist() == ["hot spot 95%", "not significant", "not significant"]


def test_mann_kendall_matches_scipy_kendalltau() -> None:
    rng = np.random.default_rng(3)
    series = np.vstack([rng.integers(0, 4, 15), np.arange(15.0), rng.normal(size=15)])
    raw = mann_kendall(series, continuity=False)
    corrected = mann_kendall(series)
    t = np.arange(15)
    for row in range(3):
        reference = stats.kendalltau(t, series[row], method="asymptotic")
        assert raw.tau[row] == pytest.approx(reference.statistic, abs=1e-12)
        assert raw.p_value[row] == pytest.approx(reference.pvalue, abs=1e-12)
        s = raw.s[row]
        assert corrected.z[row] == pytest.approx((s - np.sign(s)) / np.sqrt(raw.variance[row]))
    assert raw.s[1] == 15 * 14 / 2  # a strictly increasing series: every pair concordant
    # Hand count: x = 1, 3, 2, 2 -> pairs (1,3)+ (1,2)+ (1,2)+ (3,2)- (3,2)- (2,2)0: S = 1;
    # Var = (4*3*13 - 2*1*9) / 18 = 138 / 18; z with continuity = 0.
    small = mann_kendall([1.0, 3.0, 2.0, 2.0])
    assert small.s[0] == 1 and small.variance[0] == pytest.approx(138 / 18) and small.z[0] == 0


def _category(hot: str, cold: str = "", up: bool = False, down: bool = False) -> str:
    """One area: ``hot``/``cold`` are strings of 0/1 per period, oldest first."""
    h = np.array([[c == "1" for c in hot]])
    c = np.array([[ch == "1" for ch in (cold or "0" * len(hot))]])
    first = _categorise(h, c, np.array([up]), np.array([down]), "hot")[0]
    return first or "-"


@pytest.mark.parametrize(
    ("hot", "cold", "up", "down", "expected"),
    [
        ("0000000001", "", False, False, "new hot spot"),
        ("0000000111", "", False, False, "consecutive hot spot"),
        ("1111111111", "", True, False, "intensifying hot spot"),
        ("1111111111", "", False, False, "persistent hot spot"),
        ("1111111111", "", False, True, "diminishing hot spot"),
        ("0100100011", "", False, False, "sporadic hot spot"),
        ("0100100011", "0010000000", False, False, "oscillating hot spot"),
        ("1111111110", "", False, False, "historical hot spot"),
        ("0000000110", "", False, False, "-"),
        ("0111111111", "", False, False, "persistent hot spot"),  # 90 % exactly
        ("1011111111", "", False, False, "persistent hot spot"),
        ("0011111111", "", False, False, "consecutive hot spot"),  # 80 %: a run
    ],
)
def test_emerging_rules(hot: str, cold: str, up: bool, down: bool, expected: str) -> None:
    assert _category(hot, cold, up, down) == expected


def _line(n: int) -> sparse.csr_matrix:
    """n areas in a row, each the neighbour of the next."""
    diagonal = np.ones(n - 1)
    return sparse.diags([diagonal, diagonal], [-1, 1], format="csr")


def test_emerging_hotspots_end_to_end() -> None:
    """30 areas on a line, 12 periods: a cluster at 3-5 grows steadily, 10-12 appears in the
    last period only, 25-27 was hot for 11 periods and not in the last."""
    rng = np.random.default_rng(11)
    periods = 12
    values = rng.poisson(5, (30, periods)).astype(float)
    values[3:6] += np.linspace(20, 40, periods)
    values[10:13, -1] += 40
    values[25:28, :-1] += 25
    result = emerging_hotspots(values, _line(30), alpha=0.05)
    assert set(result.category.tolist()) <= set(EMERGING_CATEGORIES)
    assert result.category[4] == "intensifying hot spot"
    assert result.trend.s[4] > 0 and result.trend.p_value[4] < 0.05
    assert result.category[11] == "new hot spot"
    assert result.category[26] == "historical hot spot"
    assert result.z.shape == (30, periods)
    np.testing.assert_allclose(result.z[:, 0], gi_star(values[:, 0], _line(30)).z)


def test_a_steady_cluster_is_persistent_and_a_steady_hole_a_persistent_cold_spot() -> None:
    rng = np.random.default_rng(4)
    values = rng.poisson(20, (30, 10)).astype(float)
    values[5:8] += 30
    values[20:23] -= 18
    result = emerging_hotspots(values, _line(30))
    assert result.category[6] == "persistent hot spot"
    assert result.category[21] == "persistent cold spot"
    assert np.sum(result.category != "no pattern detected") <= 8


def test_emerging_hotspots_with_permutations_is_reproducible() -> None:
    values = np.random.default_rng(2).poisson(4, (20, 5)).astype(float)
    first = emerging_hotspots(values, _line(20), permutations=99, seed=3)
    again = emerging_hotspots(values, _line(20), permutations=99, seed=3)
    np.testing.assert_array_equal(first.p, again.p)
    assert np.all((first.p >= 0.01) & (first.p <= 1))


def test_islands_have_no_statistic_but_count_in_the_mean() -> None:
    structure = _line(6).tolil()
    structure[5, 4] = structure[4, 5] = 0  # area 5 is cut off
    structure = structure.tocsr()
    values = np.array([1.0, 2.0, 8.0, 9.0, 3.0, 100.0])
    g = gi_star(values, structure, permutations=99, seed=1)
    lisa = local_moran(values, structure, permutations=99, seed=1)
    assert g.islands.tolist() == [False] * 5 + [True]
    assert np.isnan(g.z[5]) and np.isnan(lisa.z[5]) and np.isnan(g.p_sim[5])  # type: ignore[index]
    assert lisa.quadrant[5] == ""
    assert hotspot_classes(g.z, g.p_value)[5] == "no neighbours"
    assert moran_classes(lisa.quadrant, lisa.p_value)[5] == "no neighbours"
    series = np.column_stack([values, values[::-1], values + 1.0])
    assert emerging_hotspots(series, structure).category[5] == "no neighbours"
    # The island's 100 still weighs in the mean: area 3 (9, among 8 and 3) is below it.
    assert lisa.quadrant[3] == "LL"


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(SpatialInputError, match="all values are equal"):
        gi_star(np.ones(5), _line(5))
    with pytest.raises(SpatialInputError, match="position 2"):
        local_moran(np.array([1.0, 2.0, np.nan, 4.0]), _line(4))
    with pytest.raises(SpatialInputError, match="neighbours are"):
        gi_star(np.arange(5.0), _line(4))
    with pytest.raises(SpatialInputError, match="at least 3 periods"):
        mann_kendall([1.0, 2.0])
