"""H3 hexagonal cells for event locations (Uber H3 v4, resolution 9 on every event)."""

from __future__ import annotations

from itertools import repeat
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
from h3.api import basic_int

from wellbeat.events.schema import H3_RESOLUTION
from wellbeat.geo._coordinates import usable_coordinates

H3_MAX_RESOLUTION = 15


def h3_cells(lat: Any, lon: Any, resolution: int = H3_RESOLUTION) -> npt.NDArray[np.object_]:
    """H3 cell (hex string, as ``h3.latlng_to_cell``) of every point; None where unusable.

    Points without usable coordinates (None, NaN, outside WGS84 ranges) get None. Identical
    coordinates are looked up once: event locations repeat (geocoded addresses, facilities),
    and the per-point H3 call is the whole cost.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise ValueError(f"H3 resolution must be an integer 0..15, got {resolution!r}")
    if not 0 <= resolution <= H3_MAX_RESOLUTION:
        raise ValueError(f"H3 resolution must be an integer 0..15, got {resolution}")
    lon_array, lat_array, usable = usable_coordinates(lon, lat)
    every_row = bool(usable.all())
    rows = np.flatnonzero(usable)
    if rows.size == 0:
        return np.full(len(lat_array), None, dtype=object)
    # One complex number per (lat, lon) pair lets a hash table find distinct locations in O(n).
    points = lat_array + 1j * lon_array if every_row else lat_array[rows] + 1j * lon_array[rows]
    location_codes, locations = pd.factorize(points)
    locations = np.asarray(locations)
    cell_ints = np.fromiter(
        map(
            basic_int.latlng_to_cell,
            locations.real.tolist(),
            locations.imag.tolist(),
            repeat(int(resolution), len(locations)),
        ),
        dtype=np.uint64,
        count=len(locations),
    )
    cell_codes, distinct_cells = pd.factorize(cell_ints)
    cell_names = np.array([h3.int_to_str(int(cell)) for cell in distinct_cells], dtype=object)
    cells = cell_names[cell_codes[location_codes]]
    if every_row:  # the common case: no million-row scatter into a None-filled array
        return np.asarray(cells, dtype=object)
    result = np.full(len(lat_array), None, dtype=object)
    result[rows] = cells
    return result
