"""The one result every aberration detector returns, and the input checks they share.

Detectors take a 2-D array of counts (series x time; a 1-D array is one series) and a monitored
range given as R's ``range``: 1-based positions into the time axis. Results are aligned to the
range, one column per monitored position, so they compare row for row with R `surveillance`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class AberrationInputError(ValueError):
    """The series or a control parameter cannot be used by the detector (says which and why)."""


@dataclass(frozen=True)
class DetectionResult:
    """Observed, expected, upper bound, score and alarm for every series and monitored position.

    Arrays are ``(series, len(index))``. ``index`` holds the 1-based positions (R's ``range``).
    ``extras`` carries method-specific by-products (Farrington's trend flag and dispersion, the
    NSSP p-value) with the same shape. NaN marks a value the reference also leaves missing.
    """

    method: str
    index: IntArray
    observed: FloatArray
    expected: FloatArray
    upperbound: FloatArray
    score: FloatArray
    alarm: BoolArray
    control: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, FloatArray] = field(default_factory=dict)

    @property
    def n_series(self) -> int:
        """Number of series (rows)."""
        return int(self.observed.shape[0])

    def to_frame(self, series: int = 0) -> pd.DataFrame:
        """One series as a table: ``index, observed, expected, upperbound, score, alarm`` (0/1)."""
        if not 0 <= series < self.n_series:
            raise IndexError(f"series {series} out of range: the result has {self.n_series}")
        frame = pd.DataFrame(
            {
                "index": self.index,
                "observed": self.observed[series],
                "expected": self.expected[series],
                "upperbound": self.upperbound[series],
                "score": self.score[series],
                "alarm": self.alarm[series].astype(np.int64),
            }
        )
        for name, values in self.extras.items():
            frame[name] = values[series]
        return frame


def as_series_matrix(counts: npt.ArrayLike, name: str = "counts") -> FloatArray:
    """Counts as a float (series x time) matrix; a 1-D input is one series."""
    matrix = np.asarray(counts, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[np.newaxis, :]
    if matrix.ndim != 2:
        raise AberrationInputError(
            f"{name} must be 1-D (one series) or 2-D (series x time), got {matrix.ndim}-D"
        )
    if matrix.shape[1] == 0:
        raise AberrationInputError(f"{name} has no time points")
    if np.any(matrix[~np.isnan(matrix)] < 0):
        raise AberrationInputError(f"{name} contains negative values; counts must be >= 0")
    return matrix


def monitored_range(
    range_: Iterable[int] | None, default_start: int, n_time: int, *, sort: bool = True
) -> IntArray:
    """R's ``range`` (1-based positions) checked against the series length.

    ``None`` gives ``default_start:n_time`` like the R defaults.
    """
    if range_ is None:
        positions = np.arange(default_start, n_time + 1, dtype=np.int64)
    else:
        positions = np.asarray(list(range_), dtype=np.int64)
    if positions.size == 0:
        raise AberrationInputError(
            f"the monitored range is empty (series has {n_time} time points, "
            f"the default range starts at position {default_start})"
        )
    if positions.min() < 1 or positions.max() > n_time:
        raise AberrationInputError(
            f"range {positions.min()}:{positions.max()} is outside the series "
            f"(positions must be within 1..{n_time})"
        )
    return np.sort(positions) if sort else positions


def parse_range(text: str) -> list[int]:
    """``"START:END"`` (1-based, inclusive, as R's ``START:END``) as a list of positions."""
    parts = text.split(":")
    if len(parts) != 2 or not all(part.strip().lstrip("-").isdigit() for part in parts):
        raise AberrationInputError(f"range {text!r} must look like START:END, e.g. 105:312")
    start, end = (int(part) for part in parts)
    if end < start:
        raise AberrationInputError(f"range {text!r} ends before it starts")
    return list(range(start, end + 1))
