"""Equity in officer-initiated contacts: the disparity measures police-data programs publish,
and the veil-of-darkness test.

Framework-free and pure: every function takes plain columns (a pandas frame of stops, one row
per stop, with the canonical attributes of docs/events.md) and returns numbers with intervals.
See docs/methods.md ("Equity") for definitions and references.

* **Rates per population**: stops per 1,000 residents of each group (and area), with exact
  Poisson (Garwood) intervals; a rate ratio to a reference group with its Wald interval on the
  log scale.
* **Proportions per stop**: search rate (searched / stops), hit rate (contraband found /
  searched: the outcome test of Knowles, Persico & Todd 2001 as the Stanford Open Policing
  Project reports it), use of force per stop; Wilson score intervals; risk ratios to the
  reference group with Katz's log interval.
* **Veil of darkness** (Grogger & Ridgeway 2006; Pierson et al. 2020): among traffic stops in
  the inter-twilight period (clock times that are light on some days of the year and dark on
  others), does darkness, which hides a driver's race from the officer, change the share of
  stopped drivers who belong to the group? Logistic regression of the group indicator on
  darkness with a B-spline of the clock time (and optional location fixed effects); stops
  between sunset and the end of civil twilight are ambiguous and left out. A negative
  darkness coefficient (odds ratio < 1) means the group is stopped less when race is harder
  to see: evidence of bias in who is stopped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from astral import Observer
from astral.sun import dusk, sunset
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """A count over a denominator, the estimate and its interval, and the ratio to the
    reference group (``None`` for the reference itself or when undefined)."""

    group: str
    count: int
    denominator: int
    value: float | None
    low: float | None
    high: float | None
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (n > 0)."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def garwood(k: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson count k."""
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(stats.chi2.ppf(alpha / 2, 2 * k)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return low, high


def _log_ratio(
    value: float, reference: float, variance: float, z: float = Z95
) -> tuple[float, float, float]:
    ratio = value / reference
    half = z * math.sqrt(variance)
    return ratio, ratio * math.exp(-half), ratio * math.exp(half)


def proportions(
    counts: Mapping[str, int],
    denominators: Mapping[str, int],
    reference: str | None = None,
    confidence: float = 0.95,
) -> list[Estimate]:
    """k/n per group with Wilson intervals, and the risk ratio to ``reference`` (Katz's log
    interval: var log RR = 1/k1 - 1/n1 + 1/k0 - 1/n0). Groups with n = 0 have no value."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    out = []
    k0 = counts.get(reference, 0) if reference else 0
    n0 = denominators.get(reference, 0) if reference else 0
    for group in sorted(denominators):
        k, n = int(counts.get(group, 0)), int(denominators[group])
        if n == 0:
            out.append(Estimate(group, k, n, None, None, None))
            continue
        low, high = wilson(k, n, confidence)
        ratio: tuple[float | None, float | None, float | None] = (None, None, None)
        if reference and group != reference and k > 0 and k0 > 0 and n0 > 0:
            variance = 1 / k - 1 / n + 1 / k0 - 1 / n0
            ratio = _log_ratio(k / n, k0 / n0, variance, z)
        out.append(Estimate(group, k, n, k / n, low, high, *ratio))
    return out


def rates(
    counts: Mapping[str, int],
    population: Mapping[str, int],
    per: int = 1000,
    reference: str | None = None,
    confidence: float = 0.95,
) -> list[Estimate]:
    """Events per ``per`` residents of each group with exact Poisson intervals, and the rate
    ratio to ``reference`` (var log RR = 1/k1 + 1/k0). Groups without population are left out."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    out = []
    k0 = counts.get(reference, 0) if reference else 0
    p0 = population.get(reference, 0) if reference else 0
    for group in sorted(population):
        k, people = int(counts.get(group, 0)), int(population[group])
        if people <= 0:
            continue
        low, high = garwood(k, confidence)
        ratio: tuple[float | None, float | None, float | None] = (None, None, None)
        if reference and group != reference and k > 0 and k0 > 0 and p0 > 0:
            ratio = _log_ratio(k / people, k0 / p0, 1 / k + 1 / k0, z)
        out.append(
            Estimate(group, k, people, per * k / people, per * low / people, per * high / people,
                     *ratio)
        )  # fmt: skip
    return out


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().items()}


