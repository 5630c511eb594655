"""Loading, validating, exporting and installing area layers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from wellbeat.geo import (
    AreaLayer,
    AreaLayerError,
    add_layer,
    layer_from_geojson,
    load_layer,
    load_layers,
)

from .builders import collection, grid_features

WriteLayer = Callable[[str, Any], Path]


def test_grid_layer_loads_ids_names_population_and_extra_properties(grid: AreaLayer) -> None:
    assert grid.name == "grid"
    assert len(grid) == 9
    assert grid.ids[:3] == ("r0c0", "r0c1", "r0c2")
    assert grid.names[4] == "Area r1c1"
    assert grid.population.dtype == np.int64
    assert grid.population.tolist() == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert grid.population_of("r2c2") == 90
    assert grid.total_population == 450
    assert grid.properties[0]["district"] == "d1"
    assert shapely.equals(grid.geometries[4], shapely.box(1, 1, 2, 2))
    assert grid.bounds == (0.0, 0.0, 3.0, 3.0)


def test_layer_arrays_are_read_only(grid: AreaLayer) -> None:
    with pytest.raises(ValueError):
        grid.population[0] = 5


def test_unknown_area_names_the_layer_and_id(grid: AreaLayer) -> None:
    with pytest.raises(KeyError, match="layer 'grid' has no area with id 'nowhere'"):
        grid.population_of("nowhere")


def test_name_argument_overrides_the_file_stem(write_layer: WriteLayer) -> None:
    path = write_layer("Some File", collection(grid_features()))
    assert load_layer(path, name="beat").name == "beat"


def test_to_geojson_round_trips_through_a_file(grid: AreaLayer, write_layer: WriteLayer) -> None:
    document = grid.to_geojson()
    assert document["type"] == "FeatureCollection"
    first = document["features"][0]
    assert first["id"] == "r0c0"
    assert first["properties"] == {
        "id": "r0c0",
        "name": "Area r0c0",
        "population": 10,
        "district": "d1",
    }
    json.dumps(document)  # serialisable as is, for the web app's maps
    again = load_layer(write_layer("copy", document))
    assert again.ids == grid.ids
    assert again.population.tolist() == grid.population.tolist()
    assert all(shapely.equals(a, b) for a, b in zip(again.geometries, grid.geometries, strict=True))


def test_multipolygon_and_polygon_with_hole_are_accepted(holes_and_islands: AreaLayer) -> None:
    assert holes_and_islands.ids == ("ring", "core", "twin", "island")
    assert holes_and_islands.geometries[2].geom_type == "MultiPolygon"
    assert holes_and_islands.geometries[0].area == pytest.approx(12.0)


def test_legacy_crs_member_for_wgs84_is_accepted(write_layer: WriteLayer) -> None:
    document = collection(grid_features())
    document["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    assert len(load_layer(write_layer("crs", document))) == 9


BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


def _with(index: int, **changes: Any) -> dict[str, Any]:
    """The grid with feature ``index`` changed (property None means: remove it)."""
    features = grid_features()
    target = features[index]
    for key, value in changes.items():
        if key == "geometry":
            target["geometry"] = value
        elif value is None:
            del target["properties"][key]
        else:
            target["properties"][key] = value
    return collection(features)


FEATURE_ERRORS = [
    pytest.param(_with(3, id=None), "feature 3: missing required property 'id'", id="no-id"),
    pytest.param(
        _with(3, id=7), "feature 3: property 'id' must be a non-empty string, got 7", id="int-id"
    ),
    pytest.param(
        _with(3, id=" "), "feature 3: property 'id' must be a non-empty string", id="blank-id"
    ),
    pytest.param(
        _with(5, id="r0c1"),
        "feature 5 (id 'r0c1'): duplicate id 'r0c1', already used by feature 1",
        id="duplicate-id",
    ),
    pytest.param(
        _with(2, name=None), "feature 2 (id 'r0c2'): missing required property 'name'", id="no-name"
    ),
    pytest.param(
        _with(2, name=5), "feature 2 (id 'r0c2'): property 'name' must be a string", id="int-name"
    ),
    pytest.param(
        _with(4, population=None),
        "feature 4 (id 'r1c1'): missing required property 'population'",
        id="no-population",
    ),
    pytest.param(
        _with(4, population=12.5),
        "feature 4 (id 'r1c1'): property 'population' must be an integer >= 0, got 12.5 (float)",
        id="float-population",
    ),
    pytest.param(
        _with(4, population="120"),
        "property 'population' must be an integer >= 0, got '120' (str)",
        id="string-population",
    ),
    pytest.param(_with(4, population=True), "got True (bool)", id="bool-population"),
    pytest.param(
        _with(4, population=-3),
        "feature 4 (id 'r1c1'): property 'population' must be an integer >= 0, got -3",
        id="negative-population",
    ),
    pytest.param(
        _with(6, geometry={"type": "Point", "coordinates": [0.5, 0.5]}),
        "feature 6 (id 'r2c0'): geometry type 'Point' is not allowed; expected Polygon or "
        "MultiPolygon",
        id="point",
    ),
    pytest.param(
        _with(6, geometry={"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
        "geometry type 'LineString' is not allowed",
        id="linestring",
    ),
    pytest.param(
        _with(6, geometry=None), "feature 6 (id 'r2c0'): missing geometry", id="null-geometry"
    ),
    pytest.param(
        _with(7, geometry=BOWTIE),
        "feature 7 (id 'r2c1'): invalid Polygon: Self-intersection",
        id="bowtie",
    ),
    pytest.param(
        _with(7, geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}),
        "feature 7 (id 'r2c1'): malformed Polygon coordinates",
        id="too-few-points",
    ),
    pytest.param(
        _with(7, geometry={"type": "Polygon", "coordinates": []}),
        "feature 7 (id 'r2c1'): Polygon is empty",
        id="empty",
    ),
    pytest.param(
        _with(
            8,
            geometry={
                "type": "Polygon",
                "coordinates": [
                    [[440000, 4630000], [441000, 4630000], [441000, 4631000], [440000, 4630000]]
                ],
            },
        ),
        "feature 8 (id 'r2c2'): coordinates outside WGS84 range",
        id="projected",
    ),
    pytest.param(
        collection([{"type": "Feature", "geometry": SQUARE}]),
        "feature 0: 'properties' must be an object",
        id="no-properties",
    ),
    pytest.param(
        collection([SQUARE]),
        "feature 0: expected a GeoJSON object of type 'Feature'",
        id="not-feature",
    ),
]


@pytest.mark.parametrize(("document", "message"), FEATURE_ERRORS)
def test_invalid_feature_is_reported_with_file_index_and_problem(
    write_layer: WriteLayer, document: dict[str, Any], message: str
) -> None:
    path = write_layer("beat", document)
    with pytest.raises(AreaLayerError) as raised:
        load_layer(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


DOCUMENT_ERRORS = [
    pytest.param(
        '{"type": "FeatureCollection", "features": [', "line 1 column 44: not valid JSON", id="json"
    ),
    pytest.param(
        {"type": "Feature"},
        "expected a GeoJSON FeatureCollection, got 'Feature'",
        id="not-collection",
    ),
    pytest.param([1, 2], "expected a GeoJSON FeatureCollection, got 'list'", id="array"),
    pytest.param(
        {"type": "FeatureCollection", "features": []}, "the layer has no features", id="empty"
    ),
    pytest.param({"type": "FeatureCollection"}, "'features' must be a list", id="no-features"),
    pytest.param(
        {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "EPSG:26916"}},
            "features": grid_features(),
        },
        "expected WGS84 longitude/latitude",
        id="projected-crs",
    ),
]


@pytest.mark.parametrize(("document", "message"), DOCUMENT_ERRORS)
def test_invalid_document_is_reported_with_file_and_problem(
    write_layer: WriteLayer, document: Any, message: str
) -> None:
    path = write_layer("beat", document)
    with pytest.raises(AreaLayerError, match=r"^" + str(path).replace(".", r"\.")) as raised:
        load_layer(path)
    assert message in str(raised.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(AreaLayerError, match="no such layer file"):
        load_layer(tmp_path / "beat.geojson")


@pytest.mark.parametrize("name", ["Beat", "2020_tracts", "beat-areas", "beat areas", ""])
def test_layer_names_must_be_safe_column_suffixes(write_layer: WriteLayer, name: str) -> None:
    path = write_layer("ok", collection(grid_features()))
    with pytest.raises(AreaLayerError, match="is not allowed; expected lower-case letters"):
        load_layer(path, name=name)


def test_top_level_feature_id_is_not_taken_for_the_area_id() -> None:
    document = _with(2, id=None)
    document["features"][2]["id"] = 17
    with pytest.raises(AreaLayerError, match=r"top-level 'id' \(17\), copy it into 'properties'"):
        layer_from_geojson(document, "beat")


def test_add_layer_of_the_installed_file_itself_is_a_no_op(
    tmp_path: Path, write_layer: WriteLayer
) -> None:
    installed = add_layer(tmp_path, write_layer("beat", collection(grid_features())))
    again = add_layer(tmp_path, tmp_path / "areas" / "beat.geojson")
    assert again.ids == installed.ids
    assert [p.name for p in (tmp_path / "areas").iterdir()] == ["beat.geojson"]


def test_layer_from_geojson_names_the_source_in_errors() -> None:
    with pytest.raises(AreaLayerError, match=r"^upload\.geojson: feature 3: missing required"):
        layer_from_geojson(_with(3, id=None), "beat", source="upload.geojson")


def test_load_layers_sorts_by_name_and_skips_other_files(tmp_path: Path) -> None:
    for name in ("tract", "beat", "district"):
        (tmp_path / f"{name}.geojson").write_text(json.dumps(collection(grid_features())))
    (tmp_path / "README.txt").write_text("not a layer")
    (tmp_path / ".beat.geojson.123.tmp").write_text("half-written")
    (tmp_path / ".hidden.geojson").write_text("{")
    assert [layer.name for layer in load_layers(tmp_path)] == ["beat", "district", "tract"]


def test_load_layers_of_a_missing_or_empty_folder_is_empty(tmp_path: Path) -> None:
    assert load_layers(tmp_path / "areas") == []
    assert load_layers(tmp_path) == []


def test_load_layers_fails_on_a_bad_layer(tmp_path: Path) -> None:
    (tmp_path / "beat.geojson").write_text(json.dumps(_with(0, population=-1)))
    with pytest.raises(AreaLayerError, match=r"beat\.geojson: feature 0"):
        load_layers(tmp_path)


def test_add_layer_copies_the_file_unchanged_into_the_areas_folder(
    tmp_path: Path, write_layer: WriteLayer
) -> None:
    source = write_layer("neighbourhood", collection(grid_features()))
    data_dir = tmp_path / "hub"
    layer = add_layer(data_dir, source)
    target = data_dir / "areas" / "neighbourhood.geojson"
    assert layer.name == "neighbourhood"
    assert target.read_bytes() == source.read_bytes()
    assert [found.name for found in load_layers(data_dir / "areas")] == ["neighbourhood"]
    assert sorted(p.name for p in (data_dir / "areas").iterdir()) == ["neighbourhood.geojson"]


def test_add_layer_under_another_name(tmp_path: Path, write_layer: WriteLayer) -> None:
    source = write_layer("export_2024", collection(grid_features()))
    add_layer(tmp_path, source, name="beat")
    assert (tmp_path / "areas" / "beat.geojson").is_file()


def test_add_layer_keeps_an_existing_layer_unless_replacing(
    tmp_path: Path, write_layer: WriteLayer
) -> None:
    first = write_layer("beat", collection(grid_features()))
    add_layer(tmp_path / "hub", first)
    second = write_layer("beat2", collection(grid_features(origin=(5.0, 5.0))))
    with pytest.raises(AreaLayerError, match="layer 'beat' already exists; pass replace=True"):
        add_layer(tmp_path / "hub", second, name="beat")
    replaced = add_layer(tmp_path / "hub", second, name="beat", replace=True)
    assert replaced.bounds == (5.0, 5.0, 8.0, 8.0)
    assert load_layers(tmp_path / "hub" / "areas")[0].bounds == (5.0, 5.0, 8.0, 8.0)


def test_add_layer_refuses_an_invalid_file_and_writes_nothing(
    tmp_path: Path, write_layer: WriteLayer
) -> None:
    source = write_layer("beat", _with(1, id="r0c0"))
    with pytest.raises(AreaLayerError, match="duplicate id 'r0c0'"):
        add_layer(tmp_path / "hub", source)
    assert not (tmp_path / "hub" / "areas" / "beat.geojson").exists()


def test_area_layer_rejects_misaligned_fields() -> None:
    with pytest.raises(ValueError, match="every field must have one entry per area"):
        AreaLayer(
            name="beat",
            ids=("a", "b"),
            names=("A",),
            population=np.array([1, 2]),
            geometries=np.array([shapely.box(0, 0, 1, 1)] * 2, dtype=object),
            properties=({}, {}),
        )
