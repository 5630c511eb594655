"""H3 cells of event locations agree with the H3 library, point by point."""

from __future__ import annotations

import math

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.events.schema import H3_RESOLUTION
from wellbeat.geo import h3_cells

latitude = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False)
longitude = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    points=st.lists(st.tuples(latitude, longitude), max_size=30),
    resolution=st.integers(min_value=0, max_value=15),
)
def test_cells_match_h3_latlng_to_cell(points: list[tuple[float, float]], resolution: int) -> None:
    lat = np.array([p[0] for p in points], dtype=float)
    lon = np.array([p[1] for p in points], dtype=float)
    expected = [h3.latlng_to_cell(a, b, resolution) for a, b in points]
    assert h3_cells(lat, lon, resolution).tolist() == expected


def test_default_resolution_is_the_event_schema_resolution() -> None:
    cell = h3_cells([41.8781], [-87.6298])[0]
    assert h3.get_resolution(cell) == H3_RESOLUTION == 9
    assert cell == h3.latlng_to_cell(41.8781, -87.6298, 9)


def test_repeated_and_nearby_locations() -> None:
    rng = np.random.default_rng(7)
    sites_lat = rng.uniform(41.80, 41.90, 50)
    sites_lon = rng.uniform(-87.70, -87.60, 50)
    pick = rng.integers(0, 50, 2000)
    lat, lon = sites_lat[pick], sites_lon[pick]
    result = h3_cells(lat, lon)
    expected = [h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lon, strict=True)]
    assert result.tolist() == expected


def test_missing_or_impossible_coordinates_get_no_cell() -> None:
    lat = [41.8, math.nan, None, 41.8, 91.0, 41.8, math.inf]
    lon = [-87.6, -87.6, -87.6, None, -87.6, -181.0, -87.6]
    result = h3_cells(lat, lon)
    assert result[0] == h3.latlng_to_cell(41.8, -87.6, 9)
    assert result[1:].tolist() == [None] * 6


def test_no_points() -> None:
    assert h3_cells(np.array([]), np.array([])).tolist() == []
    assert h3_cells([math.nan], [math.nan]).tolist() == [None]


@pytest.mark.parametrize("resolution", [-1, 16, 9.0, True])
def test_resolution_must_be_an_h3_resolution(resolution: object) -> None:
    with pytest.raises(ValueError, match=r"H3 resolution must be an integer 0\.\.15"):
        h3_cells([41.8], [-87.6], resolution)  # type: ignore[arg-type]


def test_rows_without_a_location_do_not_shift_the_others() -> None:
    rng = np.random.default_rng(11)
    lat, lon = rng.uniform(41.7, 42.0, 300), rng.uniform(-87.9, -87.5, 300)
    every = h3_cells(lat, lon)
    gaps = lat.copy()
    gaps[::7] = np.nan
    with_gaps = h3_cells(gaps, lon)
    kept = ~np.isnan(gaps)
    assert with_gaps[kept].tolist() == every[kept].tolist()
    assert with_gaps[~kept].tolist() == [None] * int((~kept).sum())
