"""Area layers: GeoJSON FeatureCollections of areas with ids, names and populations.

A layer is one way of cutting the city into areas (beats, tracts, neighbourhoods, districts).
The hub keeps its layers as ``DATA/areas/<layer>.geojson``; every event gets one
``area_<layer>`` column per layer at ingest. The file format is described in docs/geography.md.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import shapely.geometry
from shapely.errors import GEOSException

AREAS_DIRNAME = "areas"
"""Folder of a hub's data directory that holds its area layers."""

LAYER_SUFFIX = ".geojson"
REQUIRED_PROPERTIES = ("id", "name", "population")
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
LAYER_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""A layer name becomes part of a lake column (``area_<layer>``), so it is kept SQL-safe."""

_WGS84_CRS_MARKERS = ("CRS84", "4326")


class AreaLayerError(ValueError):
    """An area layer file (or document) that does not follow the layer format."""


@dataclass(frozen=True, eq=False)
class AreaLayer:
    """One geography layer: areas aligned by position across ids, names, population, shapes.

    Geometries are WGS84 lon/lat shapely polygons, prepared for fast point-in-area tests.
    Equality is identity: layers hold arrays, which have no single truth value.
    """

    name: str
    ids: tuple[str, ...]
    names: tuple[str, ...]
    population: npt.NDArray[np.int64]
    geometries: npt.NDArray[np.object_]
    properties: tuple[dict[str, Any], ...]
    _positions: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.ids)
        lengths = {
            "names": len(self.names),
            "population": len(self.population),
            "geometries": len(self.geometries),
            "properties": len(self.properties),
        }
        misaligned = {key: size for key, size in lengths.items() if size != n}
        if misaligned:
            raise ValueError(
                f"layer {self.name!r}: {n} ids but {misaligned}; every field must have one "
                "entry per area, in the same order"
            )
        positions: dict[str, int] = {}
        for position, area_id in enumerate(self.ids):
            if area_id in positions:
                raise ValueError(
                    f"layer {self.name!r}: duplicate area id {area_id!r} at positions "
                    f"{positions[area_id]} and {position}"
                )
            positions[area_id] = position
        population = np.array(self.population, dtype=np.int64)
        if population.ndim != 1 or (population < 0).any():
            raise ValueError(f"layer {self.name!r}: population must be a 1-D array of ints >= 0")
        population.setflags(write=False)
        geometries = np.empty(n, dtype=object)
        geometries[:] = list(self.geometries)
        shapely.prepare(geometries)
        geometries.setflags(write=False)
        object.__setattr__(self, "population", population)
        object.__setattr__(self, "geometries", geometries)
        object.__setattr__(self, "_positions", positions)

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, area_id: str) -> int:
        """Position of an area in this layer (the row of its weights, its population entry)."""
        try:
            return self._positions[area_id]
        except KeyError:
            raise KeyError(f"layer {self.name!r} has no area with id {area_id!r}") from None

    def population_of(self, area_id: str) -> int:
        """Resident population of one area, as given in the layer file."""
        return int(self.population[self.index_of(area_id)])

    @property
    def total_population(self) -> int:
        """Population of the whole layer."""
        return int(self.population.sum())

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of all areas together."""
        minx, miny, maxx, maxy = shapely.total_bounds(self.geometries)
        return (float(minx), float(miny), float(maxx), float(maxy))

    def to_geojson(self) -> dict[str, Any]:
        """The layer as a GeoJSON FeatureCollection (feature ``id`` set too, for map libraries)."""
        shapes = shapely.to_geojson(self.geometries)
        features = []
        for position, area_id in enumerate(self.ids):
            properties = dict(self.properties[position])
            properties.update(
                id=area_id,
                name=self.names[position],
                population=int(self.population[position]),
            )
            features.append(
                {
                    "type": "Feature",
                    "id": area_id,
                    "properties": properties,
                    "geometry": json.loads(shapes[position]),
                }
            )
        return {"type": "FeatureCollection", "name": self.name, "features": features}


