"""Farrington et al. (1996) outbreak detection as R `surveillance::algo.farrington` computes it.

For each monitored week ``k`` a quasi-Poisson GLM (log link, optional linear trend) is fitted
to the weeks ``k - freq*i + (-w..w)``, ``i = 1..b``; baseline weeks with large Anscombe
residuals (> 1) are down-weighted and the model refitted; the trend is kept only when it is
significant (p < 0.05), ``b >= 3`` and the prediction does not exceed the largest baseline
count; the 2/3-power transformed prediction interval (two-sided ``alpha``, dispersion
``phi = max(dispersion, 1)`` in both terms of the variance) gives the upper bound; no alarm
unless ``limit54`` (5 cases in the past 4 weeks) is reached, in which case R reports bound 0.

Every series is fitted at once for a given week (see ``glm``), which is where the speed over
R comes from; results follow R's arithmetic and convergence rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import norm
from scipy.stats import t as student_t

from wellbeat.analytics.aberration.glm import (
    MACHINE_EPS,
    QuasiPoissonFit,
    anscombe_residuals,
    fit_quasipoisson,
    reweighting_weights,
)
from wellbeat.analytics.aberration.result import (
    AberrationInputError,
    BoolArray,
    DetectionResult,
    FloatArray,
    IntArray,
    as_series_matrix,
    monitored_range,
)

PowerTransform = Literal["2/3", "1/2", "none"]
_EXPONENTS: dict[str, float] = {"2/3": 2 / 3, "1/2": 1 / 2, "none": 1.0}


def power_exponent(powertrans: str) -> float:
    """Exponent of R's ``powertrans`` ("2/3", "1/2" or "none")."""
    if powertrans not in _EXPONENTS:
        raise AberrationInputError(f"powertrans {powertrans!r} is not one of 2/3, 1/2, none")
    return _EXPONENTS[powertrans]


# --- dates, as R's seq.Date and the reference-week rules compute them -----------------------


