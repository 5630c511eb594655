"""Every method against R `surveillance` on the package's own data sets (goldens in golden/).

Alarms must be identical and upper bounds (and, where R reports them, expected values and
scores) equal to 1e-6 relative. R's missing values (NA) must be missing here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from wellbeat.analytics.aberration import (
    DetectionResult,
    cusum,
    ears,
    farrington,
    farrington_flexible,
)

from .golden_cases import GoldenCase, assert_matches, load_case, load_manifest

MANIFEST = load_manifest()
CASES = {entry["name"]: entry for entry in MANIFEST["cases"]}


def run_case(case: GoldenCase) -> DetectionResult:
    """Call our implementation with the case's arguments, as an analyst would."""
    args: dict[str, Any] = dict(case.args)
    if case.method == "ears":
        return ears(case.counts, **args)
    if case.method == "cusum":
        return cusum(case.counts, **args)
    extra: dict[str, Any] = {"population": case.population, "dates": case.dates}
    if case.method == "farrington":
        return farrington(case.counts, **args, **extra)
    return farrington_flexible(case.counts, **args, **extra)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_r_surveillance(name: str) -> None:
    case = load_case(CASES[name])
    result = run_case(case)
    r_index = np.sort(case.expected["index"].unique())
    np.testing.assert_array_equal(result.index, r_index)
    assert_matches(result.observed, case.r_column("observed"), "observed")
    r_alarm = case.r_column("alarm")
    ours_alarm = result.alarm.astype(np.float64)
    # R reports NA alarms where the bound is NA (flexible without convergence, EARS with a
    # zero baseline and C3); they are "no alarm" here.
    r_alarm = np.where(np.isnan(r_alarm), 0.0, r_alarm)
    mismatched = np.argwhere(ours_alarm != r_alarm)
    assert mismatched.size == 0, f"alarms differ from R at (series, column) {mismatched[:10]}"
    assert_matches(result.upperbound, case.r_column("upperbound"), "upperbound")
    for column in ("expected", "score", "pvalue", "trend"):
        if column not in case.expected.columns:
            continue
        ours = result.extras[column] if column in ("pvalue", "trend") else getattr(result, column)
        assert_matches(np.asarray(ours, dtype=np.float64), case.r_column(column), column)


def test_goldens_cover_every_surveillance_method() -> None:
    methods = {entry["method"] for entry in MANIFEST["cases"]}
    assert methods == {"ears", "cusum", "farrington", "farrington-flexible"}
    assert MANIFEST["surveillance_version"].startswith("1.20")
