"""Gi* and local Moran against R spdep on its own example layers (goldens from make_golden.R)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wellbeat.analytics.spatial import gi_star, local_moran

from .golden_cases import CASE_IDS, CASES, GOLDEN, GoldenCase

TOLERANCE = 1e-6


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_neighbours_are_spdeps(case: GoldenCase) -> None:
    layer, structure = case.layer(), case.structure()
    assert list(layer.ids) == [row["id"] for row in case.rows]
    for i, row in enumerate(case.rows):
        expected = sorted(int(j) - 1 for j in row["neighbours"].split(";") if j)
        assert structure[i].indices.tolist() == expected, f"area {row['id']}"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gi_star_matches_spdep_localg(case: GoldenCase) -> None:
    result = gi_star(case.column("value"), case.structure())
    np.testing.assert_allclose(result.z, case.column("g_z"), rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(result.g, case.column("g"), rtol=1e-9)
    np.testing.assert_allclose(result.expected, case.column("g_expected"), rtol=1e-9)
    np.testing.assert_allclose(result.variance, case.column("g_variance"), rtol=1e-9)
    np.testing.assert_allclose(result.p_value, case.column("g_p"), rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_local_moran_matches_spdep_localmoran(case: GoldenCase) -> None:
    result = local_moran(case.column("value"), case.structure())
    np.testing.assert_allclose(result.ii, case.column("ii"), rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(result.expected, case.column("ii_expected"), atol=TOLERANCE)
    np.testing.assert_allclose(result.variance, case.column("ii_variance"), atol=TOLERANCE)
    np.testing.assert_allclose(result.z, case.column("ii_z"), rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(result.p_value, case.column("ii_p"), rtol=0, atol=TOLERANCE)
    quadrants = [
        row["quadrant"].replace("High", "H").replace("Low", "L").replace("-", "")
        for row in case.rows
    ]
    assert result.quadrant.tolist() == quadrants


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_local_moran_total_randomisation_matches_spdep(case: GoldenCase) -> None:
    result = local_moran(case.column("value"), case.structure(), conditional=False)
    np.testing.assert_allclose(result.expected, case.column("ii_expected_total"), atol=1e-12)
    np.testing.assert_allclose(result.variance, case.column("ii_variance_total"), atol=1e-9)
    np.testing.assert_allclose(result.z, case.column("ii_z_total"), rtol=0, atol=TOLERANCE)


def test_global_moran_of_columbus_crime_is_the_textbook_value() -> None:
    """Mean of the local Moran's I (row-standardised) is global Moran's I: 0.500189."""
    case = next(c for c in CASES if c.name == "columbus_crime_queen")
    meta = json.loads((GOLDEN / "golden.json").read_text())
    ii = local_moran(case.column("value"), case.structure()).ii
    # spdep's Ii uses the variance with divisor n, so sum(Ii) / S0 is global I (S0 = n).
    assert ii.mean() == pytest.approx(meta["columbus_crime_queen_global_moran_i"], abs=1e-12)
    assert ii.mean() == pytest.approx(0.500189, abs=5e-7)