def shift_months(day: dt.date, months: int) -> dt.date:
    """``seq(day, by = "<months> month")[2]`` in R: a day past the month's end rolls over."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, 1) + dt.timedelta(days=day.day - 1)


def as_dates(dates: Sequence[dt.date] | npt.ArrayLike) -> list[dt.date]:
    """Epoch dates as ``datetime.date`` objects (accepts numpy datetime64 and strings)."""
    values = np.asarray(dates, dtype="datetime64[D]")
    return [dt.date.fromisoformat(str(value)) for value in values]


def _epoch_unit(frequency: int) -> str:
    units = {52: "week", 365: "day", 12: "month"}
    if frequency not in units:
        raise AberrationInputError(
            f"dated series must have frequency 52, 365 or 12 (R's epochAsDate), got {frequency}"
        )
    return units[frequency]


def reference_indices_by_date(
    day: dt.date, b: int, w: int, frequency: int, lookup: dict[dt.date, int]
) -> list[int | None]:
    """R ``refvalIdxByDate``: 0-based positions of the reference values, ``None`` if absent."""
    unit = _epoch_unit(frequency)
    reference_days: list[dt.date] = []
    for year in range(1, b + 1):
        centre = shift_months(day, -12 * year)
        for offset in range(-w, w + 1):
            if unit == "week":
                reference_days.append(centre + dt.timedelta(days=7 * offset))
            elif unit == "day":
                reference_days.append(centre + dt.timedelta(days=offset))
            else:
                reference_days.append(shift_months(centre, offset))
    if unit == "week":
        weekday = _r_weekday(day)
        aligned = []
        for ref in reference_days:
            forward = (weekday - _r_weekday(ref)) % 7
            backward = (_r_weekday(ref) - weekday) % 7
            aligned.append(ref + dt.timedelta(days=forward if forward < backward else -backward))
        reference_days = aligned
    elif unit == "month":
        reference_days = [ref - dt.timedelta(days=ref.day - day.day) for ref in reference_days]
    return [lookup.get(ref) for ref in reference_days]


def _r_weekday(day: dt.date) -> int:
    """``format(day, "%w")``: 0 = Sunday."""
    return day.isoweekday() % 7


# --- thresholds --------------------------------------------------------------------------------


def delta_threshold(
    mu0: FloatArray, se_fit: FloatArray, phi: FloatArray, exponent: float, z: float
) -> tuple[FloatArray, FloatArray]:
    """Upper bound of the power-transformed prediction interval and its standard error.

    ``tau = phi + se_fit^2 / mu0``; on the ``exponent`` scale the variance is
    ``mu0 * tau`` (none), ``tau / 4`` (1/2) or ``4/9 mu0^(1/3) tau`` (2/3).
    """
    tau = phi + se_fit**2 / mu0
    if exponent == 1.0:
        se = np.sqrt(mu0 * tau)
    elif exponent == 0.5:
        se = np.sqrt(tau / 4)
    else:
        se = np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)
    with np.errstate(invalid="ignore"):
        upper = (mu0**exponent + z * se) ** (1 / exponent)
    return np.asarray(upper), np.asarray(se)


# --- model fitting shared by both Farrington variants -----------------------------------------


@dataclass(frozen=True)
class FarringtonFit:
    """What the detectors need from one (re)weighted Farrington GLM per batch row."""

    eta0: FloatArray  # linear predictor at the monitored point
    variance0: FloatArray  # x0' (X'WX)^-1 x0, unscaled
    phi: FloatArray  # max(dispersion, 1)
    dispersion: FloatArray  # summary.glm dispersion of the final fit
    trend_p: FloatArray  # two-sided t-test p-value of the trend (NaN without trend)
    slope: FloatArray  # trend coefficient per time unit (NaN without trend)
    has_trend: BoolArray
    converged: BoolArray  # first fit converged (with or, after falling back, without trend)


def fit_farrington_models(
    designs: dict[bool, FloatArray],
    x0: dict[bool, FloatArray],
    y: FloatArray,
    used: BoolArray,
    offset: FloatArray,
    offset0: FloatArray,
    with_trend: BoolArray,
    *,
    reweight: bool,
    weights_threshold: float,
    slope_scale: float,
    offset_fallback_quirk: bool = False,
    prior_weights_in_summary: bool = False,
) -> FarringtonFit:
    """Fit R's Farrington GLM (``algo.farrington.fitGLM.fast`` / ``...fitGLM.flexible``).

    ``designs[True]`` has the trend column second, ``designs[False]`` has none; each is
    (batch, n, p). A fit with trend that does not converge is refitted without (R's fallback);
    the reweighting refit uses the same design and is not checked for convergence (as in R).
    ``offset_fallback_quirk`` reproduces ``algo.farrington.fitGLM.populationOffset``: its
    fallback fit drops the offset too, and its reweighting refit goes back to the full model.
    ``prior_weights_in_summary`` reproduces ``algo.farrington.fitGLM.flexible``, which stores
    the reweighting weights in ``model$weights``: ``summary.glm`` then estimates the dispersion
    (used for the trend test and the prediction's standard error, not for ``phi``) from those
    weights instead of the working weights.
    """
    batch = y.shape[0]
    out = {
        "eta0": np.full(batch, np.nan),
        "variance0": np.full(batch, np.nan),
        "phi": np.full(batch, np.nan),
        "dispersion": np.full(batch, np.nan),
        "trend_p": np.full(batch, np.nan),
        "slope": np.full(batch, np.nan),
    }
    has_trend = np.zeros(batch, dtype=bool)
    converged = np.zeros(batch, dtype=bool)
    weights = used.astype(np.float64)
    no_offset = np.zeros_like(offset)
    # Each stage: rows, its first fit, whether that fit used the offset, and the final design.
    stages: list[tuple[IntArray, QuasiPoissonFit, bool, bool]] = []
    rows_trend = np.flatnonzero(with_trend)
    rows_const = np.flatnonzero(~with_trend)
    if rows_trend.size:
        first = fit_quasipoisson(
            designs[True][rows_trend], y[rows_trend], weights[rows_trend], offset[rows_trend]
        )
        stages.append((rows_trend[first.converged], first.subset(first.converged), True, True))
        failed = rows_trend[~first.converged]
        if offset_fallback_quirk and failed.size:
            fallback = fit_quasipoisson(
                designs[False][failed], y[failed], weights[failed], no_offset[failed]
            )
            stages.append((failed, fallback, False, reweight))
        else:
            rows_const = np.sort(np.concatenate([rows_const, failed]))
    if rows_const.size:
        first = fit_quasipoisson(
            designs[False][rows_const], y[rows_const], weights[rows_const], offset[rows_const]
        )
        stages.append((rows_const, first, True, False))
    for rows, fit, first_offset, trend in stages:
        if rows.size == 0:
            continue
        y_rows, used_rows = y[rows], used[rows]
        converged[rows] = fit.converged
        final_offset = offset[rows] if (first_offset or reweight) else no_offset[rows]
        phi = np.maximum(fit.dispersion, 1.0)
        if reweight:
            residuals = anscombe_residuals(fit, y_rows, phi)
            omega = reweighting_weights(residuals, used_rows, weights_threshold)
            fit = fit_quasipoisson(designs[trend][rows], y_rows, omega, final_offset)
            phi = np.maximum(fit.dispersion, 1.0)
            if prior_weights_in_summary:
                fit = fit.with_dispersion(_prior_weighted_dispersion(fit, y_rows, omega))
        offset_now = offset0[rows] if (first_offset or reweight) else np.zeros(rows.size)
        eta0, variance0 = fit.link_prediction(x0[trend][rows], offset_now)
        out["eta0"][rows] = eta0
        out["variance0"][rows] = variance0
        out["phi"][rows] = phi
        out["dispersion"][rows] = fit.dispersion
        if trend:
            has_trend[rows] = True
            slope = fit.coefficients[:, 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                t_value = slope / np.sqrt(fit.dispersion * fit.cov_unscaled[:, 1, 1])
            out["trend_p"][rows] = 2 * student_t.sf(np.abs(t_value), fit.df_residual)
            out["slope"][rows] = slope / slope_scale
    return FarringtonFit(has_trend=has_trend, converged=converged, **out)


def _prior_weighted_dispersion(
    fit: QuasiPoissonFit, y: FloatArray, prior: FloatArray
) -> FloatArray:
    """``summary.glm`` dispersion when ``model$weights`` holds the prior weights."""
    with np.errstate(divide="ignore", invalid="ignore"):
        working_residuals = (y - fit.mu) / fit.mu
        terms = np.where(prior > 0, prior * working_residuals**2, 0.0)
        return np.asarray(terms.sum(axis=1) / fit.df_residual)


def select_rows(fit: FarringtonFit, rows: IntArray) -> FarringtonFit:
    """The batch rows ``rows`` of ``fit``."""
    return FarringtonFit(
        eta0=fit.eta0[rows],
        variance0=fit.variance0[rows],
        phi=fit.phi[rows],
        dispersion=fit.dispersion[rows],
        trend_p=fit.trend_p[rows],
        slope=fit.slope[rows],
        has_trend=fit.has_trend[rows],
        converged=fit.converged[rows],
    )


def replace_rows(fit: FarringtonFit, rows: IntArray, other: FarringtonFit) -> FarringtonFit:
    """``fit`` with the batch rows ``rows`` taken from ``other`` (refits without trend)."""
    merged = {}
    for name in FarringtonFit.__dataclass_fields__:
        values = np.array(getattr(fit, name), copy=True)
        values[rows] = getattr(other, name)
        merged[name] = values
    return FarringtonFit(**merged)


def limit54_reached(matrix: FloatArray, position: int, limit54: tuple[int, int]) -> BoolArray:
    """At least ``limit54[0]`` cases in the ``limit54[1]`` periods ending at ``position``."""
    cases, periods = limit54
    window = matrix[:, max(0, position - periods) : position]
    return np.asarray(window.sum(axis=1) >= cases)


def check_limit54(limit54: tuple[int, int]) -> tuple[int, int]:
    """R's check: cases >= 0 and period > 0."""
    cases, periods = (int(value) for value in limit54)
    if cases < 0 or periods <= 0:
        raise AberrationInputError(
            f"limit54 {limit54} is out of bounds: cases must be >= 0 and the period > 0"
        )
    return cases, periods


def trend_designs(
    wtime: FloatArray, centre: float, scale: float, n_series: int
) -> tuple[dict[bool, FloatArray], dict[bool, FloatArray]]:
    """Designs ``1 + wtime`` and ``1``, broadcast to every series, and their rows at ``centre``.

    ``wtime`` is centred on the monitored point and scaled for a well-conditioned fit; the
    fitted values (and so every result) do not depend on that choice.
    """
    column = (wtime - centre) / scale
    with_trend = np.column_stack([np.ones_like(column), column])
    designs = {
        True: np.broadcast_to(with_trend, (n_series, *with_trend.shape)),
        False: np.broadcast_to(with_trend[:, :1], (n_series, with_trend.shape[0], 1)),
    }
    x0 = {True: np.tile([1.0, 0.0], (n_series, 1)), False: np.ones((n_series, 1))}
    return designs, x0


@dataclass(frozen=True)
class BaselineData:
    """One monitored time point's baseline for every series: designs, counts and offsets."""

    designs: dict[bool, FloatArray]
    x0: dict[bool, FloatArray]
    y: FloatArray
    used: BoolArray
    offset: FloatArray
    offset0: FloatArray
    offset_fallback_quirk: bool = False
    prior_weights_in_summary: bool = False

    def fit(
        self,
        which: IntArray,
        with_trend: bool,
        *,
        reweight: bool,
        weights_threshold: float,
        slope_scale: float,
    ) -> FarringtonFit:
        """Fit the series ``which`` with or without the trend term."""
        return fit_farrington_models(
            {key: value[which] for key, value in self.designs.items()},
            {key: value[which] for key, value in self.x0.items()},
            self.y[which],
            self.used[which],
            self.offset[which],
            self.offset0[which],
            np.full(which.size, with_trend),
            reweight=reweight,
            weights_threshold=weights_threshold,
            slope_scale=slope_scale,
            offset_fallback_quirk=self.offset_fallback_quirk,
            prior_weights_in_summary=self.prior_weights_in_summary,
        )


def fit_with_trend_rules(
    baseline: BaselineData,
    *,
    trend: bool,
    b: int,
    p_threshold_trend: float,
    reweight: bool,
    weights_threshold: float,
    slope_scale: float,
) -> FarringtonFit:
    """Fit with trend where asked, then keep the trend only where R does: significant at
    ``p_threshold_trend``, ``b >= 3`` and a prediction not above the largest baseline count;
    elsewhere refit without it."""
    everyone = np.arange(baseline.y.shape[0])
    # With b < 3 R never keeps the trend: fitting it first and refitting (or falling back)
    # without it ends in the same no-trend model, so go there directly.
    fit = baseline.fit(
        everyone,
        trend and b >= 3,
        reweight=reweight,
        weights_threshold=weights_threshold,
        slope_scale=slope_scale,
    )
    if not trend:
        return fit
    with np.errstate(over="ignore"):
        mu_hat = np.maximum(np.exp(fit.eta0), MACHINE_EPS)
    max_response = np.max(np.where(baseline.used, baseline.y, -np.inf), axis=1)
    keep = fit.has_trend & (b >= 3) & (fit.trend_p < p_threshold_trend) & (mu_hat <= max_response)
    redo = np.flatnonzero(fit.has_trend & ~keep)
    if redo.size:
        refit = baseline.fit(
            redo,
            False,
            reweight=reweight,
            weights_threshold=weights_threshold,
            slope_scale=slope_scale,
        )
        fit = replace_rows(fit, redo, refit)
    return fit


FARRINGTON_FIT_FUNCTIONS = (
    "algo.farrington.fitGLM.fast",
    "algo.farrington.fitGLM",
    "algo.farrington.fitGLM.populationOffset",
)
"""R's ``fitFun`` choices; the first two fit the same model, the third adds
``offset(log(population))``."""


def farrington(
    counts: npt.ArrayLike,
    *,
    range_: Iterable[int] | None = None,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    alpha: float = 0.05,
    trend: bool = True,
    limit54: tuple[int, int] = (5, 4),
    powertrans: PowerTransform = "2/3",
    fit_fun: str = "algo.farrington.fitGLM.fast",
    frequency: int = 52,
    population: npt.ArrayLike | None = None,
    dates: Sequence[dt.date] | npt.ArrayLike | None = None,
) -> DetectionResult:
    """Run R ``algo.farrington`` on every series (``farrington(sts, control)`` for sts).

    Defaults are R's: ``range_`` from ``freq*b - w`` to the end (reference weeks before the
    start of the series are left out, as R does with a warning). ``population`` (series x
    time, or one row for all) is only used by ``fit_fun=...populationOffset``. ``dates``
    (one per time point) switch to R's date-based reference weeks (``epochAsDate``).
    ``expected`` is the prediction ``mu0``; ``score`` is R's ``(y - mu0) / (U - mu0)``, 0
    when ``limit54`` is not reached (R then also reports an upper bound of 0).
    """
    matrix = as_series_matrix(counts)
    n_series, n_time = matrix.shape
    if fit_fun not in FARRINGTON_FIT_FUNCTIONS:
        raise AberrationInputError(
            f"fit_fun {fit_fun!r} is not one of {', '.join(FARRINGTON_FIT_FUNCTIONS)}"
        )
    if b < 1 or w < 0:
        raise AberrationInputError(f"b must be >= 1 and w >= 0, got b={b}, w={w}")
    exponent = power_exponent(powertrans)
    limits = check_limit54(limit54)
    positions = monitored_range(range_, frequency * b - w, n_time)
    pop = _population_matrix(population, matrix.shape)
    use_offset = fit_fun.endswith("populationOffset")
    date_list = as_dates(dates) if dates is not None else None
    if date_list is not None and len(date_list) != n_time:
        raise AberrationInputError(f"got {len(date_list)} dates for {n_time} time points")
    lookup = {day: i for i, day in enumerate(date_list)} if date_list else {}
    z = float(norm.ppf(1 - alpha / 2))

    shape = (n_series, positions.size)
    expected, upperbound, score = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    trend_flag = np.zeros(shape)
    for column, k in enumerate(positions):
        if date_list is not None:
            found = reference_indices_by_date(date_list[k - 1], b, w, frequency, lookup)
            rows = np.array([i for i in found if i is not None], dtype=np.int64)
        else:
            wanted = np.array(
                [k - frequency * i + j for i in range(b, 0, -1) for j in range(-w, w + 1)]
            )
            rows = wanted[wanted > 0] - 1
        if rows.size < 2:
            raise AberrationInputError(
                f"at position {k}: {rows.size} reference values exist within b={b} years and "
                f"w={w}; start the range later"
            )
        y = matrix[:, rows]
        used = ~np.isnan(y)
        designs, x0 = trend_designs(
            rows.astype(np.float64) + 1, float(k), float(frequency), n_series
        )
        if use_offset:
            offset = np.log(pop[:, rows])
            offset0 = np.log(pop[:, k - 1])
        else:
            offset, offset0 = np.zeros_like(y), np.zeros(n_series)

        baseline = BaselineData(designs, x0, y, used, offset, offset0, use_offset)
        fit = fit_with_trend_rules(
            baseline,
            trend=trend,
            b=b,
            p_threshold_trend=0.05,
            reweight=reweight,
            weights_threshold=1.0,
            slope_scale=float(frequency),
        )
        with np.errstate(over="ignore"):
            mu0 = np.maximum(np.exp(fit.eta0), MACHINE_EPS)
        se_fit = np.sqrt(fit.variance0 * fit.phi) * mu0
        upper, _ = delta_threshold(mu0, se_fit, fit.phi, exponent, z)
        enough = limit54_reached(matrix, int(k), limits)
        observed_k = matrix[:, k - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (observed_k - mu0) / (upper - mu0)
        score[:, column] = np.where(enough, ratio, 0.0)
        upperbound[:, column] = np.where(enough, upper, 0.0)
        expected[:, column] = mu0
        trend_flag[:, column] = fit.has_trend
    return DetectionResult(
        method="farrington",
        index=positions,
        observed=matrix[:, positions - 1],
        expected=expected,
        upperbound=upperbound,
        score=score,
        alarm=score > 1,
        control={
            "b": b,
            "w": w,
            "reweight": reweight,
            "alpha": alpha,
            "trend": trend,
            "limit54": limits,
            "powertrans": powertrans,
            "fit_fun": fit_fun,
            "frequency": frequency,
        },
        extras={"trend": trend_flag},
    )


def _population_matrix(population: npt.ArrayLike | None, shape: tuple[int, int]) -> FloatArray:
    """Population per series and time (ones when not given)."""
    if population is None:
        return np.ones(shape)
    values = np.asarray(population, dtype=np.float64)
    if values.ndim == 1:
        values = values[np.newaxis, :]
    try:
        values = np.broadcast_to(values, shape)
    except ValueError:
        raise AberrationInputError(
            f"population has shape {values.shape}; expected {shape} (series x time) or one row"
        ) from None
    if np.any(values <= 0):
        raise AberrationInputError("population must be > 0 everywhere (it enters as log)")
    return np.asarray(values)
