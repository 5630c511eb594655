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


def test_a_case_has_islands() -> None:
    """The distance band leaves three columbus areas without neighbours."""
    assert sum(case.islands.sum() for case in CASES) == 3


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gi_star_matches_spdep_localg(case: GoldenCase) -> None:
    """Everywhere but on islands, where spdep reports the area's own standardised value."""
    result = gi_star(case.column("value"), case.structure())
    kept = ~case.islands
    assert np.isnan(result.z[case.islands]).all()
    assert result.islands.tolist() == case.islands.tolist()
    for ours, column in ((result.z, "g_z"), (result.p_value, "g_p")):
        np.testing.assert_allclose(ours[kept], case.column(column)[kept], rtol=0, atol=TOLERANCE)
    for ours, column in ((result.g, "g"), (result.expected, "g_expected"),
                         (result.variance, "g_variance")):  # fmt: skip
        np.testing.assert_allclose(ours[kept], case.column(column)[kept], rtol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_local_moran_matches_spdep_localmoran(case: GoldenCase) -> None:
    """spdep's Z is NaN on islands (Ii = E = Var = 0); ours is NaN there too."""
    result = local_moran(case.column("value"), case.structure())
    kept = ~case.islands
    for ours, column in ((result.ii, "ii"), (result.expected, "ii_expected"),
                         (result.variance, "ii_variance"), (result.z, "ii_z"),
                         (result.p_value, "ii_p")):  # fmt: skip
        np.testing.assert_allclose(ours[kept], case.column(column)[kept], rtol=0, atol=TOLERANCE)
    assert np.isnan(case.column("ii_z")[case.islands]).all()
    assert np.isnan(result.z[case.islands]).all()
    quadrants = [
        row["quadrant"].replace("High", "H").replace("Low", "L").replace("-", "")
        for row in case.rows
    ]
    assert result.quadrant[kept].tolist() == np.array(quadrants)[kept].tolist()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_local_moran_total_randomisation_matches_spdep(case: GoldenCase) -> None:
    result = local_moran(case.column("value"), case.structure(), conditional=False)
    kept = ~case.islands
    for ours, column, tolerance in ((result.expected, "ii_expected_total", 1e-12),
                                    (result.variance, "ii_variance_total", 1e-9),
                                    (result.z, "ii_z_total", TOLERANCE)):  # fmt: skip
        np.testing.assert_allclose(ours[kept], case.column(column)[kept], rtol=0, atol=tolerance)


def test_global_moran_of_columbus_crime_is_the_textbook_value() -> None:
    """Mean of the local Moran's I (row-standardised) is global Moran's I: 0.500189."""
    case = next(c for c in CASES if c.name == "columbus_crime_queen")
    meta = json.loads((GOLDEN / "golden.json").read_text())
    ii = local_moran(case.column("value"), case.structure()).ii
    # spdep's Ii uses the variance with divisor n, so sum(Ii) / S0 is global I (S0 = n).
    assert ii.mean() == pytest.approx(meta["columbus_crime_queen_global_moran_i"], abs=1e-12)
    assert ii.mean() == pytest.approx(0.500189, abs=5e-7)
