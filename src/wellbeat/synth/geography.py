"""The city's geography: neighbourhoods that tile it, grouped into police beats and districts.

Neighbourhoods are Voronoi cells of a jittered 12 x 5 grid of seeds, clipped to the city's
rectangle, so they are irregular, never overlap and cover the city exactly. Beats are blocks of
2 x 3 (or 2 x 2) grid cells and districts blocks of three beats, so every beat and district is
the union of whole neighbourhoods. Area layers are written as GeoJSON (RFC 7946: WGS84,
counter-clockwise exterior rings) in the format the geo package reads (docs/geography.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, box
from shapely.geometry.polygon import orient

from wellbeat.synth.names import NEIGHBOURHOOD_FIRST, NEIGHBOURHOOD_SECOND

CENTER_LAT = 41.59
CENTER_LON = -93.62
"""A Midwestern site for the fictional city of Millbrook (map display only; no real places)."""
TIMEZONE = "America/Chicago"
CITY_NAME = "Millbrook"

GRID_COLUMNS = 12
GRID_ROWS = 5
CELL_KM = (1.7, 2.0)
"""Width and height of one grid cell in kilometres: the city is 20.4 km by 10 km."""
COORDINATE_DECIMALS = 6
"""About 0.1 m: finer than any source geocodes, coarse enough to keep files small."""

_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON = 111.320 * math.cos(math.radians(CENTER_LAT))
LAYERS = ("neighbourhood", "beat", "district")


@dataclass(frozen=True)
class AreaLayer:
    """One geography layer: parallel arrays indexed by area position."""

    name: str
    ids: tuple[str, ...]
    names: tuple[str, ...]
    polygons: tuple[Polygon, ...]
    population: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class CityMap:
    """Neighbourhoods (with deprivation), beats and districts, and how they nest."""

    neighbourhoods: AreaLayer
    beats: AreaLayer
    districts: AreaLayer
    deprivation: np.ndarray
    """Per neighbourhood, 0 (least) .. 1 (most deprived)."""
    beat_of: np.ndarray
    """Per neighbourhood, the index of its beat."""
    district_of_beat: np.ndarray
    neighbours: tuple[np.ndarray, ...]
    """Per neighbourhood, the indices of neighbourhoods sharing a boundary segment with it."""
    zip_of_beat: tuple[str, ...]

    @property
    def district_of(self) -> np.ndarray:
        """Per neighbourhood, the index of its district."""
        return self.district_of_beat[self.beat_of]

    def layer(self, name: str) -> AreaLayer:
        return {"neighbourhood": self.neighbourhoods, "beat": self.beats}.get(name, self.districts)

    def sample_points(
        self, neighbourhood: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """A uniformly random point inside each given neighbourhood (lon, lat arrays)."""
        n = len(neighbourhood)
        lon = np.empty(n)
        lat = np.empty(n)
        order = np.argsort(neighbourhood, kind="stable")
        counts = np.bincount(neighbourhood, minlength=len(self.neighbourhoods))
        starts = np.concatenate(([0], np.cumsum(counts)))
        for k, polygon in enumerate(self.neighbourhoods.polygons):
            need = int(counts[k])
            if need == 0:
                continue
            xmin, ymin, xmax, ymax = polygon.bounds
            found_x: list[np.ndarray] = []
            found_y: list[np.ndarray] = []
            have = 0
            while have < need:
                batch = 2 * (need - have) + 16
                x = rng.uniform(xmin, xmax, batch)
                y = rng.uniform(ymin, ymax, batch)
                inside = shapely.contains_xy(polygon, x, y)
                found_x.append(x[inside])
                found_y.append(y[inside])
                have += int(inside.sum())
            where = order[starts[k] : starts[k + 1]]
            lon[where] = np.concatenate(found_x)[:need]
            lat[where] = np.concatenate(found_y)[:need]
        return np.round(lon, COORDINATE_DECIMALS), np.round(lat, COORDINATE_DECIMALS)

    def write_layers(self, directory: Path) -> dict[str, Path]:
        """Write ``<layer>.geojson`` for every layer; returns layer name -> path."""
        directory.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for name in LAYERS:
            layer = self.layer(name)
            features = []
            for i in range(len(layer)):
                properties: dict[str, object] = {
                    "id": layer.ids[i],
                    "name": layer.names[i],
                    "population": int(layer.population[i]),
                }
                if name == "neighbourhood":
                    properties["deprivation"] = round(float(self.deprivation[i]), 3)
                    properties["beat"] = self.beats.ids[self.beat_of[i]]
                    properties["district"] = self.districts.ids[self.district_of[i]]
                elif name == "beat":
                    properties["district"] = self.districts.ids[self.district_of_beat[i]]
                features.append(
                    {
                        "type": "Feature",
                        "id": layer.ids[i],
                        "properties": properties,
                        "geometry": shapely.geometry.mapping(layer.polygons[i]),
                    }
                )
            collection = {"type": "FeatureCollection", "name": name, "features": features}
            path = directory / f"{name}.geojson"
            path.write_text(json.dumps(collection, separators=(",", ":")) + "\n")
            written[name] = path
        return written


def _to_lonlat(geometry: Polygon) -> Polygon:
    """Local kilometres (origin at the city centre) to WGS84 degrees, rounded, CCW exterior."""

    def project(xy: np.ndarray) -> np.ndarray:
        lon = CENTER_LON + xy[:, 0] / _KM_PER_DEG_LON
        lat = CENTER_LAT + xy[:, 1] / _KM_PER_DEG_LAT
        return np.round(np.column_stack([lon, lat]), COORDINATE_DECIMALS)

    return orient(shapely.transform(geometry, project), sign=1.0)


def _single_polygon(geometry: shapely.Geometry, what: str) -> Polygon:
    if isinstance(geometry, Polygon):
        return geometry
    raise RuntimeError(f"{what} is a {geometry.geom_type}, expected one Polygon")


def _union(polygons: list[Polygon], what: str) -> Polygon:
    merged = shapely.union_all(polygons)
    # Rounded shared vertices can leave slivers of 1e-12 degrees; snap them away.
    merged = shapely.set_precision(merged, 10 ** -(COORDINATE_DECIMALS + 1))
    return orient(_single_polygon(merged, what), sign=1.0)


def _deprivation_field(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth deprivation surface: two deprived cores and local noise, ranked into 0..1."""
    width = GRID_COLUMNS * CELL_KM[0]
    height = GRID_ROWS * CELL_KM[1]
    cores = rng.uniform([-0.35 * width, -0.3 * height], [0.35 * width, 0.3 * height], (2, 2))
    spread = np.array([0.22 * width, 0.18 * width])
    strength = np.array([1.0, 0.7])
    surface = np.zeros_like(x)
    for (cx, cy), s, a in zip(cores, spread, strength, strict=True):
        surface += a * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s**2))
    surface += rng.normal(0.0, 0.12, len(x))
    ranks = np.argsort(np.argsort(surface))
    return np.round(ranks / (len(x) - 1), 3)