def check_layer_name(name: str, source: str = "<layer>") -> str:
    """Return ``name`` if it can name a layer (and its ``area_<name>`` column), else raise."""
    if not isinstance(name, str) or not LAYER_NAME_PATTERN.match(name):
        raise AreaLayerError(
            f"{source}: layer name {name!r} is not allowed; expected lower-case letters, digits "
            "and underscores starting with a letter (it becomes the lake column "
            f"'area_{name}')"
        )
    return name


def load_layer(path: Path, name: str | None = None) -> AreaLayer:
    """Read and validate one layer file; the layer is named after the file stem by default."""
    path = Path(path)
    layer_name = check_layer_name(path.stem if name is None else name, str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AreaLayerError(f"{path}: no such layer file") from None
    except IsADirectoryError:
        raise AreaLayerError(f"{path}: is a directory, expected a GeoJSON file") from None
    except UnicodeDecodeError as exc:
        raise AreaLayerError(
            f"{path}: not UTF-8 text (byte {exc.start}); GeoJSON must be UTF-8"
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AreaLayerError(
            f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})"
        ) from None
    return layer_from_geojson(document, layer_name, source=str(path))


def load_layers(directory: Path) -> list[AreaLayer]:
    """Every ``*.geojson`` layer in a folder (a hub's ``DATA/areas``), sorted by layer name."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    files = [
        path
        for path in directory.iterdir()
        if path.suffix == LAYER_SUFFIX and not path.name.startswith(".") and path.is_file()
    ]
    return sorted((load_layer(path) for path in files), key=lambda layer: layer.name)


@dataclass(frozen=True)
class LayerFields:
    """Which attributes of a source file hold each area's id, name and population, and
    optionally a CSV that holds the populations instead (joined on the id)."""

    id: str = "id"
    name: str = "name"
    population: str = "population"
    population_csv: Path | None = None
    population_key: str | None = None
    """Column of ``population_csv`` holding the area id (default: the ``id`` field's name)."""


GEOJSON_SUFFIXES = (".geojson", ".json")


def read_layer_document(source: Path, fields: LayerFields = LayerFields()) -> dict[str, Any]:
    """Any vector file GDAL reads (Shapefile, GeoPackage, GeoJSON...) as a WGS84 GeoJSON
    FeatureCollection with the ``id``, ``name`` and ``population`` properties of a layer.

    Read through pyogrio (GDAL) and reprojected from the file's CRS with pyproj; populations
    come from ``fields.population`` or, with ``fields.population_csv``, from that CSV joined on
    the area id. Errors name the file and the field.
    """
    import csv

    import pyogrio
    import pyproj

    source = Path(source)
    try:
        meta, _, wkb, values = pyogrio.raw.read(source, force_2d=True)
    except Exception as exc:  # GDAL raises its own types for unreadable files
        raise AreaLayerError(f"{source}: cannot read as a vector layer ({exc})") from None
    columns = dict(zip(list(meta["fields"]), values, strict=True))
    for role, column in (("id", fields.id), ("name", fields.name)):
        if column not in columns:
            raise AreaLayerError(
                f"{source}: no attribute {column!r} for the area {role}; attributes: "
                f"{', '.join(columns) or 'none'}"
            )
    ids = [_text_id(v) for v in columns[fields.id]]
    if fields.population_csv is not None:
        key = fields.population_key or fields.id
        population: list[Any] = []
        with Path(fields.population_csv).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {key, fields.population} - set(reader.fieldnames or ())
            if missing:
                raise AreaLayerError(
                    f"{fields.population_csv}: no column {', '.join(sorted(missing))!r}; "
                    f"columns: {', '.join(reader.fieldnames or ())}"
                )
            by_id = {row[key].strip(): row[fields.population] for row in reader}
        for area_id in ids:
            if area_id not in by_id:
                raise AreaLayerError(
                    f"{fields.population_csv}: no population for area {area_id!r} (column {key!r})"
                )
            population.append(_whole_number(by_id[area_id], f"{fields.population_csv}", area_id))
    elif fields.population in columns:
        population = [
            _whole_number(v, str(source), area_id)
            for v, area_id in zip(columns[fields.population], ids, strict=True)
        ]
    else:
        raise AreaLayerError(
            f"{source}: no attribute {fields.population!r} for the population; give one or a "
            "population CSV joined on the area id"
        )
    geometries = shapely.from_wkb(wkb)
    crs = meta.get("crs")
    if crs:
        transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geometries = shapely.transform(
            geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        )
    features = [
        {
            "type": "Feature",
            "properties": {"id": area_id, "name": str(name), "population": people},
            "geometry": shapely.geometry.mapping(geometry),
        }
        for area_id, name, people, geometry in zip(
            ids, columns[fields.name], population, geometries, strict=True
        )
    ]
    return {"type": "FeatureCollection", "features": features}


def _text_id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _whole_number(value: Any, source: str, area_id: str) -> int:
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or not number.is_integer():
        raise AreaLayerError(
            f"{source}: population of area {area_id!r} is {value!r}; expected a whole number"
        )
    return int(number)


def add_layer(
    data_dir: Path,
    source: Path,
    name: str | None = None,
    *,
    replace: bool = False,
    fields: LayerFields | None = None,
) -> AreaLayer:
    """Validate a layer file and install it in the hub's ``DATA/areas/``.

    A GeoJSON layer already in the layer format is copied unchanged; any other vector file
    (Shapefile, GeoPackage), or one whose fields are named by ``fields``, is read through
    ``read_layer_document`` and written as GeoJSON. The write is atomic (temporary file +
    rename), so a reader never sees half a layer. An existing layer of the same name is kept
    unless ``replace`` is true. Events already in the lake get the new areas from
    ``wellbeat.ingest.areas.reassign_areas`` (``wellbeat areas add`` runs it).
    """
    source = Path(source)
    if fields is None and source.suffix.lower() in GEOJSON_SUFFIXES:
        layer = load_layer(source, name)
        document_text = None
    else:
        layer_name = check_layer_name(source.stem if name is None else name, str(source))
        document = read_layer_document(source, fields or LayerFields())
        layer = layer_from_geojson(document, layer_name, source=str(source))
        document_text = json.dumps(document)
    areas_dir = Path(data_dir) / AREAS_DIRNAME
    areas_dir.mkdir(parents=True, exist_ok=True)
    target = areas_dir / f"{layer.name}{LAYER_SUFFIX}"
    if target.exists():
        new_bytes = source.read_bytes() if document_text is None else document_text.encode()
        if target.resolve() == source.resolve() or target.read_bytes() == new_bytes:
            return layer  # the same layer again: nothing to change
        if not replace:
            raise AreaLayerError(
                f"{target}: layer {layer.name!r} already exists; pass replace=True to replace it"
            )
    temporary = areas_dir / f".{layer.name}{LAYER_SUFFIX}.{os.getpid()}.tmp"
    try:
        if document_text is None:
            shutil.copyfile(source, temporary)
        else:
            temporary.write_text(document_text, encoding="utf-8")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return layer


def layer_from_geojson(
    document: Mapping[str, Any], name: str, source: str = "<geojson>"
) -> AreaLayer:
    """Validate a parsed GeoJSON FeatureCollection and build the layer ``name`` from it.

    ``source`` names where the document came from in error messages (a path, an upload).
    """
    check_layer_name(name, source)
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, Mapping) else type(document).__name__
        raise AreaLayerError(f"{source}: expected a GeoJSON FeatureCollection, got {found!r}")
    _check_crs(document.get("crs"), source)
    features = document.get("features")
    if not isinstance(features, list):
        raise AreaLayerError(f"{source}: 'features' must be a list of Feature objects")
    if not features:
        raise AreaLayerError(f"{source}: the layer has no features; expected one per area")

    ids: list[str] = []
    names: list[str] = []
    population: list[int] = []
    geometries: list[Any] = []
    properties: list[dict[str, Any]] = []
    first_use: dict[str, int] = {}
    for index, feature in enumerate(features):
        where = f"{source}: feature {index}"
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise AreaLayerError(f"{where}: expected a GeoJSON object of type 'Feature'")
        props = feature.get("properties")
        if not isinstance(props, Mapping):
            raise AreaLayerError(
                f"{where}: 'properties' must be an object with {', '.join(REQUIRED_PROPERTIES)}"
            )
        if "id" not in props and "id" in feature:
            raise AreaLayerError(
                f"{where}: missing required property 'id'; the Feature has a top-level 'id' "
                f"({feature['id']!r}), copy it into 'properties' as a string"
            )
        area_id = _area_id(props, where)
        where = f"{where} (id {area_id!r})"
        if area_id in first_use:
            raise AreaLayerError(
                f"{where}: duplicate id {area_id!r}, already used by feature "
                f"{first_use[area_id]}; ids must be unique in a layer"
            )
        first_use[area_id] = index
        ids.append(area_id)
        names.append(_area_name(props, where))
        population.append(_area_population(props, where))
        geometries.append(_area_geometry(feature.get("geometry"), where))
        properties.append(dict(props))

    return AreaLayer(
        name=name,
        ids=tuple(ids),
        names=tuple(names),
        population=np.array(population, dtype=np.int64),
        geometries=np.array(geometries, dtype=object),
        properties=tuple(properties),
    )


