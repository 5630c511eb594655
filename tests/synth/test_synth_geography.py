"""Area layers: the contract with the geo package (docs/geography.md)."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import shape

from .conftest import BuiltCity


def _features(tiny: BuiltCity, layer: str) -> list[dict[str, Any]]:
    data = tiny.layer(layer)
    assert data["type"] == "FeatureCollection"
    features: list[dict[str, Any]] = data["features"]
    return features


def test_layers_have_the_agreed_properties(tiny: BuiltCity) -> None:
    sizes = {"neighbourhood": 60, "beat": 12, "district": 4}
    for layer, size in sizes.items():
        features = _features(tiny, layer)
        assert len(features) == size
        ids = [f["properties"]["id"] for f in features]
        assert len(set(ids)) == size
        for feature in features:
            props = feature["properties"]
            assert isinstance(props, dict)
            assert isinstance(props["id"], str) and props["name"]
            assert isinstance(props["population"], int) and props["population"] > 0
            assert feature["geometry"]["type"] == "Polygon"
    beats = {f["properties"]["id"] for f in _features(tiny, "beat")}
    districts = {f["properties"]["id"] for f in _features(tiny, "district")}
    for feature in _features(tiny, "neighbourhood"):
        props = feature["properties"]
        assert isinstance(props, dict)
        assert 0.0 <= props["deprivation"] <= 1.0
        assert props["beat"] in beats and props["district"] in districts
    for feature in _features(tiny, "beat"):
        assert feature["properties"]["district"] in districts


def test_neighbourhoods_tile_the_city_without_overlap(tiny: BuiltCity) -> None:
    shapes = [shape(f["geometry"]) for f in _features(tiny, "neighbourhood")]
    assert all(s.is_valid and s.area > 0 for s in shapes)
    city = shapely.union_all(shapes)
    assert city.geom_type == "Polygon"
    assert abs(sum(s.area for s in shapes) - city.area) < 1e-9
    assert abs(city.area - city.envelope.area) < 1e-9  # no holes or gaps inside the boundary
    # WGS84 around the fictional city's centre.
    lon, lat = city.centroid.x, city.centroid.y
    assert -94 < lon < -93 and 41 < lat < 42


def test_beats_and_districts_are_unions_of_their_neighbourhoods(tiny: BuiltCity) -> None:
    neighbourhoods = _features(tiny, "neighbourhood")
    for layer in ("beat", "district"):
        for feature in _features(tiny, layer):
            props = feature["properties"]
            assert isinstance(props, dict)
            members = [n for n in neighbourhoods if n["properties"][layer] == props["id"]]
            union = shapely.union_all([shape(n["geometry"]) for n in members])
            polygon = shape(feature["geometry"])
            assert polygon.symmetric_difference(union).area < 1e-9
            assert props["population"] == sum(n["properties"]["population"] for n in members)


def test_exterior_rings_are_counter_clockwise(tiny: BuiltCity) -> None:
    for layer in ("neighbourhood", "beat", "district"):
        for feature in _features(tiny, layer):
            polygon = shape(feature["geometry"])
            assert polygon.exterior.is_ccw


def test_deprivation_drives_where_overdoses_happen(tiny: BuiltCity) -> None:
    events = tiny.events()
    deprivation = {
        f["properties"]["id"]: f["properties"]["deprivation"]
        for f in _features(tiny, "neighbourhood")
    }
    overdoses = events[events["scenario"] == "overdose"]["neighbourhood"].map(deprivation)
    everyone = events[events["scenario"] == "medical"]["neighbourhood"].map(deprivation)
    assert overdoses.mean() > everyone.mean() + 0.1