def build_city_map(rng: np.random.Generator) -> CityMap:
    """Lay out the neighbourhoods, beats and districts of the city from ``rng``."""
    width = GRID_COLUMNS * CELL_KM[0]
    height = GRID_ROWS * CELL_KM[1]
    column_grid, row_grid = np.meshgrid(np.arange(GRID_COLUMNS), np.arange(GRID_ROWS))
    columns = column_grid.ravel()
    rows = row_grid.ravel()
    n = len(columns)
    jitter = rng.uniform(-0.32, 0.32, (n, 2))
    x = (columns + 0.5 + jitter[:, 0]) * CELL_KM[0] - width / 2
    y = (rows + 0.5 + jitter[:, 1]) * CELL_KM[1] - height / 2
    boundary = box(-width / 2, -height / 2, width / 2, height / 2)
    cells = shapely.voronoi_polygons(MultiPoint(np.column_stack([x, y])), extend_to=boundary)
    seeds = shapely.points(x, y)
    polygons_km: list[Polygon] = [Polygon()] * n
    for cell in shapely.get_parts(cells):
        owner = int(np.flatnonzero(shapely.contains(cell, seeds))[0])
        polygons_km[owner] = _single_polygon(cell.intersection(boundary), "neighbourhood cell")
    polygons = tuple(_to_lonlat(p) for p in polygons_km)

    deprivation = _deprivation_field(x, y, rng)
    # Denser, more deprived cores: population rises with deprivation, with lognormal noise.
    population = np.round(
        rng.lognormal(math.log(6500), 0.35, n) * (0.75 + 0.6 * deprivation), -1
    ).astype(np.int64)

    beat_of = (columns // 2) + (GRID_COLUMNS // 2) * (rows >= 3)
    beat_index_grid = np.array([[c, r] for r in range(2) for c in range(GRID_COLUMNS // 2)])
    district_of_beat = (beat_index_grid[:, 0] // 3) + 2 * beat_index_grid[:, 1]

    name_pairs = [(a, b) for a in NEIGHBOURHOOD_FIRST for b in NEIGHBOURHOOD_SECOND]
    chosen = rng.choice(len(name_pairs), n, replace=False)
    nb_names = tuple(f"{name_pairs[i][0]} {name_pairs[i][1]}" for i in chosen)
    neighbourhoods = AreaLayer(
        "neighbourhood",
        tuple(f"N{i + 1:02d}" for i in range(n)),
        nb_names,
        polygons,
        population,
    )
    n_beats = int(beat_of.max()) + 1
    beats = AreaLayer(
        "beat",
        tuple(f"B{b + 1:02d}" for b in range(n_beats)),
        tuple(f"Beat {b + 1}" for b in range(n_beats)),
        tuple(
            _union([polygons[i] for i in np.flatnonzero(beat_of == b)], f"beat B{b + 1:02d}")
            for b in range(n_beats)
        ),
        np.bincount(beat_of, weights=population).astype(np.int64),
    )
    district_names = ("Southwest", "Southeast", "Northwest", "Northeast")
    n_districts = int(district_of_beat.max()) + 1
    districts = AreaLayer(
        "district",
        tuple(f"D{d + 1}" for d in range(n_districts)),
        tuple(f"{district_names[d]} District" for d in range(n_districts)),
        tuple(
            _union(
                [beats.polygons[b] for b in np.flatnonzero(district_of_beat == d)],
                f"district D{d + 1}",
            )
            for d in range(n_districts)
        ),
        np.bincount(district_of_beat, weights=beats.population).astype(np.int64),
    )
    return CityMap(
        neighbourhoods=neighbourhoods,
        beats=beats,
        districts=districts,
        deprivation=deprivation,
        beat_of=beat_of,
        district_of_beat=district_of_beat,
        neighbours=_rook_neighbours(polygons),
        zip_of_beat=tuple(f"{50310 + b}" for b in range(n_beats)),
    )


def _rook_neighbours(polygons: tuple[Polygon, ...]) -> tuple[np.ndarray, ...]:
    """Neighbourhoods sharing a boundary segment (not just a corner) with each one."""
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    keep = left != right
    left, right = left[keep], right[keep]
    shared = shapely.length(
        shapely.intersection(
            np.asarray(polygons, dtype=object)[left], np.asarray(polygons, dtype=object)[right]
        )
    )
    edge = shared > 1e-6
    return tuple(np.sort(right[edge & (left == i)]) for i in range(len(polygons)))