def _check_crs(crs: Any, source: str) -> None:
    # RFC 7946 GeoJSON is always WGS84 lon/lat; an old-style "crs" member is accepted only
    # when it says so (OGC CRS84 or EPSG:4326), because anything else means projected metres.
    if crs is None:
        return
    text = json.dumps(crs)
    if not any(marker in text for marker in _WGS84_CRS_MARKERS):
        raise AreaLayerError(
            f"{source}: 'crs' is {text}; expected WGS84 longitude/latitude (OGC CRS84 / "
            "EPSG:4326) — reproject the file first"
        )


def _area_id(props: Mapping[str, Any], where: str) -> str:
    if "id" not in props:
        raise AreaLayerError(f"{where}: missing required property 'id' (a unique string)")
    value = props["id"]
    if not isinstance(value, str) or not value.strip():
        raise AreaLayerError(
            f"{where}: property 'id' must be a non-empty string, got {value!r} "
            f"({type(value).__name__})"
        )
    return value


def _area_name(props: Mapping[str, Any], where: str) -> str:
    if "name" not in props:
        raise AreaLayerError(f"{where}: missing required property 'name' (a string)")
    value = props["name"]
    if not isinstance(value, str):
        raise AreaLayerError(
            f"{where}: property 'name' must be a string, got {value!r} ({type(value).__name__})"
        )
    return value


