"""Builders for hand-made GeoJSON area layers used across the geo tests."""

from __future__ import annotations

import json
from typing import Any

import shapely
import shapely.geometry

Feature = dict[str, Any]


def feature(area_id: Any, geometry: Any, population: Any = 100, **properties: Any) -> Feature:
    """A layer Feature; ``geometry`` is a shapely geometry or a GeoJSON mapping."""
    if isinstance(geometry, shapely.Geometry):
        geometry = json.loads(shapely.to_geojson(geometry))
    props = {"id": area_id, "name": f"Area {area_id}", "population": population, **properties}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(features: list[Feature]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def grid_features(origin: tuple[float, float] = (0.0, 0.0), size: float = 1.0) -> list[Feature]:
    """3x3 unit squares, ids ``r{row}c{col}`` (row 0 at the bottom), population 10*(index+1)."""
    x0, y0 = origin
    features = []
    for row in range(3):
        for col in range(3):
            square = shapely.box(
                x0 + col * size, y0 + row * size, x0 + (col + 1) * size, y0 + (row + 1) * size
            )
            index = row * 3 + col
            features.append(
                feature(f"r{row}c{col}", square, population=10 * (index + 1), district="d1")
            )
    return features
