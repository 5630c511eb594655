"""Space-time scan statistics as SaTScan defines them, framework-free and vectorised.

The space-time permutation scan (Kulldorff et al. 2005, cases only) and the space-time Poisson
scan with a population, retrospective or prospective, with Monte Carlo p-values, secondary
clusters without geographical overlap and, for prospective analyses, recurrence intervals.
See docs/methods.md ("Space-time scan statistics").
"""

from wellbeat.analytics.scan.cylinders import (
    Circles,
    Windows,
    build_circles,
    build_windows,
    default_max_temporal_days,
)
from wellbeat.analytics.scan.problem import (
    COORDINATE_SYSTEMS,
    MODELS,
    ScanInputError,
    ScanProblem,
    problem_from_cases,
)
from wellbeat.analytics.scan.scan import (
    Cluster,
    Scanner,
    ScanResult,
    ScanSettings,
    log_likelihood_ratio,
    p_value,
    recurrence_interval_days,
    scan,
)

__all__ = [
    "COORDINATE_SYSTEMS",
    "MODELS",
    "Circles",
    "Cluster",
    "ScanInputError",
    "ScanProblem",
    "ScanResult",
    "ScanSettings",
    "Scanner",
    "Windows",
    "build_circles",
    "build_windows",
    "default_max_temporal_days",
    "log_likelihood_ratio",
    "p_value",
    "problem_from_cases",
    "recurrence_interval_days",
    "scan",
]
