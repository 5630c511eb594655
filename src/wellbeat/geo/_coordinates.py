"""Validation shared by everything that takes arrays of event coordinates."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def usable_coordinates(
    lon: Any, lat: Any
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Coordinates as float64 arrays plus a mask of points that have a usable location.

    Missing values (None, NaN, infinities) and values outside WGS84 ranges (longitude
    -180..180, latitude -90..90) are not usable: such events keep their row and get no place.
    """
    try:
        lon_array = np.asarray(lon, dtype=np.float64)
        lat_array = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"lon and lat must be numeric arrays (None/NaN for missing): {exc}"
        ) from None
    if lon_array.ndim != 1 or lat_array.ndim != 1 or lon_array.shape != lat_array.shape:
        raise ValueError(
            "lon and lat must be 1-D arrays of the same length, got shapes "
            f"{lon_array.shape} and {lat_array.shape}"
        )
    with np.errstate(invalid="ignore"):
        usable = (
            np.isfinite(lon_array)
            & np.isfinite(lat_array)
            & (np.abs(lon_array) <= 180.0)
            & (np.abs(lat_array) <= 90.0)
        )
    return lon_array, lat_array, usable
