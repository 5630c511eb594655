"""EARS C1, C2 and C3 (Hutwagner et al. 2003), exactly as R `surveillance::earsC` computes them.

Vectorised over series and time: every monitored position's baseline is gathered at once.
Traps kept from R on purpose: the alarm is ``observed > upperbound`` (strict), ``minSigma``
defaults to 0 so an all-zero baseline gives a bound equal to its mean (0) and one case alarms,
and C3's bound only uses the two lagged C2 terms, so C3 alarms exactly when
``max(0, C2[t-2] - 1) + max(0, C2[t-1] - 1)`` exceeds the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from wellbeat.analytics.aberration.result import (
    AberrationInputError,
    DetectionResult,
    FloatArray,
    IntArray,
    as_series_matrix,
    monitored_range,
)

EarsMethod = Literal["C1", "C2", "C3"]

DEFAULT_BASELINE = 7
"""Days in the EARS baseline (R ``baseline = 7``)."""

DEFAULT_ALPHA: dict[str, float] = {"C1": 0.001, "C2": 0.001, "C3": 0.025}
"""R's default ``alpha`` per method (one-sided; the bound uses ``qnorm(1 - alpha)``)."""

_GATHER_CELLS = 4_000_000
_GUARD: dict[str, int] = {"C1": 0, "C2": 2, "C3": 2}
_MAX_LAG_EXTRA: dict[str, int] = {"C1": 0, "C2": 2, "C3": 4}


def _baseline_stats(
    counts: FloatArray, positions: IntArray, baseline: int, guard: int, min_sigma: float
) -> tuple[FloatArray, FloatArray]:
    """Mean and ``max(sd, minSigma)`` of the ``baseline`` values ending ``guard + 1`` before."""
    lags = np.arange(baseline + guard, guard, -1)
    columns = positions[:, np.newaxis] - 1 - lags[np.newaxis, :]
    mean = np.empty((counts.shape[0], positions.size))
    sd = np.empty_like(mean)
    # Gather the windows a block of series at a time to bound memory (series x range x days).
    block = max(1, _GATHER_CELLS // max(1, columns.size))
    for start in range(0, counts.shape[0], block):
        window = counts[start : start + block][:, columns]
        mean[start : start + block] = window.mean(axis=2)
        sd[start : start + block] = np.maximum(window.std(axis=2, ddof=1), min_sigma)
    return mean, sd


def ears(
    counts: npt.ArrayLike,
    *,
    method: EarsMethod = "C1",
    range_: Iterable[int] | None = None,
    baseline: int = DEFAULT_BASELINE,
    min_sigma: float = 0.0,
    alpha: float | None = None,
) -> DetectionResult:
    """Run EARS C1, C2 or C3 on every series (R ``earsC(sts, control)``).

    ``range_`` is R's ``range`` (1-based; default: the first evaluable point ``baseline + 1``,
    ``+ 3`` or ``+ 5`` to the end). ``expected`` is the baseline mean, ``score`` the C1/C2
    statistic ``(y - mean) / max(sd, minSigma)`` or, for C3, the published C3 sum over
    ``t-2 .. t`` (R's C3 alarm rule differs; see the module docstring).
    """
    if method not in DEFAULT_ALPHA:
        raise AberrationInputError(f"EARS method {method!r} is not one of C1, C2, C3")
    if baseline < 3:
        raise AberrationInputError(f"baseline {baseline} is too short: the minimum is 3")
    if min_sigma < 0:
        raise AberrationInputError(f"min_sigma {min_sigma} must be >= 0")
    matrix = as_series_matrix(counts)
    n_time = matrix.shape[1]
    max_lag = baseline + _MAX_LAG_EXTRA[method]
    positions = monitored_range(range_, max_lag + 1, n_time)
    if positions[0] - max_lag < 1:
        raise AberrationInputError(
            f"the series is too short for EARS {method} with baseline {baseline}: "
            f"the first monitored position must be at least {max_lag + 1}, got {positions[0]}"
        )
    level = DEFAULT_ALPHA[method] if alpha is None else alpha
    if not 0 < level < 1:
        raise AberrationInputError(f"alpha {level} must be between 0 and 1")
    z_alpha = float(norm.ppf(1 - level))
    observed = matrix[:, positions - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("C1", "C2"):
            mean, sd = _baseline_stats(matrix, positions, baseline, _GUARD[method], min_sigma)
            upperbound = mean + z_alpha * sd
            score = (observed - mean) / sd
        else:
            mean, sd = _baseline_stats(matrix, positions, baseline, 2, min_sigma)
            lag1 = _c2_excess(matrix, positions - 1, baseline, min_sigma)
            lag2 = _c2_excess(matrix, positions - 2, baseline, min_sigma)
            current = np.maximum(0.0, (observed - mean) / sd - 1)
            upperbound = np.maximum(0.0, observed + sd * (z_alpha - (lag2 + lag1)))
            score = lag2 + lag1 + current
    return DetectionResult(
        method=f"ears-{method.lower()}",
        index=positions,
        observed=observed,
        expected=mean,
        upperbound=upperbound,
        score=score,
        alarm=observed > upperbound,
        control={"method": method, "baseline": baseline, "min_sigma": min_sigma, "alpha": level},
    )


def _c2_excess(
    counts: FloatArray, positions: IntArray, baseline: int, min_sigma: float
) -> FloatArray:
    """``max(0, C2 - 1)`` at the given positions (C3's lagged terms)."""
    mean, sd = _baseline_stats(counts, positions, baseline, 2, min_sigma)
    c2 = (counts[:, positions - 1] - mean) / sd
    return np.asarray(np.maximum(0.0, c2 - 1), dtype=np.float64)
