"""Benchmark: the space-time permutation scan on 100,000 cases at 1,000 locations, 999 replicates.

Run: ``python bench/scan.py [--cases 100000] [--locations 1000] [--days 365]
[--max-temporal-days 30] [--replicates 999] [--workers 2] [--retrospective]
[--brute-force-datasets 2]`` (not part of the test suite).

The problem: locations uniform in a 100 x 100 square with uneven case rates (gamma), one year
of days with a weekly cycle, a small cluster planted at the end. The default analysis is the
daily surveillance one: prospective (windows end on the last day), windows of 1-30 days,
circles up to 50 % of the cases (about 500 per centre, 500,000 in all), so each data set has
about 15 million cylinders, and the observed data plus 999 replicates is 15 billion. Goal:
under 60 s on 2 cores.

The reference is a brute force on a tenth of the problem (10,000 cases at 100 locations, the
same days and windows): every circle from the distances, every cylinder's observed and expected
count summed from the zone x day matrix, one cylinder at a time. It runs on a few data sets;
its time per cylinder is scaled to the full problem's cylinders and 1,000 data sets, and
printed beside wellbeat's. Its test statistic must equal wellbeat's on those data sets.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import time
from datetime import date

import numpy as np

from wellbeat.analytics.scan import Scanner, ScanProblem, ScanSettings, scan


def make_problem(cases: int, locations: int, days: int, seed: int) -> ScanProblem:
    rng = np.random.default_rng(seed)
    coordinates = rng.uniform(0, 100, size=(locations, 2))
    rate = rng.gamma(2.0, 1.0, size=locations)
    week = 1 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7)
    cell = np.outer(rate, week).ravel()
    drawn = rng.multinomial(cases, cell / cell.sum())
    counts = drawn.reshape(locations, days).astype(np.int64)
    # A small planted cluster alive on the last day: a location and its two nearest neighbours.
    near = np.argsort(((coordinates - coordinates[0]) ** 2).sum(axis=1))[:3]
    counts[near, days - 3 :] += 3
    return ScanProblem(
        locations=tuple(f"L{i:04d}" for i in range(locations)),
        coordinates=coordinates,
        start=date(2025, 1, 1),
        counts=counts,
    )


def brute_force_max(
    problem: ScanProblem, counts: np.ndarray, settings: ScanSettings
) -> tuple[float, int]:
    """Largest GLR, every cylinder evaluated on its own; also the number of cylinders."""
    zones, days = counts.shape
    total = int(counts.sum())
    zone_cases = counts.sum(axis=1)
    day_cases = counts.sum(axis=0)
    limit = settings.max_spatial_share * total
    max_days = settings.max_temporal_days or days // 2
    windows = [
        (e - length + 1, e)
        for length in range(1, max_days + 1)
        for e in ([days - 1] if settings.prospective else range(length - 1, days))
    ]
    best, cylinders = 0.0, 0
    for centre in range(zones):
        distance = np.sqrt(((problem.coordinates - problem.coordinates[centre]) ** 2).sum(axis=1))
        for radius in np.unique(distance):
            members = np.flatnonzero(distance <= radius)
            if zone_cases[members].sum() > limit:
                break
            for s, e in windows:
                cylinders += 1
                c = int(counts[members, s : e + 1].sum())
                mu = zone_cases[members].sum() * day_cases[s : e + 1].sum() / total
                if c <= mu or c < settings.min_cases:
                    continue
                llr = c * math.log(c / mu)
                if c < total:
                    llr += (total - c) * math.log((total - c) / (total - mu))
                best = max(best, llr)
    return best, cylinders


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--max-temporal-days", type=int, default=30)
    parser.add_argument("--replicates", type=int, default=999)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--retrospective", action="store_true")
    parser.add_argument("--brute-force-datasets", type=int, default=2)
    args = parser.parse_args()
    settings = ScanSettings(
        replicates=args.replicates,
        max_temporal_days=args.max_temporal_days,
        prospective=not args.retrospective,
        workers=args.workers,
    )
    print(f"cores available: {os.cpu_count()}; workers: {args.workers}")
    problem = make_problem(args.cases, args.locations, args.days, seed=1)

    # Compile the search loop (Numba caches it on disk) before timing anything.
    Scanner(make_problem(200, 10, 20, seed=2), settings).search(
        np.ones((10, 20), dtype=np.int64), per_circle=False
    )
    started = time.perf_counter()
    scanner = Scanner(problem, settings)
    setup_s = time.perf_counter() - started
    cylinders = len(scanner.circles) * len(scanner.windows)
    started = time.perf_counter()
    scanner.search(problem.counts, per_circle=True)
    one_s = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), cpu_seconds()
    result = scan(problem, settings)
    total_s = time.perf_counter() - started
    cpu_s = cpu_seconds() - cpu_started
    top = result.clusters[0]
    print(
        f"problem: {problem.total:,} cases, {len(problem.locations):,} locations, "
        f"{problem.days} days; {len(scanner.circles):,} circles x {len(scanner.windows)} "
        f"windows = {cylinders:,} cylinders per data set "
        f"({'retrospective' if args.retrospective else 'prospective'})"
    )
    print(f"cylinders and expected counts:         {setup_s:8.2f} s")
    print(f"one data set (observed, per circle):   {one_s:8.2f} s")
    print(
        f"wellbeat scan, {args.replicates} replicates:      {total_s:8.2f} s  (goal < 60 s); "
        f"{cylinders * (args.replicates + 1) / total_s / 1e6:,.0f} M cylinders/s"
    )
    load = os.getloadavg()[0]
    print(
        f"  CPU time {cpu_s:.1f} s: {cpu_s / args.workers:.1f} s on {args.workers} idle cores "
        f"(load average during the run: {load:.1f})"
    )
    print(
        f"  most likely cluster: {len(top.locations)} locations {top.start}..{top.end}, "
        f"{top.observed} observed / {top.expected:.1f} expected, LLR {top.llr:.2f}, "
        f"p = {top.p_value}"
    )

    # The brute force on a tenth of the problem, checked against wellbeat on the same data.
    small = make_problem(args.cases // 10, args.locations // 10, args.days, seed=3)
    small_scanner = Scanner(small, settings)
    rng = np.random.default_rng(4)
    datasets = [small.counts] + [
        small_scanner.replicate_counts(rng) for _ in range(args.brute_force_datasets - 1)
    ]
    brute_s = 0.0
    small_cylinders = 0
    for counts in datasets:
        started = time.perf_counter()
        brute, small_cylinders = brute_force_max(small, counts, settings)
        brute_s += time.perf_counter() - started
        ours, _, _ = small_scanner.search(counts, per_circle=False)
        assert math.isclose(brute, ours, rel_tol=1e-9), (brute, ours)
    per_cylinder = brute_s / (len(datasets) * small_cylinders)
    scaled = per_cylinder * cylinders * (args.replicates + 1)
    print(
        f"brute force, a tenth ({small.total:,} cases, {len(small.locations)} locations, "
        f"{small_cylinders:,} cylinders): {brute_s / len(datasets):.2f} s per data set, "
        f"same statistic as wellbeat"
    )
    print(
        f"brute force scaled to the full problem x {args.replicates + 1} data sets: "
        f"{scaled:,.0f} s ({scaled / 3600:,.1f} h); wellbeat is {scaled / total_s:,.0f}x faster"
    )


if __name__ == "__main__":
    main()
