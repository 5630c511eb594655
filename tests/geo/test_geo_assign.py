"""Point-in-area assignment: inside, on boundaries, outside, missing coordinates."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.events.schema import OUTSIDE_AREA
from wellbeat.geo import AreaLayer, assign_all, assign_points, layer_from_geojson, load_layer

from .builders import collection, feature, grid_features

WriteLayer = Callable[[str, Any], Path]


def test_points_inside_squares_get_their_square(grid: AreaLayer) -> None:
    lon = [0.5, 1.5, 2.5, 0.25, 2.9]
    lat = [0.5, 0.5, 2.5, 1.75, 1.1]
    assert assign_points(grid, lon, lat).tolist() == ["r0c0", "r0c1", "r2c2", "r1c0", "r1c2"]


def test_point_on_a_shared_edge_goes_to_the_lowest_id(grid: AreaLayer) -> None:
    # x=1 separates r1c0 and r1c1; y=1 separates r0c1 and r1c1.
    assert assign_points(grid, [1.0, 1.5], [1.5, 1.0]).tolist() == ["r1c0", "r0c1"]


def test_point_on_a_corner_of_four_squares_goes_to_the_lowest_id(grid: AreaLayer) -> None:
    assert assign_points(grid, [2.0], [2.0]).tolist() == ["r1c1"]


def test_point_on_the_outer_boundary_belongs_to_the_area(grid: AreaLayer) -> None:
    assert assign_points(grid, [0.0, 3.0, 1.5], [0.5, 3.0, 0.0]).tolist() == [
        "r0c0",
        "r2c2",
        "r0c1",
    ]


def test_boundary_rule_does_not_depend_on_feature_order(write_layer: WriteLayer) -> None:
    reversed_layer = load_layer(write_layer("rev", collection(grid_features()[::-1])))
    assert assign_points(reversed_layer, [1.0, 2.0, 1.5], [1.5, 2.0, 1.0]).tolist() == [
        "r1c0",
        "r1c1",
        "r0c1",
    ]


def test_points_outside_or_without_coordinates_are_marked_outside(grid: AreaLayer) -> None:
    lon = [5.0, -0.001, math.nan, 1.5, None, math.inf, 200.0, 0.5]
    lat = [5.0, 1.0, 1.5, math.nan, 1.5, 1.0, 1.0, 95.0]
    assert assign_points(grid, lon, lat).tolist() == [OUTSIDE_AREA] * 8


def test_holes_multipolygons_and_islands(holes_and_islands: AreaLayer) -> None:
    lon = [0.5, 1.5, 2.5, 4.5, 6.5, 10.5, 5.5, 3.5, 2.0]
    lat = [0.5, 2.0, 2.0, 0.5, 3.5, 10.5, 0.5, 3.5, 2.0]
    assert assign_points(holes_and_islands, lon, lat).tolist() == [
        "ring",  # in the ring's body
        OUTSIDE_AREA,  # in the empty half of the hole
        "core",  # in the area that fills the other half of the hole
        "twin",  # first part of the multipolygon
        "twin",  # second part of the multipolygon
        "island",
        OUTSIDE_AREA,  # between the two parts of twin
        "ring",
        "core",  # on the hole's edge shared by ring and core: "core" < "ring"
    ]


def test_accepts_pandas_series_and_keeps_input_order(grid: AreaLayer) -> None:
    lon = pd.Series([2.5, None, 0.5])
    lat = pd.Series([0.5, 0.5, 2.5])
    assert assign_points(grid, lon, lat).tolist() == ["r0c2", OUTSIDE_AREA, "r2c0"]


def test_empty_input_gives_empty_output(grid: AreaLayer) -> None:
    result = assign_points(grid, np.array([]), np.array([]))
    assert result.shape == (0,)
    assert result.dtype == object


def test_mismatched_coordinates_are_rejected(grid: AreaLayer) -> None:
    with pytest.raises(ValueError, match=r"same length, got shapes \(2,\) and \(3,\)"):
        assign_points(grid, [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="must be numeric"):
        assign_points(grid, ["east"], [1.0])


def test_assign_all_names_columns_after_layers(
    grid: AreaLayer, holes_and_islands: AreaLayer
) -> None:
    result = assign_all([grid, holes_and_islands], [0.5, 2.5], [0.5, 2.0])
    assert list(result) == ["area_grid", "area_holes"]
    assert result["area_grid"].tolist() == ["r0c0", "r1c2"]
    assert result["area_holes"].tolist() == ["ring", "core"]


def test_assign_all_rejects_two_layers_with_one_name(grid: AreaLayer) -> None:
    with pytest.raises(ValueError, match="two layers are named 'grid'"):
        assign_all([grid, grid], [0.5], [0.5])


def test_assign_all_without_layers_is_empty(grid: AreaLayer) -> None:
    assert assign_all([], [0.5], [0.5]) == {}


coordinate = st.floats(min_value=-1.0, max_value=4.0, allow_nan=False)
# Points on grid lines (multiples of 0.5 include edges and corners) exercise the tie rule.
gridline = st.sampled_from([-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5])


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.one_of(coordinate, gridline), st.one_of(coordinate, gridline)),
        max_size=40,
    ),
    permutation=st.permutations(range(9)),
)
def test_each_point_gets_the_lowest_id_among_areas_covering_it(
    points: list[tuple[float, float]], permutation: list[int]
) -> None:

    features = grid_features()
    layer = layer_from_geojson(collection([features[i] for i in permutation]), "grid")
    lon = np.array([p[0] for p in points], dtype=float)
    lat = np.array([p[1] for p in points], dtype=float)
    result = assign_points(layer, lon, lat)
    for x, y, got in zip(lon, lat, result, strict=True):
        covering = sorted(
            area_id
            for area_id, geometry in zip(layer.ids, layer.geometries, strict=True)
            if shapely.covers(geometry, shapely.Point(x, y))
        )
        assert got == (covering[0] if covering else OUTSIDE_AREA)


def test_degree_scale_layer_in_real_coordinates(write_layer: WriteLayer) -> None:
    # Two beats side by side in Chicago-like coordinates; the shared edge is at lon -87.65.
    west = shapely.box(-87.70, 41.85, -87.65, 41.90)
    east = shapely.box(-87.65, 41.85, -87.60, 41.90)
    layer = load_layer(write_layer("beat", collection([feature("B2", west), feature("B1", east)])))
    result = assign_points(layer, [-87.675, -87.625, -87.65, -87.5], [41.87, 41.87, 41.87, 41.87])
    assert result.tolist() == ["B2", "B1", "B1", OUTSIDE_AREA]