def _flag(values: pd.Series) -> pd.Series:
    return values.astype("string").str.lower().eq("true").fillna(False).astype(bool)


@dataclass(frozen=True)
class Disparities:
    """Per group: stop rates (when populations are given), search, hit and force rates."""

    stop_rate: list[Estimate]
    search_rate: list[Estimate]
    hit_rate: list[Estimate]
    force_per_stop: list[Estimate]


def disparities(
    stops: pd.DataFrame,
    *,
    group: str = "race",
    population: Mapping[str, int] | None = None,
    force: pd.DataFrame | None = None,
    reference: str = "white",
    per: int = 1000,
) -> Disparities:
    """The disparity measures over ``stops`` (one row per stop: ``group`` column, ``searched``
    and ``contraband_found`` as "true"/"false"), with ``force`` (one row per use of force, with
    ``stop_id`` naming the stop's ``event_id``, or the ``group`` column) counted per stop."""
    by_group = stops[group].astype("string").fillna("unknown")
    stop_counts = _counts(by_group)
    searched = _flag(stops["searched"]) if "searched" in stops else pd.Series(False, stops.index)
    hit = _flag(stops["contraband_found"]) if "contraband_found" in stops else searched & False
    search_counts = dict.fromkeys(stop_counts, 0) | _counts(by_group[searched])
    hit_counts = _counts(by_group[searched & hit])
    force_counts: dict[str, int] = {}
    if force is not None and len(force):
        if "stop_id" in force and "event_id" in stops:
            # Stops with any use of force, so a stop with two force types counts once.
            force_counts = _counts(by_group[stops["event_id"].isin(set(force["stop_id"]))])
        else:
            force_counts = _counts(force[group].astype("string").fillna("unknown"))
    return Disparities(
        stop_rate=rates(stop_counts, population, per, reference) if population else [],
        search_rate=proportions(search_counts, stop_counts, reference),
        hit_rate=proportions(hit_counts, search_counts, reference),
        force_per_stop=proportions(force_counts, stop_counts, reference),
    )


# --------------------------------------------------------------------------------------------
# Veil of darkness


def _clock_minutes(moment: datetime) -> float:
    return moment.hour * 60 + moment.minute + moment.second / 60


@cache
def _twilight(day: date, lat: float, lon: float, zone: str) -> tuple[float, float]:
    """Sunset and the end of civil twilight (dusk, sun 6 degrees below the horizon), as local
    clock minutes after midnight (astral's NOAA solar equations)."""
    observer = Observer(latitude=lat, longitude=lon)
    tz = ZoneInfo(zone)
    return (
        _clock_minutes(sunset(observer, date=day, tzinfo=tz)),
        _clock_minutes(dusk(observer, date=day, tzinfo=tz)),
    )


@dataclass(frozen=True)
class Twilight:
    """Per stop: its local clock minute, and whether it was light, dark or ambiguous."""

    minute: np.ndarray
    light: np.ndarray
    dark: np.ndarray
    inter_twilight: np.ndarray
    """The clock time lies between the year's earliest and latest dusk."""


def classify_twilight(
    occurred_at: Sequence[datetime] | pd.Series, lat: float, lon: float, zone: str
) -> Twilight:
    """Light (before sunset), dark (after dusk) or neither (between: ambiguous), for stops at
    UTC times ``occurred_at`` in a place at (lat, lon) whose clocks keep ``zone``."""
    local = pd.to_datetime(pd.Series(occurred_at), utc=True).dt.tz_convert(zone)
    minute = (local.dt.hour * 60 + local.dt.minute + local.dt.second / 60).to_numpy(float)
    days = local.dt.date.to_numpy()
    unique = sorted(set(days))
    table = {d: _twilight(d, round(lat, 4), round(lon, 4), zone) for d in unique}
    sunset = np.array([table[d][0] for d in days])
    dusk = np.array([table[d][1] for d in days])
    years = sorted({d.year for d in unique})
    all_dusks = [
        _twilight(d, round(lat, 4), round(lon, 4), zone)[1]
        for year in years
        for d in pd.date_range(f"{year}-01-01", f"{year}-12-31").date
    ]
    lo, hi = min(all_dusks), max(all_dusks)
    return Twilight(
        minute=minute,
        light=minute < sunset,
        dark=minute > dusk,
        inter_twilight=(minute >= lo) & (minute <= hi),
    )


