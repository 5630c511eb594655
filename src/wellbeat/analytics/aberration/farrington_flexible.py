"""Improved Farrington (Noufaily et al. 2013) as R `surveillance::farringtonFlexible` computes it.

Differences from the original method, all R defaults: baseline weeks come from ``b`` years of
``2w+1``-week windows plus, with ``noPeriods > 1``, a seasonal factor over the rest of each
year; the ``pastWeeksNotIncluded`` (= ``w``) most recent weeks are left out; reweighting uses
Anscombe residuals above 2.58; the bound is one-sided (``qnorm(1 - alpha)``); an optional
``offset(log(population))``; alarm when the score exceeds 1 and the count is not 0.

Traps kept from R: the standard error of the prediction uses the model's own dispersion
estimate (R passes ``dispersion`` inside the new data, so ``predict.glm`` ignores it) while
``tau`` uses ``phi = max(dispersion, 1)``; for ``nbPlugin``/``muan`` the score divides by
``U - eta0`` (eta0 on the log scale, as R does); a time point whose GLM does not converge even
without trend gives missing values and no alarm.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import nbinom, norm, poisson

from wellbeat.analytics.aberration.farrington import (
    BaselineData,
    FarringtonFit,
    _population_matrix,
    as_dates,
    check_limit54,
    delta_threshold,
    fit_with_trend_rules,
    limit54_reached,
    power_exponent,
    shift_months,
)
from wellbeat.analytics.aberration.glm import MACHINE_EPS
from wellbeat.analytics.aberration.result import (
    AberrationInputError,
    DetectionResult,
    FloatArray,
    as_series_matrix,
    monitored_range,
)

ThresholdMethod = Literal["delta", "nbPlugin", "muan"]
THRESHOLD_METHODS: tuple[str, ...] = ("delta", "nbPlugin", "muan")


def reference_positions(
    k: int, b: int, frequency: int, dates: list[dt.date] | None, lookup: dict[dt.date, int]
) -> list[int]:
    """1-based positions of ``k`` and the same week ``1..b`` years back, newest first (R
    ``algo.farrington.referencetimepoints``; weekly dates move to the nearest same weekday)."""
    if dates is None:
        points = [k - frequency * i for i in range(b + 1)]
        if min(points) < 1:
            raise AberrationInputError(
                f"at position {k}: reference time points {b} years back do not exist; "
                "decrease b or start the range later"
            )
        return points
    day = dates[k - 1]
    found: list[int] = []
    for i in range(b + 1):
        ref = shift_months(day, -12 * i)
        if frequency == 52:
            shift = (ref.isoweekday() % 7) - (day.isoweekday() % 7)
            first = ref - dt.timedelta(days=shift)
            second = first + dt.timedelta(days=-7 if first > ref else 7)
            ref = second if abs((first - ref).days) > abs((second - ref).days) else first
        if ref not in lookup:
            raise AberrationInputError(
                f"at position {k} ({day}): reference date {ref} is not in the series; "
                "decrease b or start the range later"
            )
        found.append(lookup[ref] + 1)
    return found


def seasonal_blocks(
    n_time: int, k: int, reference: list[int], b: int, w: int, no_periods: int
) -> FloatArray:
    """R ``blocks``: the seasonal group of every position (NaN outside the baseline).

    Windows of ``2w+1`` weeks around each reference week (and the ``w`` weeks up to ``k``)
    are group ``noPeriods``; the stretch between consecutive windows is cut into
    ``noPeriods - 1`` near-equal blocks, numbered 1, 2, ... in time order.
    """
    factors = np.full(n_time + 1, np.nan)  # index 0 unused: positions are 1-based
    factors[k - w : k + 1] = no_periods
    for i in range(1, b + 1):
        ref_week = reference[i]
        if ref_week - w < 0:
            raise AberrationInputError(
                f"at position {k}: the window around reference week {ref_week} starts before "
                "the series; decrease b or w, or start the range later"
            )
        # R ignores a zero index, so a window may start one week before the series.
        factors[max(ref_week - w, 1) : ref_week + w + 1] = no_periods
        if no_periods == 1:
            continue
        period = reference[i - 1] - 2 * w - 1 - ref_week
        if period < no_periods - (2 * w + 1) or period < no_periods - 1:
            raise AberrationInputError(
                f"no_periods {no_periods} is too big for the {period} weeks between windows"
            )
        length, rest = divmod(period, no_periods - 1)
        lengths = np.full(no_periods - 1, length)
        lengths[:rest] += 1
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        for j in range(1, no_periods):
            first = ref_week + w + 1 + bounds[j - 1]
            factors[first : ref_week + w + 1 + bounds[j]] = j
    return factors[1:]


def farrington_flexible(
    counts: npt.ArrayLike,
    *,
    range_: Iterable[int] | None = None,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    alpha: float = 0.05,
    trend: bool = True,
    p_threshold_trend: float = 0.05,
    limit54: tuple[int, int] = (5, 4),
    powertrans: str = "2/3",
    population_offset: bool = False,
    no_periods: int = 1,
    past_weeks_not_included: int | None = None,
    threshold_method: ThresholdMethod = "delta",
    frequency: int = 52,
    population: npt.ArrayLike | None = None,
    dates: Sequence[dt.date] | npt.ArrayLike | None = None,
) -> DetectionResult:
    """Run R ``farringtonFlexible(sts, control)`` on every series.

    Defaults are R's; ``range_`` defaults to ``freq*b + w + 1`` to the end. ``population``
    (series x time or one row) enters only with ``population_offset``. ``dates`` (one per time
    point) use R's date-based reference weeks (``epochAsDate``). Extras: ``pvalue`` (R's
    ``control$pvalue``) and ``trend`` (1 when the time trend was kept).
    """
    matrix = as_series_matrix(counts)
    n_series, n_time = matrix.shape
    if threshold_method not in THRESHOLD_METHODS:
        raise AberrationInputError(
            f"threshold_method {threshold_method!r} is not one of {', '.join(THRESHOLD_METHODS)}"
        )
    if b < 1 or w < 0 or no_periods < 1:
        raise AberrationInputError(
            f"b must be >= 1, w >= 0 and no_periods >= 1, got b={b}, w={w}, no_periods={no_periods}"
        )
    exponent = power_exponent(powertrans)
    limits = check_limit54(limit54)
    past = w if past_weeks_not_included is None else past_weeks_not_included
    positions = monitored_range(range_, frequency * b + w + 1, n_time)
    pop = _population_matrix(population, matrix.shape)
    date_list = as_dates(dates) if dates is not None else None
    if date_list is not None and len(date_list) != n_time:
        raise AberrationInputError(f"got {len(date_list)} dates for {n_time} time points")
    lookup = {day: i for i, day in enumerate(date_list)} if date_list else {}
    day_numbers = (
        np.array([day.toordinal() for day in date_list], dtype=np.float64) if date_list else None
    )
    z = float(norm.ppf(1 - alpha))

    shape = (n_series, positions.size)
    results = {name: np.full(shape, np.nan) for name in ("expected", "upper", "score", "p")}
    trend_flag = np.zeros(shape)
    alarm = np.zeros(shape, dtype=bool)
    for column, k in enumerate(positions):
        k = int(k)
        reference = reference_positions(k, b, frequency, date_list, lookup)
        blocks = seasonal_blocks(n_time, k, reference, b, w, no_periods)
        blocks[max(0, k - past - 1) : k] = np.nan
        rows = np.flatnonzero(~np.isnan(blocks))
        if day_numbers is not None:
            step = day_numbers[1] - day_numbers[0]
            wtime = (day_numbers[rows] - day_numbers[rows[0]]) / step
            wtime_now = (day_numbers[k - 1] - day_numbers[rows[0]]) / step
        else:
            wtime, wtime_now = rows + 1.0, float(k)
        designs, x0 = _designs(wtime, wtime_now, blocks[rows], no_periods, frequency, n_series)
        y = matrix[:, rows]
        used = ~np.isnan(y)
        if population_offset:
            offset, offset0 = np.log(pop[:, rows]), np.log(pop[:, k - 1])
        else:
            offset, offset0 = np.zeros_like(y), np.zeros(n_series)

        fit = fit_with_trend_rules(
            BaselineData(designs, x0, y, used, offset, offset0, prior_weights_in_summary=reweight),
            trend=trend,
            b=b,
            p_threshold_trend=p_threshold_trend,
            reweight=reweight,
            weights_threshold=weights_threshold,
            slope_scale=float(frequency),
        )
        observed_k = matrix[:, k - 1]
        expected, upper, score, p_value = _threshold(
            fit, observed_k, threshold_method, exponent, z, alpha
        )
        enough = limit54_reached(matrix, k, limits)
        failed = ~fit.converged
        results["upper"][:, column] = np.where(enough & ~failed, upper, np.nan)
        results["expected"][:, column] = np.where(
            enough & ~failed & ~np.isnan(upper), expected, np.nan
        )
        results["score"][:, column] = np.where(failed, np.nan, score)
        results["p"][:, column] = np.where(failed, np.nan, p_value)
        trend_flag[:, column] = np.where(failed, np.nan, fit.has_trend)
        alarm[:, column] = enough & ~failed & (score > 1) & (observed_k != 0)
    return DetectionResult(
        method="farrington-flexible",
        index=positions,
        observed=matrix[:, positions - 1],
        expected=results["expected"],
        upperbound=results["upper"],
        score=results["score"],
        alarm=alarm,
        control={
            "b": b,
            "w": w,
            "reweight": reweight,
            "weights_threshold": weights_threshold,
            "alpha": alpha,
            "trend": trend,
            "p_threshold_trend": p_threshold_trend,
            "limit54": limits,
            "powertrans": powertrans,
            "population_offset": population_offset,
            "no_periods": no_periods,
            "past_weeks_not_included": past,
            "threshold_method": threshold_method,
            "frequency": frequency,
        },
        extras={"pvalue": results["p"], "trend": trend_flag},
    )


def _designs(
    wtime: FloatArray,
    wtime_now: float,
    groups: FloatArray,
    no_periods: int,
    frequency: int,
    n_series: int,
) -> tuple[dict[bool, FloatArray], dict[bool, FloatArray]]:
    """``1 + wtime + seasgroups`` and ``1 + seasgroups`` (treatment coding, first level as
    reference) with the rows for the monitored point (group ``no_periods``)."""
    levels = np.unique(groups) if no_periods != 1 else np.array([])
    dummies = (
        (groups[:, np.newaxis] == levels[np.newaxis, 1:]).astype(np.float64)
        if levels.size
        else np.zeros((groups.size, 0))
    )
    now_dummies = (levels[1:] == no_periods).astype(np.float64)
    time_column = (wtime - wtime_now) / frequency
    ones = np.ones_like(time_column)
    with_trend = np.column_stack([ones, time_column, dummies])
    without = np.column_stack([ones, dummies])
    designs = {
        True: np.broadcast_to(with_trend, (n_series, *with_trend.shape)),
        False: np.broadcast_to(without, (n_series, *without.shape)),
    }
    x0 = {
        True: np.tile(np.concatenate([[1.0, 0.0], now_dummies]), (n_series, 1)),
        False: np.tile(np.concatenate([[1.0], now_dummies]), (n_series, 1)),
    }
    return designs, x0


def _threshold(
    fit: FarringtonFit,
    observed: FloatArray,
    method: str,
    exponent: float,
    z: float,
    alpha: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Expected count, upper bound, score and exceedance probability per series."""
    # R predicts without passing the dispersion: the se uses summary.glm's estimate.
    se_link = np.sqrt(fit.variance0 * fit.dispersion)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if method == "delta":
            mu0 = np.maximum(np.exp(fit.eta0), MACHINE_EPS)
            se_fit = se_link * mu0
            upper, se = delta_threshold(mu0, se_fit, fit.phi, exponent, z)
            p_value = norm.sf(observed**exponent, loc=mu0**exponent, scale=se)
            score = (observed - mu0) / (upper - mu0)
            return mu0, upper, score, p_value
        quantile_mean = np.exp(fit.eta0) if method == "nbPlugin" else np.exp(fit.eta0 + z * se_link)
        finite = np.isfinite(quantile_mean)
        overdispersed = fit.phi > 1
        size = quantile_mean / (fit.phi - 1)
        upper = np.where(
            overdispersed,
            nbinom.ppf(1 - alpha, size, 1 / fit.phi),
            poisson.ppf(1 - alpha, quantile_mean),
        )
        p_value = np.where(
            overdispersed,
            nbinom.sf(observed - 1, size, 1 / fit.phi),
            poisson.sf(observed - 1, quantile_mean),
        )
        upper = np.where(finite, upper, np.nan)
        p_value = np.where(finite, p_value, np.nan)
        score = (observed - fit.eta0) / (upper - fit.eta0)
        return np.exp(fit.eta0), upper, score, p_value
