"""Alert detection over indicator x area x period count matrices (framework-free).

Two kinds of signal come out of one matrix of counts (rows: areas, columns: consecutive days or
weeks):

- **aberrations**: a detector from :mod:`wellbeat.analytics.aberration` (EARS C2 for daily
  indicators, Farrington flexible for weekly ones by default) flags a period whose count is
  above its upper bound, and the count reaches a minimum (a single case after an all-zero
  baseline is not an alert);
- **threshold spikes** (ODMAP-style): an area's count in one day reaches the threshold its
  administrators set (``DEFAULT_SPIKE_THRESHOLD`` otherwise); queen neighbours are told too.

Every signal has a stable key (indicator, layer, area, method, period), so running detection
twice never raises the same signal twice; :func:`episode_of` decides when a signal extends a
running alert instead of opening a new one. See docs/alerts.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from wellbeat.analytics.aberration import (
    AberrationInputError,
    DetectionResult,
    cusum,
    ears,
    farrington_flexible,
)

SignalKind = Literal["aberration", "spike"]

DAILY_METHODS = ("ears-c1", "ears-c2", "ears-c3", "cusum")
WEEKLY_METHODS = ("farrington-flexible", "ears-c2", "cusum")
METHODS = ("ears-c1", "ears-c2", "ears-c3", "cusum", "farrington-flexible")
DEFAULT_DAILY_METHOD = "ears-c2"
DEFAULT_WEEKLY_METHOD = "farrington-flexible"
SPIKE_METHOD = "threshold"

DEFAULT_MIN_COUNT = 3
"""An aberration becomes an alert only when the period's count reaches this (ESSENCE-style
minimum): EARS with R's ``minSigma = 0`` alarms on one case after seven zero days, which on
sparse neighbourhood-day series is noise. Measured on the synthetic city (docs/alerts.md)."""

DEFAULT_SPIKE_THRESHOLD = 4
"""Events in one day in one area that raise a threshold spike alert unless the area's admins
set another number (ODMAP lets each jurisdiction set its own; docs/alerts.md)."""

EPISODE_GAP_DAYS = 2
"""A signal within this many days after an open alert's last signal (same indicator, area and
method) extends that alert: a running episode is one alert, not one per day."""


class AlertConfigError(ValueError):
    """A detection setting that cannot be used (names the setting and what was expected)."""


@dataclass(frozen=True)
class CountMatrix:
    """Counts of one indicator: ``counts[a, t]`` for area ``areas[a]`` in period ``periods[t]``.

    ``periods`` are consecutive period start dates (every day, or every week) with no gaps.
    """

    indicator: str
    layer: str
    period: Literal["day", "week"]
    areas: tuple[str, ...]
    periods: tuple[dt.date, ...]
    counts: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        shape = (len(self.areas), len(self.periods))
        if self.counts.shape != shape:
            raise AlertConfigError(
                f"indicator {self.indicator}: counts have shape {self.counts.shape}, expected "
                f"{shape} (areas x periods)"
            )
        step = 1 if self.period == "day" else 7
        for before, after in zip(self.periods, self.periods[1:], strict=False):
            if (after - before).days != step:
                raise AlertConfigError(
                    f"indicator {self.indicator}: periods must be consecutive {self.period}s; "
                    f"{before} is followed by {after}"
                )


def count_matrix(
    indicator: str,
    layer: str,
    period: Literal["day", "week"],
    rows: Sequence[tuple[str, dt.date, float]],
    areas: Sequence[str],
    start: dt.date,
    end: dt.date,
) -> CountMatrix:
    """A dense matrix from sparse (area, period start, count) rows; missing cells are 0.

    ``start``/``end`` are the first and last period starts (inclusive); rows outside them or in
    areas not listed are ignored (events without an area cannot be placed on a map)."""
    step = 1 if period == "day" else 7
    if end < start:
        raise AlertConfigError(f"indicator {indicator}: end {end} is before start {start}")
    n = (end - start).days // step + 1
    periods = tuple(start + dt.timedelta(days=step * i) for i in range(n))
    position = {area: i for i, area in enumerate(areas)}
    counts = np.zeros((len(areas), n), dtype=np.float64)
    for area, day, value in rows:
        row = position.get(area)
        offset = (day - start).days
        if row is None or offset < 0 or offset % step or offset // step >= n:
            continue
        counts[row, offset // step] += float(value)
    return CountMatrix(indicator, layer, period, tuple(areas), periods, counts)


def signal_key(indicator: str, layer: str, area: str, method: str, period: dt.date) -> str:
    """The identity of one signal: the same key is never raised twice."""
    return f"{indicator}|{layer}|{area}|{method}|{period.isoformat()}"


@dataclass(frozen=True)
class Signal:
    """One area-period over its bound (aberration) or at its threshold (spike)."""

    kind: SignalKind
    indicator: str
    layer: str
    area: str
    method: str
    period: dt.date
    observed: float
    expected: float | None
    upperbound: float | None
    score: float | None
    threshold: int | None = None

    @property
    def key(self) -> str:
        return signal_key(self.indicator, self.layer, self.area, self.method, self.period)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "indicator": self.indicator,
            "layer": self.layer,
            "area": self.area,
            "method": self.method,
            "period": self.period.isoformat(),
            "observed": self.observed,
            "expected": self.expected,
            "upperbound": self.upperbound,
            "score": self.score,
            "threshold": self.threshold,
        }


def default_method(period: str) -> str:
    """EARS C2 for daily indicators, Farrington flexible for weekly ones."""
    return DEFAULT_WEEKLY_METHOD if period == "week" else DEFAULT_DAILY_METHOD


def run_detector(matrix: CountMatrix, method: str) -> DetectionResult | None:
    """The detector's result over every area; None when the series is too short for it."""
    if method not in METHODS:
        raise AlertConfigError(f"method {method!r} is not one of {', '.join(METHODS)}")
    n_time = matrix.counts.shape[1]
    if matrix.counts.shape[0] == 0:
        return None
    try:
        if method.startswith("ears-"):
            variant = method.removeprefix("ears-").upper()
            return ears(matrix.counts, method=variant)  # type: ignore[arg-type]
        if method == "cusum":
            # R's algo.cusum estimates m from the observations before the monitored range:
            # monitor everything after the first 8 weeks (56 days or 8 weeks).
            if n_time <= 8:
                return None
            return cusum(matrix.counts, range_=range(9, n_time + 1))
        frequency = 52 if matrix.period == "week" else 365
        w = 3
        years = (n_time - w - 1) // frequency
        if years < 1:
            return None
        return farrington_flexible(
            matrix.counts,
            b=min(5, years),
            w=w,
            frequency=frequency,
            dates=list(matrix.periods),
        )
    except AberrationInputError:
        return None


