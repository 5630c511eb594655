"""ESSENCE / NSSP detectors as CDC's pynssp 0.1.0 computes them (``alert_ewma``,
``alert_regression``), vectorised across series.

Both compare today with a baseline that ends ``g`` days (the guard band) before it; the
baseline grows from 11 days to its full length. An alert ("red") is a p-value below 0.01 from
a Student t test; pynssp's "yellow" warning is a p-value in [0.01, 0.05) (see ``pvalue``).

Traps kept from pynssp on purpose: the EWMA baseline reaches ``B + 1`` days (pynssp's loop
pads one more index than Rnssp's), its EWMAs are clipped back to the alert limit after an
outlier, and the regression's minimum sigma reads the t quantile at ``n_df + 1`` degrees of
freedom. ``upperbound`` is the smallest count that would have raised the alert that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from scipy.special import stdtr, stdtrit

from wellbeat.analytics.aberration.farrington import as_dates
from wellbeat.analytics.aberration.result import (
    AberrationInputError,
    DetectionResult,
    FloatArray,
    as_series_matrix,
    monitored_range,
)

MIN_BASELINE = 11
"""Shortest baseline (days) the NSSP detectors test with."""
ALERT_P = 0.01
"""p-value below which pynssp raises an alert (red)."""


def _check(n_time: int, baseline: int, guard: int, name: str) -> None:
    if baseline < 7:
        raise AberrationInputError(f"{name}: baseline b={baseline} must be at least 7")
    if guard < 0:
        raise AberrationInputError(f"{name}: guard band g={guard} cannot be negative")
    if n_time < baseline + guard + 1:
        raise AberrationInputError(
            f"{name}: not enough historical data: {n_time} time points, "
            f"need at least b + g + 1 = {baseline + guard + 1}"
        )


def _selected(range_: Iterable[int] | None, first: int, n_time: int) -> npt.NDArray[np.int64]:
    positions = monitored_range(range_, first, n_time)
    if positions[0] < first:
        raise AberrationInputError(
            f"the detector applies from position {first} (11-day baseline plus guard band), "
            f"got a range starting at {positions[0]}"
        )
    return positions


def ewma(
    counts: npt.ArrayLike,
    *,
    range_: Iterable[int] | None = None,
    b: int = 28,
    g: int = 2,
    w1: float = 0.4,
    w2: float = 0.9,
) -> DetectionResult:
    """NSSP EWMA (pynssp ``alert_ewma``) on every series.

    Two EWMAs (``w1`` for gradual, ``w2`` for sudden changes) are tested against the baseline
    mean with inflated, floored sigmas; the smaller p-value wins. ``expected`` is the baseline
    mean, ``score`` the winning test statistic; extras ``pvalue``. Default range: position
    ``11 + g + 1`` to the end (before that pynssp reports no test, "grey").
    """
    matrix = as_series_matrix(counts)
    n_series, n_time = matrix.shape
    _check(n_time, b, g, "ewma")
    first = MIN_BASELINE + g + 1
    positions = _selected(range_, first, n_time)
    weights = np.array([w1, w2])
    if np.any((weights <= 0) | (weights > 1)):
        raise AberrationInputError(f"smoothing weights must be in (0, 1], got w1={w1}, w2={w2}")

    smoothed = np.empty((2, n_series))
    smoothed[:] = matrix[:, 0]
    for i in range(1, MIN_BASELINE + g):
        smoothed = weights[:, None] * matrix[:, i] + (1 - weights[:, None]) * smoothed

    shape = (n_series, n_time)
    expected, score, p_value, upperbound = (np.full(shape, np.nan) for _ in range(4))
    for i in range(MIN_BASELINE + g, n_time):
        length = min(i - g, b + 1)
        window = matrix[:, i - g - length : i - g]
        mean = window.mean(axis=1)
        sigma = window.std(axis=1, ddof=1)
        n_df = length - 1
        # stdtrit/stdtr are what scipy.stats.t evaluates. pynssp rounds the t quantiles to 5
        # decimals before using them.
        ucl_alert = round(float(stdtrit(n_df, 1 - 0.01)), 5)
        ucl_warning = round(float(stdtrit(n_df, 1 - 0.025)), 5)
        correction = np.sqrt(
            weights / (2 - weights)
            + 1 / length
            - 2 * (1 - weights) ** (g + 1) * ((1 - (1 - weights) ** length) / length)
        )
        min_sigma = (weights / ucl_warning) * (1 + 0.5 * (1 - weights) ** 2)
        constant = (0.1289 - (0.2414 - 0.1826 * (1 - weights) ** 4) * np.log(10 * 0.05)) * (
            weights / ucl_warning
        )
        sigmas = np.maximum(
            min_sigma[:, None], sigma[None, :] * correction[:, None] + constant[:, None]
        )
        previous = smoothed
        smoothed = weights[:, None] * matrix[:, i] + (1 - weights[:, None]) * previous
        stats = (smoothed - mean) / sigmas
        clipped = np.abs(stats) > ucl_alert
        smoothed = np.where(clipped, mean + np.sign(stats) * ucl_alert * sigmas, smoothed)
        p_values = 1 - stdtr(n_df, stats)
        first_wins = p_values[0] < p_values[1]
        expected[:, i] = mean
        score[:, i] = np.where(first_wins, stats[0], stats[1])
        p_value[:, i] = np.where(first_wins, p_values[0], p_values[1])
        quantile = float(stdtrit(n_df, 1 - ALERT_P))
        bounds = (mean + quantile * sigmas - (1 - weights[:, None]) * previous) / weights[:, None]
        upperbound[:, i] = bounds.min(axis=0)
    return _result(
        "ewma",
        matrix,
        positions,
        expected,
        upperbound,
        score,
        p_value,
        {"b": b, "g": g, "w1": w1, "w2": w2},
    )


def regression(
    counts: npt.ArrayLike,
    dates: Sequence[dt.date] | npt.ArrayLike,
    *,
    range_: Iterable[int] | None = None,
    b: int = 28,
    g: int = 2,
) -> DetectionResult:
    """NSSP adaptive multiple regression (pynssp ``alert_regression``) on every series.

    A linear model with trend and day-of-week terms is fitted to the baseline and forecast
    ``g + 1`` days ahead; the test statistic is the residual over a bounded standard error.
    ``dates`` (daily, one per time point) give the day of week. ``expected`` is the forecast
    (floored at 0), ``score`` the test statistic; extras ``pvalue``.
    """
    matrix = as_series_matrix(counts)
    n_series, n_time = matrix.shape
    _check(n_time, b, g, "regression")
    if b % 7 != 0:
        raise AberrationInputError(f"regression: baseline b={b} must be a multiple of 7")
    days = as_dates(dates)
    if len(days) != n_time:
        raise AberrationInputError(f"regression: got {len(days)} dates for {n_time} time points")
    weekday = np.array([day.isoweekday() for day in days])  # Monday = 1 .. Sunday = 7
    if len(set(days)) != n_time:
        raise AberrationInputError("regression: dates must be unique (one row per day)")
    first = MIN_BASELINE + g + 1
    positions = _selected(range_, first, n_time)
    df_range = np.arange(1, b - 3 + 1)
    min_sigma = 1.01 / np.round(stdtrit(df_range, 1 - 0.05), 5)

    shape = (n_series, n_time)
    expected, score, p_value, upperbound = (np.full(shape, np.nan) for _ in range(4))
    for i in range(MIN_BASELINE + g, n_time):
        length = min(i - g, b)
        rows = np.arange(i - g - length, i - g)
        time = np.arange(1, length + 1, dtype=np.float64)
        dummies = (weekday[rows][:, None] == np.arange(1, 7)[None, :]).astype(np.float64)
        design = np.column_stack([np.ones(length), time, dummies])
        coefficients, *_ = np.linalg.lstsq(design, matrix[:, rows].T, rcond=None)
        residuals = matrix[:, rows].T - design @ coefficients
        n_df = length - 8
        mse = (residuals**2).sum(axis=0) / n_df
        inflation = np.sqrt(((length + 7) * (length - 4)) / (length * (length - 7)))
        sigma = np.maximum(np.sqrt(mse) * inflation, min_sigma[n_df])
        test_time = length + g + 1
        forecast = coefficients[0] + test_time * coefficients[1]
        if weekday[i] < 7:
            forecast = forecast + coefficients[weekday[i] + 1]
        forecast = np.maximum(0.0, forecast)
        stats = (matrix[:, i] - forecast) / sigma
        expected[:, i] = forecast
        score[:, i] = stats
        p_value[:, i] = 1 - stdtr(n_df, stats)
        upperbound[:, i] = forecast + float(stdtrit(n_df, 1 - ALERT_P)) * sigma
    return _result(
        "regression", matrix, positions, expected, upperbound, score, p_value, {"b": b, "g": g}
    )


def _result(
    method: str,
    matrix: FloatArray,
    positions: npt.NDArray[np.int64],
    expected: FloatArray,
    upperbound: FloatArray,
    score: FloatArray,
    p_value: FloatArray,
    control: dict[str, float],
) -> DetectionResult:
    columns = positions - 1
    return DetectionResult(
        method=method,
        index=positions,
        observed=matrix[:, columns],
        expected=expected[:, columns],
        upperbound=upperbound[:, columns],
        score=score[:, columns],
        alarm=p_value[:, columns] < ALERT_P,
        control=control,
        extras={"pvalue": p_value[:, columns]},
    )
