"""Load the R `surveillance` golden cases written by ``golden/make_golden.R``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).parent / "golden"


@dataclass(frozen=True)
class GoldenCase:
    """One R run: its method, keyword arguments, input series and R's results."""

    name: str
    method: str
    args: dict[str, Any]
    counts: np.ndarray
    population: np.ndarray
    dates: list[str] | None
    expected: pd.DataFrame

    def r_column(self, column: str) -> np.ndarray:
        """R's values of ``column`` as a (series, range) matrix."""
        table = self.expected.pivot(index="series", columns="index", values=column)
        return table.to_numpy(dtype=np.float64)


def load_manifest(name: str = "cases.json") -> dict[str, Any]:
    """The manifest (versions and cases) of a golden directory."""
    return dict(json.loads((GOLDEN / name).read_text()))


def load_case(entry: dict[str, Any]) -> GoldenCase:
    """Read one case's input data and R output."""
    data = pd.read_csv(GOLDEN / f"data_{entry['data']}.csv")
    counts = data.pivot(index="series", columns="index", values="count").to_numpy(float)
    population = data.pivot(index="series", columns="index", values="population").to_numpy(float)
    dates = None
    if "date" in data.columns:
        dates = list(data[data["series"] == data["series"].iloc[0]]["date"])
    args = dict(entry["args"])
    if "range" in args:
        start, end = args.pop("range")
        args["range_"] = list(range(int(start), int(end) + 1))
    if "limit54" in args:
        args["limit54"] = tuple(args["limit54"])
    expected = pd.read_csv(GOLDEN / f"case_{entry['name']}.csv")
    return GoldenCase(
        name=entry["name"],
        method=entry["method"],
        args=args,
        counts=counts,
        population=population,
        dates=dates,
        expected=expected,
    )


def assert_matches(ours: np.ndarray, theirs: np.ndarray, what: str, rtol: float = 1e-6) -> None:
    """Equal to ``rtol`` relative (absolute 1e-9 near 0), NaN exactly where R has NA."""
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != R {theirs.shape}"
    missing_here, missing_r = np.isnan(ours), np.isnan(theirs)
    where = np.argwhere(missing_here != missing_r)
    assert where.size == 0, f"{what}: missing values differ from R at (series, column) {where[:5]}"
    ok = ~missing_r
    close = np.isclose(ours[ok], theirs[ok], rtol=rtol, atol=1e-9) | (ours[ok] == theirs[ok])
    if not close.all():
        bad = np.flatnonzero(~close)[:5]
        raise AssertionError(f"{what}: ours {ours[ok][bad]} vs R {theirs[ok][bad]}")
