"""Small hand-built area layers: a 3x3 grid of unit squares, a ring with a hole, an island."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import shapely

from wellbeat.geo import AreaLayer, load_layer

from .builders import collection, feature, grid_features


@pytest.fixture
def write_layer(tmp_path: Path) -> Callable[[str, Any], Path]:
    """Write a document (FeatureCollection dict, or raw text) as ``<tmp>/<name>.geojson``."""

    def write(name: str, document: Any) -> Path:
        path = tmp_path / f"{name}.geojson"
        text = document if isinstance(document, str) else json.dumps(document)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def grid(write_layer: Callable[[str, Any], Path]) -> AreaLayer:
    return load_layer(write_layer("grid", collection(grid_features())))


@pytest.fixture
def holes_and_islands(write_layer: Callable[[str, Any], Path]) -> AreaLayer:
    """``ring``: 4x4 square with a 2x2 hole; ``core``: the hole's east half; ``twin``: a
    MultiPolygon of two squares east of the ring (one touching it); ``island``: far away."""
    ring = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]]
    )
    core = shapely.box(2, 1, 3, 3)
    twin = shapely.MultiPolygon([shapely.box(4, 0, 5, 1), shapely.box(6, 3, 7, 4)])
    island = shapely.box(10, 10, 11, 11)
    return load_layer(
        write_layer(
            "holes",
            collection(
                [
                    feature("ring", ring, 500),
                    feature("core", core, 50),
                    feature("twin", twin, 70),
                    feature("island", island, 0),
                ]
            ),
        )
    )
