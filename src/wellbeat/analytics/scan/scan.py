"""Space-time scan statistics as SaTScan computes them: search, Monte Carlo, secondary clusters.

Two models (Kulldorff et al. 2005 for the space-time permutation model; Kulldorff 2001 and the
SaTScan user guide for the space-time Poisson model). In both the expected count of a cylinder
is fixed across Monte Carlo replicates, and the log-likelihood ratio of a cylinder with ``c``
observed cases, ``mu`` expected, out of ``C`` in all, is SaTScan's Poisson GLR

    LLR = c ln(c/mu) + (C - c) ln((C - c)/(C - mu))   when c > mu (high rates), else 0.

* Space-time permutation: ``mu = (cases in the circle, all days) x (cases in the window,
  all circles) / C``. Replicates permute the dates among the cases (locations fixed), which
  keeps both marginals.
* Poisson with a population constant in time: ``mu = C x (population in the circle / total)
  x (days in the window / days in the period)``. Replicates draw the ``C`` cases at random
  with those probabilities (SaTScan conditions on the total).

The test statistic is the largest LLR over all cylinders; its p-value is
``rank / (replicates + 1)``, rank = 1 + the replicates whose largest LLR is >= the observed one.
Secondary clusters are the next most likely cylinders that share no location with any cluster
already reported (SaTScan's default "no geographical overlap"), each with a p-value against
the same distribution of replicate maxima (SaTScan's conservative convention).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np

from wellbeat.analytics.scan.cylinders import (
    Circles,
    Windows,
    build_circles,
    build_windows,
    default_max_temporal_days,
)
from wellbeat.analytics.scan.problem import MODELS, ScanInputError, ScanProblem

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class ScanSettings:
    """The analysis options, with SaTScan's defaults."""

    model: str = "space-time-permutation"
    replicates: int = 999
    max_spatial_share: float = 0.5
    # None: 50 % of the study period (SaTScan's default).
    max_temporal_days: int | None = None
    # SaTScan's minimum temporal cluster size (1 time unit); both at the whole period make the
    # scan purely spatial.
    min_temporal_days: int = 1
    prospective: bool = False
    # SaTScan's minimum number of cases in a high-rate cluster.
    min_cases: int = 2
    max_clusters: int = 10
    seed: int = 12345
    workers: int = 2

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ScanInputError(f"model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.replicates < 0:
            raise ScanInputError("replicates must be >= 0")
        if not 0 < self.max_spatial_share <= 1:
            raise ScanInputError("max spatial share must be in (0, 1]")
        if self.max_temporal_days is not None and self.max_temporal_days < 1:
            raise ScanInputError("max temporal window must be at least 1 day")
        if self.min_temporal_days < 1:
            raise ScanInputError("min temporal window must be at least 1 day")
        if self.max_temporal_days is not None and self.min_temporal_days > self.max_temporal_days:
            raise ScanInputError("min temporal window is longer than the max")
        if self.min_cases < 1:
            raise ScanInputError("minimum cases in a cluster must be at least 1")
        if self.max_clusters < 1:
            raise ScanInputError("max clusters must be at least 1")
        if self.workers < 1:
            raise ScanInputError("workers must be at least 1")


@dataclass(frozen=True)
class Cluster:
    """One reported cylinder: its locations, its days and how unusual it is."""

    centre: str
    locations: tuple[str, ...]
    radius: float
    start: date
    end: date
    observed: int
    expected: float
    llr: float
    p_value: float | None
    recurrence_interval_days: float | None

    @property
    def relative_risk(self) -> float:
        """Observed over expected inside the cylinder (SaTScan's ODE)."""
        return self.observed / self.expected if self.expected > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["locations"] = list(self.locations)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["observed_over_expected"] = self.relative_risk
        data["recurrence_interval_years"] = (
            None
            if self.recurrence_interval_days is None
            else self.recurrence_interval_days / DAYS_PER_YEAR
        )
        return data


@dataclass(frozen=True)
class ScanResult:
    settings: ScanSettings
    start: date
    end: date
    total_cases: int
    max_temporal_days: int
    circles: int
    windows: int
    clusters: tuple[Cluster, ...]
    replicate_llrs: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "analysis": "prospective" if self.settings.prospective else "retrospective",
            "study_period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "total_cases": self.total_cases,
            "replicates": self.settings.replicates,
            "seed": self.settings.seed,
            "max_spatial_share": self.settings.max_spatial_share,
            "max_temporal_days": self.max_temporal_days,
            "min_temporal_days": self.settings.min_temporal_days,
            "min_cases": self.settings.min_cases,
            "circles": self.circles,
            "windows": self.windows,
            "clusters": [c.to_dict() for c in self.clusters],
        }