def detect_aberrations(
    matrix: CountMatrix,
    method: str | None = None,
    *,
    since: dt.date | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
) -> list[Signal]:
    """Aberration signals of every area at or after ``since`` (default: every monitored period)."""
    if min_count < 1:
        raise AlertConfigError(f"min_count must be >= 1, got {min_count}")
    chosen = method or default_method(matrix.period)
    result = run_detector(matrix, chosen)
    if result is None:
        return []
    signals: list[Signal] = []
    alarm = result.alarm & (result.observed >= min_count)
    rows, cols = np.nonzero(alarm)
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        period = matrix.periods[int(result.index[col]) - 1]
        if since is not None and period < since:
            continue
        signals.append(
            Signal(
                kind="aberration",
                indicator=matrix.indicator,
                layer=matrix.layer,
                area=matrix.areas[row],
                method=chosen,
                period=period,
                observed=float(result.observed[row, col]),
                expected=_finite(result.expected[row, col]),
                upperbound=_finite(result.upperbound[row, col]),
                score=_finite(result.score[row, col]),
            )
        )
    return signals


def detect_spikes(
    matrix: CountMatrix,
    thresholds: Mapping[str, int] | None = None,
    *,
    default: int = DEFAULT_SPIKE_THRESHOLD,
    since: dt.date | None = None,
) -> list[Signal]:
    """ODMAP-style spikes: an area-day whose count reaches the area's threshold.

    ``thresholds`` maps area id to the number its administrators set; others use ``default``.
    Only daily matrices carry 24-hour counts."""
    if matrix.period != "day":
        raise AlertConfigError(
            f"indicator {matrix.indicator}: threshold spikes need daily counts, got {matrix.period}"
        )
    if default < 1:
        raise AlertConfigError(f"default spike threshold must be >= 1, got {default}")
    per_area = np.array(
        [int((thresholds or {}).get(area, default)) for area in matrix.areas], dtype=np.float64
    )
    if np.any(per_area < 1):
        raise AlertConfigError("every spike threshold must be >= 1")
    rows, cols = np.nonzero(matrix.counts >= per_area[:, np.newaxis])
    out: list[Signal] = []
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        period = matrix.periods[col]
        if since is not None and period < since:
            continue
        out.append(
            Signal(
                kind="spike",
                indicator=matrix.indicator,
                layer=matrix.layer,
                area=matrix.areas[row],
                method=SPIKE_METHOD,
                period=period,
                observed=float(matrix.counts[row, col]),
                expected=None,
                upperbound=None,
                score=None,
                threshold=int(per_area[row]),
            )
        )
    return out


def episode_of(
    last_signal: dt.date, signal_period: dt.date, gap_days: int = EPISODE_GAP_DAYS
) -> bool:
    """Whether a signal on ``signal_period`` continues an alert last signalled on
    ``last_signal`` (same indicator, area and method): at most ``gap_days`` later."""
    return 0 <= (signal_period - last_signal).days <= gap_days


def group_episodes(
    signals: Sequence[Signal], gap_days: int = EPISODE_GAP_DAYS
) -> list[list[Signal]]:
    """Signals grouped into episodes (same indicator, layer, area, method; close in time),
    each episode in date order; what one alert covers when detection runs over history."""
    ordered = sorted(
        {s.key: s for s in signals}.values(),
        key=lambda s: (s.indicator, s.layer, s.area, s.method, s.period),
    )
    episodes: list[list[Signal]] = []
    for signal in ordered:
        if episodes:
            last = episodes[-1][-1]
            same = (last.indicator, last.layer, last.area, last.method) == (
                signal.indicator,
                signal.layer,
                signal.area,
                signal.method,
            )
            if same and episode_of(last.period, signal.period, gap_days):
                episodes[-1].append(signal)
                continue
        episodes.append([signal])
    return episodes


def neighbours_to_notify(area: str, neighbours: Mapping[str, Sequence[str]]) -> list[str]:
    """The areas told about a spike in ``area``: its queen neighbours (sorted)."""
    return sorted(set(neighbours.get(area, ())) - {area})


def _finite(value: float) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None