@dataclass(frozen=True)
class VeilResult:
    """The darkness coefficient of the veil-of-darkness regression."""

    group: str
    coefficient: float
    standard_error: float
    z: float
    p_value: float
    odds_ratio: float
    odds_ratio_low: float
    odds_ratio_high: float
    stops: int
    dark: int
    light: int
    ambiguous_dropped: int
    outside_window_dropped: int


def veil_frame(
    stops: pd.DataFrame,
    *,
    lat: float,
    lon: float,
    zone: str,
    group: str = "black",
    race: str = "race",
    place: str | None = None,
) -> tuple[pd.DataFrame, int, int]:
    """The regression's data: inter-twilight stops that were clearly light or dark, with
    ``is_group`` (0/1), ``is_dark`` (0/1), ``minute`` and, with ``place``, ``place``. Returns the
    frame and the numbers of ambiguous and out-of-window stops dropped."""
    twilight = classify_twilight(stops["occurred_at"], lat, lon, zone)
    window = twilight.inter_twilight
    clear = twilight.light | twilight.dark
    keep = window & clear
    frame = pd.DataFrame(
        {
            "is_group": (stops[race].astype("string") == group).fillna(False).astype(int),
            "is_dark": twilight.dark.astype(int),
            "minute": twilight.minute,
        },
        index=stops.index,
    )
    if place is not None:
        frame["place"] = stops[place].astype("string").fillna("unknown").to_numpy()
    return (
        frame[keep].reset_index(drop=True),
        int((window & ~clear).sum()),
        int((~window).sum()),
    )


def veil_of_darkness_fit(frame: pd.DataFrame, *, spline_df: int = 6) -> tuple[float, float]:
    """Darkness coefficient and standard error of the logistic regression
    ``is_group ~ is_dark + bs(minute, df) [+ C(place)]`` (R: ``glm(..., family = binomial)``
    with ``splines::bs``), fitted by iteratively reweighted least squares (statsmodels)."""
    import statsmodels.api as sm
    from patsy import dmatrices

    formula = f"is_group ~ is_dark + bs(minute, df={spline_df})"
    if "place" in frame:
        formula += " + C(place)"
    y, x = dmatrices(formula, frame, return_type="dataframe")
    fit = sm.GLM(y, x, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
    return float(fit.params["is_dark"]), float(fit.bse["is_dark"])


def veil_of_darkness(
    stops: pd.DataFrame,
    *,
    lat: float,
    lon: float,
    zone: str,
    group: str = "black",
    race: str = "race",
    place: str | None = None,
    spline_df: int = 6,
) -> VeilResult:
    """The veil-of-darkness test over traffic ``stops`` (``occurred_at`` UTC, ``race``)."""
    frame, ambiguous, outside = veil_frame(
        stops, lat=lat, lon=lon, zone=zone, group=group, race=race, place=place
    )
    if frame["is_dark"].nunique() < 2 or frame["is_group"].nunique() < 2:
        raise ValueError(
            "the veil-of-darkness test needs light and dark stops in the inter-twilight "
            f"period and stops of {group!r} and of others; got {len(frame)} usable stops"
        )
    coefficient, se = veil_of_darkness_fit(frame, spline_df=spline_df)
    z = coefficient / se
    return VeilResult(
        group=group,
        coefficient=coefficient,
        standard_error=se,
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))),
        odds_ratio=math.exp(coefficient),
        odds_ratio_low=math.exp(coefficient - Z95 * se),
        odds_ratio_high=math.exp(coefficient + Z95 * se),
        stops=len(frame),
        dark=int(frame["is_dark"].sum()),
        light=int((1 - frame["is_dark"]).sum()),
        ambiguous_dropped=ambiguous,
        outside_window_dropped=outside,
    )