def log_likelihood_ratio(
    observed: np.ndarray, expected: np.ndarray, total: int, min_cases: int = 2
) -> np.ndarray:
    """SaTScan's Poisson GLR for high-rate cylinders (0 where c <= mu or c < min_cases)."""
    c = np.asarray(observed, dtype=np.float64)
    mu = np.asarray(expected, dtype=np.float64)
    out = np.zeros(np.broadcast(c, mu).shape, dtype=np.float64)
    high = (c > mu) & (c >= min_cases)
    if not high.any():
        return out
    cc = np.broadcast_to(c, out.shape)[high]
    mm = np.broadcast_to(mu, out.shape)[high]
    rest = total - cc
    inside = cc * np.log(cc / mm)
    # (C - c) ln((C - c)/(C - mu)) is 0 when every case is in the cylinder.
    outside = rest * np.log(np.where(rest > 0, rest / np.maximum(total - mm, 1e-300), 1.0))
    out[high] = inside + outside
    return out


class Scanner:
    """The fixed part of a scan (cylinders and expected counts) and its evaluation."""

    def __init__(self, problem: ScanProblem, settings: ScanSettings) -> None:
        self.problem = problem
        self.settings = settings
        self.total = problem.total
        days = problem.days
        self.max_temporal_days = min(
            days,
            settings.max_temporal_days
            if settings.max_temporal_days is not None
            else default_max_temporal_days(days),
        )
        zone_cases = problem.counts.sum(axis=1).astype(np.float64)
        if settings.model == "poisson":
            if problem.population is None:
                raise ScanInputError("the Poisson model needs a population for every location")
            if problem.population.sum() <= 0:
                raise ScanInputError("the total population is 0")
            unpopulated = np.flatnonzero((problem.population <= 0) & (zone_cases > 0))
            if unpopulated.size:
                raise ScanInputError(
                    f"location {problem.locations[int(unpopulated[0])]!r} has cases but no "
                    "population"
                )
            weights = problem.population
            zone_share = problem.population / problem.population.sum()
        else:
            weights = zone_cases
            zone_share = zone_cases / max(self.total, 1)
        self.zone_share = zone_share
        self.circles: Circles = build_circles(problem, weights, settings.max_spatial_share)
        self.windows: Windows = build_windows(
            days,
            self.max_temporal_days,
            prospective=settings.prospective,
            min_days=settings.min_temporal_days,
        )
        if settings.model == "space-time-permutation":
            # Case dates and locations: replicates permute the dates.
            flat = problem.counts.ravel()
            cells = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
            self.case_zone = cells // days
            self.case_day = cells % days
        self._flatten_circles()
        counts_up_to = np.arange(self.total + 1, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.xlogx = np.where(counts_up_to > 0, counts_up_to * np.log(counts_up_to), 0.0)
        # Few windows: sum each window's days once per location; many: cumulative day counts.
        self.window_sums = len(self.windows) < days + 1

    def _flatten_circles(self) -> None:
        """Each centre's neighbour order as rows, each row naming the circle that ends there."""
        circles = self.circles
        sizes = np.array([order.size for order in circles.orders], dtype=np.int64)
        self.centre_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        rows = int(self.centre_offsets[-1])
        self.rows_zone = (
            np.concatenate(circles.orders).astype(np.int64) if rows else np.zeros(0, np.int64)
        )
        self.row_circle = np.full(rows, -1, dtype=np.int64)
        end_rows = self.centre_offsets[circles.centre] + circles.size - 1
        self.row_circle[end_rows] = np.arange(len(circles), dtype=np.int64)
        # Cumulative share along each centre's order (restarting at each centre).
        shares = self.zone_share[self.rows_zone] if rows else np.zeros(0)
        cumulative = np.cumsum(shares)
        restart = np.repeat(np.concatenate([[0.0], cumulative])[self.centre_offsets[:-1]], sizes)
        self.row_share = cumulative - restart

    def temporal_share(self, counts: np.ndarray) -> np.ndarray:
        windows = self.windows
        if self.settings.model == "poisson":
            return windows.length / self.problem.days
        day_cases = counts.sum(axis=0)
        cumulative = np.concatenate([[0], np.cumsum(day_cases)])
        return (cumulative[windows.end + 1] - cumulative[windows.start]) / max(self.total, 1)

    def search(
        self, counts: np.ndarray, *, per_circle: bool
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Largest LLR over all cylinders and, with ``per_circle``, each circle's best
        (LLR, window index); the search loop is ``kernel.cylinder_search``."""
        # Numba is imported on first use: every `wellbeat` command imports this package.
        from wellbeat.analytics.scan.kernel import cylinder_search

        windows = self.windows
        zones, days = counts.shape
        cumulative = np.zeros((zones, days + 1), dtype=np.int64)
        np.cumsum(counts, axis=1, out=cumulative[:, 1:])
        n_windows = len(windows)
        if self.window_sums:
            base = np.zeros((zones, n_windows + 1), dtype=np.int64)
            base[:, :n_windows] = cumulative[:, windows.end + 1] - cumulative[:, windows.start]
            hi = np.arange(n_windows, dtype=np.int64)
            lo = np.full(n_windows, n_windows, dtype=np.int64)
        else:
            base, hi, lo = cumulative, windows.end + 1, windows.start
        n_circles = len(self.circles) if per_circle else 0
        circle_llr = np.zeros(n_circles)
        circle_window = np.zeros(n_circles, dtype=np.int64)
        best = cylinder_search(
            np.ascontiguousarray(base),
            np.ascontiguousarray(hi),
            np.ascontiguousarray(lo),
            self.temporal_share(counts).astype(np.float64),
            self.rows_zone,
            self.centre_offsets,
            self.row_circle,
            self.row_share,
            self.window_sums,
            self.total,
            self.settings.min_cases,
            self.xlogx,
            per_circle,
            circle_llr,
            circle_window,
        )
        return float(best), circle_llr, circle_window

    def cylinder(self, circle: int, window: int) -> tuple[int, float]:
        """Observed and expected cases of one cylinder of the real data."""
        members = self.circles.members(circle)
        start, end = int(self.windows.start[window]), int(self.windows.end[window])
        observed = int(self.problem.counts[members, start : end + 1].sum())
        share = float(self.zone_share[members].sum())
        temporal = float(self.temporal_share(self.problem.counts)[window])
        return observed, self.total * share * temporal

    def replicate_counts(self, rng: np.random.Generator) -> np.ndarray:
        """One Monte Carlo data set under the null hypothesis."""
        problem = self.problem
        zones, days = problem.counts.shape
        if self.settings.model == "poisson":
            cells = rng.multinomial(self.total, np.repeat(self.zone_share / days, days))
            return cells.reshape(zones, days).astype(np.int64)
        shuffled = rng.permutation(self.case_day)
        flat = np.bincount(self.case_zone * days + shuffled, minlength=zones * days)
        return flat.reshape(zones, days).astype(np.int64)

    def replicate_maxima(self, seeds: list[np.random.SeedSequence]) -> np.ndarray:
        return np.array(
            [
                self.search(self.replicate_counts(np.random.default_rng(seed)), per_circle=False)[0]
                for seed in seeds
            ]
        )


_WORKER: Scanner | None = None


def _init_worker(scanner: Scanner) -> None:
    global _WORKER
    _WORKER = scanner


def _worker_maxima(seeds: list[np.random.SeedSequence]) -> np.ndarray:
    assert _WORKER is not None
    return _WORKER.replicate_maxima(seeds)


def monte_carlo_maxima(scanner: Scanner) -> np.ndarray:
    """The largest LLR of each replicate; replicate ``i`` always uses the ``i``-th child seed,
    so the result does not depend on the number of workers."""
    settings = scanner.settings
    seeds = np.random.SeedSequence(settings.seed).spawn(settings.replicates)
    if not seeds:
        return np.zeros(0)
    workers = min(settings.workers, len(seeds), os.cpu_count() or 1)
    if workers <= 1:
        return scanner.replicate_maxima(seeds)
    batches = [list(batch) for batch in np.array_split(np.array(seeds, dtype=object), workers * 4)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(scanner,)
    ) as pool:
        return np.concatenate(list(pool.map(_worker_maxima, batches)))


# Equal LLRs of different cylinders (the same counts reached through different circles) may
# differ in the last bits; a replicate within this relative distance counts as a tie.
_TIE_TOLERANCE = 1e-10


def p_value(llr: float, replicate_llrs: np.ndarray) -> float:
    """Monte Carlo p-value: rank of the observed LLR among itself and the replicates (a tie
    counts against the cluster)."""
    rank = 1 + int(np.count_nonzero(replicate_llrs >= llr * (1 - _TIE_TOLERANCE)))
    return rank / (replicate_llrs.size + 1)


def scan(problem: ScanProblem, settings: ScanSettings | None = None) -> ScanResult:
    """Run the scan: most likely cluster, non-overlapping secondary clusters, p-values."""
    settings = settings or ScanSettings()
    scanner = Scanner(problem, settings)
    clusters: list[Cluster] = []
    replicate_llrs = np.zeros(0)
    if scanner.total > 0 and len(scanner.circles) > 0:
        _, llr, window = scanner.search(problem.counts, per_circle=True)
        picked = _non_overlapping(scanner.circles, llr, settings.max_clusters)
        if picked:
            replicate_llrs = monte_carlo_maxima(scanner)
        for circle in picked:
            members = scanner.circles.members(circle)
            w = int(window[circle])
            observed, expected = scanner.cylinder(circle, w)
            p = p_value(float(llr[circle]), replicate_llrs) if settings.replicates else None
            clusters.append(
                Cluster(
                    centre=problem.locations[int(scanner.circles.centre[circle])],
                    locations=tuple(problem.locations[int(z)] for z in members),
                    radius=float(scanner.circles.radius[circle]),
                    start=problem.day(int(scanner.windows.start[w])),
                    end=problem.day(int(scanner.windows.end[w])),
                    observed=observed,
                    expected=expected,
                    llr=float(llr[circle]),
                    p_value=p,
                    recurrence_interval_days=(
                        recurrence_interval_days(p) if settings.prospective and p else None
                    ),
                )
            )
    return ScanResult(
        settings=settings,
        start=problem.start,
        end=problem.day(problem.days - 1),
        total_cases=scanner.total,
        max_temporal_days=scanner.max_temporal_days,
        circles=len(scanner.circles),
        windows=len(scanner.windows),
        clusters=tuple(clusters),
        replicate_llrs=replicate_llrs,
    )


def recurrence_interval_days(p: float) -> float:
    """SaTScan's recurrence interval for a daily prospective analysis: 1/p days.

    Run once per day, a cluster this unusual arises by chance on average once in 1/p
    analyses, i.e. once in 1/p days; with a Monte Carlo p-value that is (R + 1)/rank.
    """
    return 1.0 / p


def _non_overlapping(circles: Circles, llr: np.ndarray, limit: int) -> list[int]:
    """Circles in decreasing LLR sharing no location with a more likely one (LLR > 0 only)."""
    order = np.argsort(-llr, kind="stable")
    used = np.zeros(len(circles.orders), dtype=bool)
    picked: list[int] = []
    for circle in order:
        if llr[circle] <= 0 or len(picked) >= limit:
            break
        members = circles.members(int(circle))
        if used[members].any():
            continue
        used[members] = True
        picked.append(int(circle))
    return picked
