"""Point-in-area assignment: which area of each layer every event falls in.

Areas are closed: a point on an area's boundary belongs to it. A point on the boundary shared
by several areas (or inside areas that overlap) goes to the one whose id sorts first (Python
string order), so the answer is one area, the same on every run and whatever the order of the
features in the file. Points outside every area, or without usable coordinates, get
``events.schema.OUTSIDE_AREA``: kept and marked, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from wellbeat.events.schema import OUTSIDE_AREA, area_column
from wellbeat.geo._coordinates import usable_coordinates
from wellbeat.geo.layers import AreaLayer


class _PointSweep:
    """Usable points sorted by longitude, so each area scans only the strip under its bounds.

    Sorting once and testing candidates with prepared polygons (``shapely.intersects_xy``)
    avoids building a shapely Point per event, which costs more than the tests themselves.
    """

    def __init__(self, lon: Any, lat: Any) -> None:
        lon_array, lat_array, usable = usable_coordinates(lon, lat)
        self.size = len(lon_array)
        rows = np.flatnonzero(usable)
        by_lon = np.argsort(lon_array[rows])
        self.rows = rows[by_lon]
        self.lon = lon_array[self.rows]
        self.lat = lat_array[self.rows]

    def assign(self, layer: AreaLayer) -> npt.NDArray[np.object_]:
        """Area id per input point (``OUTSIDE_AREA`` where none), in the input order."""
        result = np.full(self.size, OUTSIDE_AREA, dtype=object)
        if len(self.rows) == 0:
            return result
        id_order = sorted(range(len(layer)), key=lambda position: layer.ids[position])
        ids_by_rank = np.array([layer.ids[p] for p in id_order], dtype=object)
        rank = np.empty(len(layer), dtype=np.int64)
        rank[id_order] = np.arange(len(layer))
        none = len(layer)
        best = np.full(len(self.rows), none, dtype=np.int64)
        bounds = shapely.bounds(layer.geometries)
        for position, geometry in enumerate(layer.geometries):
            minx, miny, maxx, maxy = bounds[position]
            start = int(np.searchsorted(self.lon, minx, side="left"))
            stop = int(np.searchsorted(self.lon, maxx, side="right"))
            if start == stop:
                continue
            strip_lat = self.lat[start:stop]
            candidates = start + np.flatnonzero((strip_lat >= miny) & (strip_lat <= maxy))
            if candidates.size == 0:
                continue
            inside = candidates[
                shapely.intersects_xy(geometry, self.lon[candidates], self.lat[candidates])
            ]
            best[inside] = np.minimum(best[inside], rank[position])
        found = best < none
        result[self.rows[found]] = ids_by_rank[best[found]]
        return result


def assign_points(layer: AreaLayer, lon: Any, lat: Any) -> npt.NDArray[np.object_]:
    """Area id of every point in one layer, as an object array aligned with the input.

    ``lon``/``lat`` are WGS84 degrees (any 1-D array-like; None or NaN where unknown).
    """
    return _PointSweep(lon, lat).assign(layer)


def assign_all(
    layers: Sequence[AreaLayer], lon: Any, lat: Any
) -> dict[str, npt.NDArray[np.object_]]:
    """Area ids in every layer, keyed by lake column name (``area_<layer>``).

    The points are sorted once and reused for every layer.
    """
    seen: set[str] = set()
    for layer in layers:
        if layer.name in seen:
            raise ValueError(f"two layers are named {layer.name!r}; layer names must be unique")
        seen.add(layer.name)
    sweep = _PointSweep(lon, lat)
    return {area_column(layer.name): sweep.assign(layer) for layer in layers}