def _area_population(props: Mapping[str, Any], where: str) -> int:
    if "population" not in props:
        raise AreaLayerError(f"{where}: missing required property 'population' (integer >= 0)")
    value = props["population"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise AreaLayerError(
            f"{where}: property 'population' must be an integer >= 0, got {value!r} "
            f"({type(value).__name__})"
        )
    if value < 0:
        raise AreaLayerError(f"{where}: property 'population' must be an integer >= 0, got {value}")
    return value


def _area_geometry(geometry: Any, where: str) -> Any:
    if not isinstance(geometry, Mapping):
        raise AreaLayerError(f"{where}: missing geometry; expected a Polygon or MultiPolygon")
    kind = geometry.get("type")
    if kind not in GEOMETRY_TYPES:
        raise AreaLayerError(
            f"{where}: geometry type {kind!r} is not allowed; expected Polygon or MultiPolygon"
        )
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, GEOSException) as exc:
        raise AreaLayerError(f"{where}: malformed {kind} coordinates ({exc})") from None
    if shape.is_empty:
        raise AreaLayerError(f"{where}: {kind} is empty; an area needs at least one ring")
    minx, miny, maxx, maxy = shape.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise AreaLayerError(f"{where}: {kind} has non-finite coordinates")
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise AreaLayerError(
            f"{where}: coordinates outside WGS84 range (bounds {minx:g}, {miny:g}, {maxx:g}, "
            f"{maxy:g}); expected longitude -180..180 and latitude -90..90 in that order — is "
            "the file in a projected CRS?"
        )
    if not shape.is_valid:
        raise AreaLayerError(
            f"{where}: invalid {kind}: {shapely.is_valid_reason(shape)} (rings must be closed, "
            "not self-intersecting, holes inside their shell)"
        )
    return shape


