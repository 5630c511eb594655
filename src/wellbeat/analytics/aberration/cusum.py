"""Poisson CUSUM as R `surveillance::algo.cusum` computes it (Rossi et al. 1999 transforms).

The reference value ``m`` is the mean of all observations before the first monitored position
(or a number, or a seasonal Poisson GLM fitted to them: ``m = "glm"``). Observations are
standardised, the one-sided sum ``S_t = max(0, S_{t-1} + z_t - k)`` never resets after an
alarm, and an alarm is raised when ``S_t >= h``. Vectorised across series.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import numpy.typing as npt

from wellbeat.analytics.aberration.glm import fit_quasipoisson
from wellbeat.analytics.aberration.result import (
    AberrationInputError,
    DetectionResult,
    FloatArray,
    as_series_matrix,
    monitored_range,
)

CusumTransform = Literal["standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin", "none"]

CUSUM_TRANSFORMS: tuple[str, ...] = (
    "standard",
    "rossi",
    "anscombe",
    "anscombe2nd",
    "pearsonNegBin",
    "none",
)
"""Transforms of ``algo.cusum`` offered here (R's ``anscombeNegBin`` reads an internal
lookup table of hypergeometric values and is not reproduced)."""


def _reference_mean(
    matrix: FloatArray, first: int, m: float | Literal["glm"] | None, frequency: int, start: int
) -> FloatArray:
    """``m`` per series and monitored position: (series, 1) or (series, len(range))."""
    if m is None:
        if first < 2:
            raise AberrationInputError(
                "CUSUM needs at least one observation before the monitored range to estimate m"
            )
        return np.asarray(matrix[:, : first - 1].mean(axis=1, keepdims=True))
    if isinstance(m, str):
        if m != "glm":
            raise AberrationInputError(f"m {m!r} must be a number, 'glm' or left out")
        return np.empty((matrix.shape[0], 0))
    return np.full((matrix.shape[0], 1), float(m))


def _seasonal_glm_mean(
    matrix: FloatArray, first: int, positions: npt.NDArray[np.int64], frequency: int, start: int
) -> FloatArray:
    """R's ``m = "glm"``: Poisson GLM ``x ~ 1 + cos(2 pi t / p) + sin(2 pi t / p)`` on the
    observations before the range, predicted at the monitored positions (``t = start + i - 1``).
    """
    training = np.arange(1, first)
    t = start + training - 1
    angle = 2 * np.pi / frequency * t
    design = np.column_stack([np.ones_like(angle), np.cos(angle), np.sin(angle)])
    n_series = matrix.shape[0]
    fit = fit_quasipoisson(
        np.broadcast_to(design, (n_series, *design.shape)),
        matrix[:, : first - 1],
    )
    t_new = 2 * np.pi / frequency * (start + positions - 1)
    new_design = np.column_stack([np.ones_like(t_new), np.cos(t_new), np.sin(t_new)])
    return np.asarray(np.exp(fit.coefficients @ new_design.T))


def cusum(
    counts: npt.ArrayLike,
    *,
    range_: Iterable[int],
    k: float = 1.04,
    h: float = 2.26,
    m: float | Literal["glm"] | None = None,
    trans: CusumTransform = "standard",
    alpha: float | None = None,
    frequency: int = 52,
    start: int = 1,
) -> DetectionResult:
    """Run the CUSUM of R ``algo.cusum`` on every series; ``range_`` is required as in R.

    ``expected`` is ``m``, ``score`` the cumulative sum ``S_t`` and ``upperbound`` the count
    that would have raised an alarm at ``t`` given ``S_{t-1}`` (R's formula per transform).
    ``alpha`` is the negative binomial dispersion of ``pearsonNegBin`` (R default 0.1);
    ``frequency`` and ``start`` (period of the first observation) only matter for ``m="glm"``.
    """
    if trans not in CUSUM_TRANSFORMS:
        raise AberrationInputError(
            f"trans {trans!r} is not one of {', '.join(CUSUM_TRANSFORMS)}"
            + (" (anscombeNegBin is not supported)" if trans == "anscombeNegBin" else "")
        )
    matrix = as_series_matrix(counts)
    positions = monitored_range(range_, 1, matrix.shape[1], sort=False)
    first = int(positions[0])
    if m == "glm":
        if first < 4:
            raise AberrationInputError("m='glm' needs at least 3 observations before the range")
        reference = _seasonal_glm_mean(matrix, first, positions, frequency, start)
    else:
        reference = _reference_mean(matrix, first, m, frequency, start)
    dispersion = 0.1 if alpha is None else alpha
    x = matrix[:, positions - 1]
    mean = np.broadcast_to(reference, x.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        standardised = _standardise(x, mean, trans, dispersion)
        sums = np.zeros((x.shape[0], x.shape[1] + 1))
        for step in range(x.shape[1]):
            sums[:, step + 1] = np.maximum(0.0, sums[:, step] + (standardised[:, step] - k))
        previous = sums[:, :-1]
        upperbound = _upperbound(mean, previous, sums[:, 1:], trans, h, k, dispersion)
    upperbound = np.where(np.isnan(upperbound) | (upperbound < 0), 0.0, upperbound)
    score = sums[:, 1:]
    return DetectionResult(
        method="cusum",
        index=positions,
        observed=x,
        expected=np.array(mean, dtype=np.float64),
        upperbound=upperbound,
        score=score,
        alarm=score >= h,
        control={"k": k, "h": h, "m": m, "trans": trans, "alpha": dispersion},
    )


def _standardise(x: FloatArray, m: FloatArray, trans: str, alpha: float) -> FloatArray:
    """R's ``standObs`` for each transform."""
    if trans == "rossi":
        return np.asarray((x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m)))
    if trans == "standard":
        return np.asarray((x - m) / np.sqrt(m))
    if trans == "anscombe":
        return np.asarray(1.5 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6))
    if trans == "anscombe2nd":
        return np.asarray(
            (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6))
        )
    if trans == "pearsonNegBin":
        return np.asarray((x - m) / np.sqrt(m + alpha * m**2))
    return x


def _upperbound(
    m: FloatArray,
    previous: FloatArray,
    current: FloatArray,
    trans: str,
    h: float,
    k: float,
    alpha: float,
) -> FloatArray:
    """R's upper bound per transform, from ``S_{t-1}`` (``previous``)."""
    if trans == "rossi":
        root = np.sqrt(m)
        inner = 4 * m**2 + 2 * m**1.5 * h + 2 * m**1.5 * k - 2 * m**1.5 * previous
        return np.asarray(
            2 * h * root + 2 * k * root - 2 * previous * root + 5 * m - 2 * np.sqrt(inner)
        )
    if trans == "standard":
        return np.asarray(np.ceil(np.sqrt(m) * (h + k - previous) + m))
    if trans in ("anscombe", "anscombe2nd"):
        shift = m ** (2 / 3) if trans == "anscombe" else m ** (2 / 3) - m ** (1 / 3) / 9
        base = 2 / 3 * m ** (1 / 6) * (h + k - previous) + shift
        return np.asarray(np.where(base < 0, 0.0, np.abs(base) ** 1.5))
    if trans == "pearsonNegBin":
        return np.asarray(np.sqrt(m + alpha * m**2) * (h + k - previous) + m)
    return np.asarray(h - current)
