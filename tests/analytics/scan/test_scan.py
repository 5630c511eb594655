"""The space-time scan against a brute-force reference, a worked example and its properties."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from wellbeat.analytics.scan import (
    ScanInputError,
    Scanner,
    ScanProblem,
    ScanSettings,
    log_likelihood_ratio,
    p_value,
    problem_from_cases,
    scan,
)

START = date(2024, 3, 1)


def random_problem(seed: int, zones: int = 9, days: int = 12, rate: float = 0.4) -> ScanProblem:
    rng = np.random.default_rng(seed)
    # Integer coordinates on a small grid make equidistant neighbours (ties) common.
    coordinates = rng.integers(0, 5, size=(zones, 2)).astype(np.float64)
    return ScanProblem(
        locations=tuple(f"L{i}" for i in range(zones)),
        coordinates=coordinates,
        start=START,
        counts=rng.poisson(rate, size=(zones, days)).astype(np.int64),
        population=rng.integers(50, 500, size=zones).astype(np.float64),
    )


def brute_force(
    problem: ScanProblem, counts: np.ndarray, settings: ScanSettings, max_days: int
) -> tuple[float, set[tuple[frozenset[int], int, int]]]:
    """Every cylinder enumerated naively: the largest GLR and the cylinders reaching it.

    Circles: for each centre and each distinct distance r, the locations within r, kept if
    their cases (permutation) or population (Poisson) are at most the maximum share. Windows:
    every run of min_temporal_days..max_days days (ending on the last day if prospective).
    Expected counts and the GLR straight from their definitions, one cylinder at a time.
    """
    zones, days = counts.shape
    total = int(counts.sum())
    zone_cases = counts.sum(axis=1)
    day_cases = counts.sum(axis=0)
    poisson = settings.model == "poisson"
    assert problem.population is not None
    weight = problem.population if poisson else zone_cases
    limit = settings.max_spatial_share * weight.sum()
    circles: set[frozenset[int]] = set()
    for centre in range(zones):
        distance = [
            math.dist(problem.coordinates[centre], problem.coordinates[z]) for z in range(zones)
        ]
        for radius in sorted(set(distance)):
            members = frozenset(z for z in range(zones) if distance[z] <= radius)
            if sum(weight[z] for z in members) <= limit + 1e-9:
                circles.add(members)
    windows = [
        (s, e)
        for e in range(days)
        for s in range(days)
        if settings.min_temporal_days <= e - s + 1 <= max_days
        and (not settings.prospective or e == days - 1)
    ]
    best = 0.0
    argbest: set[tuple[frozenset[int], int, int]] = set()
    for members in circles:
        for s, e in windows:
            c = sum(int(counts[z, d]) for z in members for d in range(s, e + 1))
            if poisson:
                share = sum(problem.population[z] for z in members) / problem.population.sum()
                mu = total * share * (e - s + 1) / days
            else:
                mu = sum(zone_cases[z] for z in members) * day_cases[s : e + 1].sum() / total
            if c <= mu or c < settings.min_cases:
                continue
            llr = c * math.log(c / mu)
            if total > c:
                llr += (total - c) * math.log((total - c) / (total - mu))
            if llr > best + 1e-9:
                best, argbest = llr, {(members, s, e)}
            elif abs(llr - best) <= 1e-9:
                argbest.add((members, s, e))
    return best, argbest


CASES = [
    (model, prospective, share, min_days, max_days, seed)
    for model in ("space-time-permutation", "poisson")
    for prospective in (False, True)
    for share, min_days, max_days, seed in (
        (0.5, 1, 4, 1), (0.3, 1, 6, 2), (1.0, 1, 12, 3), (0.5, 3, 5, 4), (0.5, 12, 12, 5)
    )
]  # fmt: skip


@pytest.mark.parametrize(("model", "prospective", "share", "min_days", "max_days", "seed"), CASES)
def test_test_statistic_matches_brute_force(
    model: str, prospective: bool, share: float, min_days: int, max_days: int, seed: int
) -> None:
    problem = random_problem(seed)
    settings = ScanSettings(
        model=model, prospective=prospective, max_spatial_share=share,
        min_temporal_days=min_days, max_temporal_days=max_days, replicates=0,
    )  # fmt: skip
    scanner = Scanner(problem, settings)
    # The real data, then three Monte Carlo replicates of it.
    rng = np.random.default_rng(seed)
    for counts in [problem.counts] + [scanner.replicate_counts(rng) for _ in range(3)]:
        expected, _ = brute_force(problem, counts, settings, max_days)
        got, _, _ = scanner.search(counts, per_circle=False)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("model", ["space-time-permutation", "poisson"])
def test_most_likely_cluster_is_a_brute_force_maximiser(model: str) -> None:
    for seed in range(4):
        problem = random_problem(10 + seed, zones=10, days=10, rate=0.5)
        settings = ScanSettings(model=model, max_temporal_days=5, replicates=0)
        best, argbest = brute_force(problem, problem.counts, settings, 5)
        result = scan(problem, settings)
        top = result.clusters[0]
        members = frozenset(problem.locations.index(loc) for loc in top.locations)
        window = ((top.start - START).days, (top.end - START).days)
        assert (members, *window) in argbest
        assert top.llr == pytest.approx(best, rel=1e-9)
        total = int(problem.counts.sum())
        direct = log_likelihood_ratio(np.array(top.observed), np.array(top.expected), total)
        assert top.llr == pytest.approx(float(direct), rel=1e-9)
        # Its observed and expected counts are the cylinder's own.
        rows = sorted(members)
        assert top.observed == problem.counts[rows, window[0] : window[1] + 1].sum()


def test_p_value_is_the_rank_among_replicates_with_ties_against_the_cluster() -> None:
    replicates = np.array([1.0, 2.0, 3.0, 3.0 * (1 - 1e-13), 5.0])
    assert p_value(3.0, replicates) == pytest.approx(4 / 6)  # itself, 3.0, ~3.0 and 5.0
    assert p_value(6.0, replicates) == pytest.approx(1 / 6)
    assert p_value(0.5, np.zeros(0)) == 1.0


def two_location_problem() -> ScanProblem:
    return ScanProblem(
        locations=("A", "B"),
        coordinates=np.array([[0.0, 0.0], [10.0, 0.0]]),
        start=date(2024, 1, 1),
        counts=np.array([[3, 0], [0, 3]], dtype=np.int64),
        population=np.array([100.0, 100.0]),
    )


def test_worked_example_by_hand() -> None:
    """Two locations A and B, two days, 6 cases: A has 3 on day 1, B has 3 on day 2.

    Circles hold at most 50 % of the cases, so each is one location (3 cases); windows are at
    most 50 % of the 2-day period, i.e. 1 day. Cylinder (A, day 1): c = 3,
    mu = (3 cases at A) x (3 cases on day 1) / 6 = 1.5, and
    LLR = 3 ln(3/1.5) + 3 ln(3/4.5) = 3 ln(4/3) = 0.863046. (B, day 2) is the same; the other
    two cylinders have no cases. A is reported first, B as a non-overlapping secondary cluster.

    Under the null the 3 day-1 dates fall on k of A's cases with hypergeometric probabilities
    1/20, 9/20, 9/20, 1/20 (k = 0..3). A replicate reaches LLR 3 ln(4/3) only when k = 0 or 3
    (the largest cylinder then holds 3 cases; otherwise 2, LLR = 2 ln(4/3) + 4 ln(8/9) =
    0.104232), so P(replicate max >= observed) = 1/10 and the p-value is near
    (1 + 999/10)/1000 = 0.101.
    """
    result = scan(two_location_problem(), ScanSettings(replicates=999, seed=7))
    first, second = result.clusters
    assert (first.locations, first.start, first.end) == (("A",), date(2024, 1, 1), date(2024, 1, 1))
    assert (second.locations, second.start, second.end) == (
        ("B",),
        date(2024, 1, 2),
        date(2024, 1, 2),
    )
    for cluster in (first, second):
        assert cluster.observed == 3
        assert cluster.expected == pytest.approx(1.5)
        assert cluster.llr == pytest.approx(3 * math.log(4 / 3), rel=1e-12)
        assert cluster.recurrence_interval_days is None  # retrospective
    replicate_max = result.replicate_llrs
    assert set(np.round(replicate_max, 6)) == {round(3 * math.log(4 / 3), 6), 0.104232}
    assert 2 * math.log(4 / 3) + 4 * math.log(8 / 9) == pytest.approx(0.104232, abs=1e-6)
    # 1/10 of replicates tie the observed maximum: p ~ 0.1 (binomial sd 0.0095).
    assert first.p_value == second.p_value
    assert first.p_value is not None and 0.07 < first.p_value < 0.13


def test_worked_example_poisson_and_prospective() -> None:
    """Same data, Poisson with equal populations: mu = 6 x 1/2 x 1/2 = 1.5 again. Prospective:
    only windows ending on day 2, so only (B, day 2) is alive; its recurrence interval is
    1/p days (one analysis a day)."""
    problem = two_location_problem()
    poisson = scan(problem, ScanSettings(model="poisson", replicates=99, seed=3))
    assert poisson.clusters[0].expected == pytest.approx(1.5)
    assert poisson.clusters[0].llr == pytest.approx(3 * math.log(4 / 3))
    prospective = scan(problem, ScanSettings(prospective=True, replicates=99, seed=3))
    (alive,) = prospective.clusters
    assert alive.locations == ("B",) and alive.end == date(2024, 1, 2)
    assert alive.p_value is not None
    assert alive.recurrence_interval_days == pytest.approx(1 / alive.p_value)


def planted_problem(seed: int) -> ScanProblem:
    problem = random_problem(seed, zones=25, days=40, rate=0.3)
    counts = problem.counts.copy()
    counts[[3, 4], 30:33] += 4  # 24 extra cases at two locations over three days
    return ScanProblem(problem.locations, problem.coordinates, START, counts, problem.population)


@pytest.mark.parametrize("model", ["space-time-permutation", "poisson"])
def test_planted_cluster_is_found(model: str) -> None:
    problem = planted_problem(5)
    result = scan(problem, ScanSettings(model=model, replicates=199, max_temporal_days=7, seed=1))
    top = result.clusters[0]
    assert {"L3", "L4"} <= set(top.locations)
    assert top.start <= START + timedelta(days=30) and top.end >= START + timedelta(days=32)
    assert top.p_value is not None and top.p_value < 0.05


def test_p_values_are_roughly_uniform_under_the_null() -> None:
    p_values = []
    for seed in range(30):
        problem = random_problem(100 + seed, zones=12, days=20, rate=1.0)
        result = scan(
            problem, ScanSettings(replicates=99, max_temporal_days=5, seed=seed, workers=1)
        )
        p_values.append(result.clusters[0].p_value)
    values = np.array(p_values, dtype=float)
    # 30 draws of a (discrete, slightly conservative) uniform: mean near 0.5, few below 0.05.
    assert 0.35 < values.mean() < 0.7
    assert (values < 0.05).sum() <= 4
    assert (values < 0.5).sum() >= 8


def test_replicates_keep_both_marginals_and_do_not_depend_on_workers() -> None:
    problem = random_problem(4, zones=12, days=15, rate=1.0)
    scanner = Scanner(problem, ScanSettings(max_temporal_days=5))
    replicate = scanner.replicate_counts(np.random.default_rng(0))
    assert np.array_equal(replicate.sum(axis=0), problem.counts.sum(axis=0))
    assert np.array_equal(replicate.sum(axis=1), problem.counts.sum(axis=1))
    one = scan(problem, ScanSettings(replicates=40, seed=9, workers=1, max_temporal_days=5))
    two = scan(problem, ScanSettings(replicates=40, seed=9, workers=2, max_temporal_days=5))
    assert np.array_equal(one.replicate_llrs, two.replicate_llrs)
    assert one.to_dict() == two.to_dict()


def test_secondary_clusters_share_no_location() -> None:
    problem = planted_problem(6)
    result = scan(problem, ScanSettings(replicates=19, max_temporal_days=7, max_clusters=10))
    seen: set[str] = set()
    llrs = [c.llr for c in result.clusters]
    assert llrs == sorted(llrs, reverse=True) and len(result.clusters) > 1
    for cluster in result.clusters:
        assert not seen & set(cluster.locations)
        seen |= set(cluster.locations)


def test_circles_never_split_equidistant_locations() -> None:
    # B and C are both 1 away from A: no circle around A holds one without the other.
    problem = ScanProblem(
        ("A", "B", "C", "D"),
        np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [5.0, 0.0]]),
        START,
        np.ones((4, 4), dtype=np.int64),
    )
    scanner = Scanner(problem, ScanSettings(max_spatial_share=1.0))
    around_a = {
        tuple(sorted(problem.locations[z] for z in scanner.circles.members(c)))
        for c in range(len(scanner.circles))
        if scanner.circles.centre[c] == 0
    }
    assert around_a == {("A",), ("A", "B", "C"), ("A", "B", "C", "D")}


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ScanInputError, match="location 'Z' has no coordinates"):
        problem_from_cases(["A"], np.zeros((1, 2)), ["Z"], [START])
    with pytest.raises(ScanInputError, match="outside the study period"):
        problem_from_cases(
            ["A"],
            np.zeros((1, 2)),
            ["A"],
            [START],
            start=START + timedelta(1),
            end=START + timedelta(5),
        )
    problem = problem_from_cases(["A", "B"], np.array([[0, 0], [1, 1]]), ["A", "B"], [START] * 2)
    with pytest.raises(ScanInputError, match="needs a population"):
        scan(problem, ScanSettings(model="poisson"))
    with pytest.raises(ScanInputError, match="model"):
        ScanSettings(model="bernoulli")
    with pytest.raises(ScanInputError, match="max spatial share"):
        ScanSettings(max_spatial_share=0)
    with pytest.raises(ScanInputError, match="min temporal window is longer than the max"):
        ScanSettings(min_temporal_days=8, max_temporal_days=7)