def layer_from_geojson_field(
    document: Mapping[str, Any], id_field: str, name: str = "areas", source: str = "<geojson>"
) -> AreaLayer:
    """Any GeoJSON FeatureCollection of polygons as a layer keyed by the property ``id_field``.

    For analysts' own files (``wellbeat hotspots``), which rarely follow the layer format: the
    id may be a string or a whole number (written as text, ``1.0`` as ``"1"``), ``name`` and
    ``population`` are not required (name defaults to the id, population to 0). Geometry is
    checked exactly as for a hub layer (WGS84 lon/lat polygons, valid rings).
    """
    if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, Mapping) else type(document).__name__
        raise AreaLayerError(f"{source}: expected a GeoJSON FeatureCollection, got {found!r}")
    _check_crs(document.get("crs"), source)
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise AreaLayerError(f"{source}: 'features' must be a non-empty list of Features")
    ids: list[str] = []
    names: list[str] = []
    population: list[int] = []
    geometries: list[Any] = []
    properties: list[dict[str, Any]] = []
    first_use: dict[str, int] = {}
    for index, feature in enumerate(features):
        where = f"{source}: feature {index}"
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise AreaLayerError(f"{where}: expected a GeoJSON object of type 'Feature'")
        props = feature.get("properties")
        if not isinstance(props, Mapping) or id_field not in props:
            raise AreaLayerError(f"{where}: no property {id_field!r} (the id field)")
        area_id = _field_id(props[id_field], f"{where}, field {id_field!r}")
        if area_id in first_use:
            raise AreaLayerError(
                f"{where}, field {id_field!r}: duplicate id {area_id!r}, already used by "
                f"feature {first_use[area_id]}; ids must be unique"
            )
        first_use[area_id] = index
        where = f"{where} ({id_field} {area_id!r})"
        ids.append(area_id)
        label = props.get("name")
        names.append(label if isinstance(label, str) else area_id)
        people = props.get("population")
        valid = isinstance(people, int) and not isinstance(people, bool) and people >= 0
        population.append(int(people) if valid else 0)  # type: ignore[arg-type]
        geometries.append(_area_geometry(feature.get("geometry"), where))
        properties.append(dict(props))
    return AreaLayer(
        name=name,
        ids=tuple(ids),
        names=tuple(names),
        population=np.array(population, dtype=np.int64),
        geometries=np.array(geometries, dtype=object),
        properties=tuple(properties),
    )


def load_layer_by_field(path: Path, id_field: str) -> AreaLayer:
    """Read a GeoJSON file of areas keyed by ``id_field`` (see ``layer_from_geojson_field``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AreaLayerError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AreaLayerError(f"{path}: is a directory, expected a GeoJSON file") from None
    except UnicodeDecodeError as exc:
        raise AreaLayerError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AreaLayerError(
            f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})"
        ) from None
    return layer_from_geojson_field(document, id_field, source=str(path))


def _field_id(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None:
        raise AreaLayerError(f"{where}: id must be a string or a whole number, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise AreaLayerError(f"{where}: id {value!r} is not a whole number")
        value = int(value)
    if not isinstance(value, str | int):
        raise AreaLayerError(f"{where}: id must be a string or a whole number, got {value!r}")
    text = str(value).strip()
    if not text:
        raise AreaLayerError(f"{where}: id is empty")
    return text
