"""k-nearest-neighbour and distance-band weights on centroids; layers keyed by any field."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping

from wellbeat.geo import AreaLayer, AreaLayerError
from wellbeat.geo.layers import layer_from_geojson_field
from wellbeat.geo.proximity import (
    centroids,
    distance_band_weights,
    ellipsoid_distance_m,
    nearest_neighbour_weights,
)

from .builders import collection, feature


def _scatter_layer(n: int = 60, seed: int = 0) -> AreaLayer:
    """Small squares scattered over a city-sized box, ids 'S0'..."""
    rng = np.random.default_rng(seed)
    xs, ys = rng.uniform(-87.9, -87.5, n), rng.uniform(41.7, 42.0, n)
    features = [feature(f"S{i}", shapely.box(x, y, x + 0.001, y + 0.001)) for i, (x, y) in
                enumerate(zip(xs, ys, strict=True))]  # fmt: skip
    return layer_from_geojson_field(collection(features), "id")


def test_ellipsoid_distance_known_values() -> None:
    # One degree of longitude on the equator: a * pi / 180 on the WGS84 ellipsoid.
    assert ellipsoid_distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_319.49, abs=0.05)
    # One degree of latitude at 45 N is about 111.13 km (geodesic 111,132 m).
    assert ellipsoid_distance_m(0.0, 44.5, 0.0, 45.5) == pytest.approx(111_132, rel=1e-4)
    assert ellipsoid_distance_m(3.0, 4.0, 3.0, 4.0) == 0.0


def test_nearest_neighbours_are_the_brute_force_ones() -> None:
    layer = _scatter_layer()
    points = centroids(layer)
    weights = nearest_neighbour_weights(layer, 5)
    assert weights.shape == (60, 60) and np.all(weights.sum(axis=1) == 5)
    assert weights.diagonal().sum() == 0
    for i in range(60):
        d = ellipsoid_distance_m(points[i, 0], points[i, 1], points[:, 0], points[:, 1])
        d[i] = np.inf
        assert set(weights[i].indices.tolist()) == set(np.argsort(d)[:5].tolist())


def test_distance_band_is_symmetric_and_exact() -> None:
    layer = _scatter_layer()
    points = centroids(layer)
    weights = distance_band_weights(layer, 5_000)
    assert (weights != weights.T).nnz == 0
    for i, j in itertools.combinations(range(60), 2):
        d = ellipsoid_distance_m(points[i, 0], points[i, 1], points[j, 0], points[j, 1])
        assert bool(weights[i, j]) == (d <= 5_000)


def test_bad_k_and_band() -> None:
    layer = _scatter_layer(5)
    with pytest.raises(ValueError, match="the layer has 5"):
        nearest_neighbour_weights(layer, 5)
    with pytest.raises(ValueError, match="k >= 1"):
        nearest_neighbour_weights(layer, 0)
    with pytest.raises(ValueError, match="metres > 0"):
        distance_band_weights(layer, -1.0)


def test_layer_by_field_accepts_whole_number_ids_and_names_bad_ones() -> None:
    squares = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    document = collection(
        [
            {"type": "Feature", "properties": {"POLYID": polyid}, "geometry": mapping(square)}
            for polyid, square in zip([1.0, 2], squares, strict=True)
        ]
    )
    layer = layer_from_geojson_field(document, "POLYID", source="x.geojson")
    assert layer.ids == ("1", "2") and layer.names == ("1", "2")
    document["features"][1]["properties"]["POLYID"] = 1
    with pytest.raises(AreaLayerError, match="feature 1, field 'POLYID': duplicate id '1'"):
        layer_from_geojson_field(document, "POLYID", source="x.geojson")
    document["features"][1]["properties"]["POLYID"] = 1.5
    with pytest.raises(AreaLayerError, match=r"id 1\.5 is not a whole number"):
        layer_from_geojson_field(document, "POLYID", source="x.geojson")
    with pytest.raises(AreaLayerError, match="feature 0: no property 'GEOID'"):
        layer_from_geojson_field(document, "GEOID", source="x.geojson")
