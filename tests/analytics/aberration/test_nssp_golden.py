"""NSSP EWMA and adaptive regression against CDC's pynssp 0.1.0 (goldens in golden/).

Alerts (red = p < 0.01) must be identical; expected values, test statistics and p-values
equal to 1e-6 relative.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from wellbeat.analytics.aberration.nssp import ewma, regression

from .golden_cases import GOLDEN, assert_matches

MANIFEST = json.loads((GOLDEN / "nssp_cases.json").read_text())
CASES = {entry["name"]: entry for entry in MANIFEST["cases"]}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pynssp(name: str) -> None:
    entry = CASES[name]
    data = pd.read_csv(GOLDEN / f"data_{entry['data']}.csv")
    counts = data.pivot(index="series", columns="index", values="count").to_numpy(float)
    dates = list(data[data["series"] == 1]["date"])
    theirs = pd.read_csv(GOLDEN / f"case_{name}.csv")
    if entry["method"] == "ewma":
        result = ewma(counts, **entry["args"])
    else:
        result = regression(counts, dates, **entry["args"])
    np.testing.assert_array_equal(result.index, np.sort(theirs["index"].unique()))

    def column(name: str) -> np.ndarray:
        return theirs.pivot(index="series", columns="index", values=name).to_numpy(float)

    mismatched = np.argwhere(result.alarm != column("alarm").astype(bool))
    assert mismatched.size == 0, f"alerts differ from pynssp at {mismatched[:10]}"
    assert_matches(result.expected, column("expected"), "expected")
    assert_matches(result.score, column("score"), "score")
    assert_matches(result.extras["pvalue"], column("pvalue"), "pvalue", rtol=1e-5)


def test_upperbound_is_the_alert_threshold_on_the_count() -> None:
    """One count above the bound raises the alert and the bound itself does not."""
    data = pd.read_csv(GOLDEN / "data_nssp_daily.csv")
    counts = data.pivot(index="series", columns="index", values="count").to_numpy(float)
    dates = list(data[data["series"] == 1]["date"])
    for detector in ("ewma", "regression"):
        run = (lambda c: ewma(c)) if detector == "ewma" else (lambda c: regression(c, dates))
        base = run(counts)
        day = 200
        column = int(np.flatnonzero(base.index == day)[0])
        for bump, alarms in ((1e-6, True), (-1e-6, False)):
            changed = counts.copy()
            changed[:, day - 1] = base.upperbound[:, column] + bump
            assert np.all(run(changed).alarm[:, column] == alarms), detector
