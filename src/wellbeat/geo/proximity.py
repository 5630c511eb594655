"""Neighbours by distance between area centroids: k nearest neighbours and distance bands.

Centroids are the planar centroids of the lon/lat polygons (``shapely.centroid``; what
``sf::st_centroid`` gives on a layer without a CRS). Distances between them are measured on the
WGS84 ellipsoid with the Andoyer-Lambert approximation that ``sp``/``spdep`` use for
``longlat = TRUE`` (``sp_gcdist`` in sp's ``gcdist.c``), so the neighbours are those of
``spdep::knearneigh(coords, k, longlat = TRUE)`` and ``spdep::dnearneigh(coords, 0, d,
longlat = TRUE)``. A k-d tree on the unit sphere proposes candidates (the ellipsoidal distance is
within 0.5 % of the spherical one), the ellipsoidal distance decides.

Both return binary n x n sparse matrices (rows and columns in ``layer.ids`` order, no diagonal).
k nearest neighbours are not symmetric: j may be among i's nearest while i is not among j's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from wellbeat.geo.layers import AreaLayer

SPHERE_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG) in metres, for the candidate search only."""
WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
_SLACK = 0.005
"""Ellipsoidal / spherical distance lies within 1 +- f (0.34 %); 0.5 % is a safe margin."""

Array = npt.NDArray[np.float64]


def centroids(layer: AreaLayer) -> Array:
    """(n, 2) array of each area's centroid as (lon, lat)."""
    points = shapely.centroid(layer.geometries)
    return np.column_stack([shapely.get_x(points), shapely.get_y(points)])


def ellipsoid_distance_m(lon1: Array, lat1: Array, lon2: Array, lat2: Array) -> Array:
    """Distance in metres on the WGS84 ellipsoid (Andoyer-Lambert, as sp's ``sp_gcdist``)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in
                              (lon1, lat1, lon2, lat2))  # fmt: skip
    f_, g_, l_ = (lat1 + lat2) / 2.0, (lat1 - lat2) / 2.0, (lon1 - lon2) / 2.0
    sin_g2, cos_g2 = np.sin(g_) ** 2, np.cos(g_) ** 2
    sin_f2, cos_f2 = np.sin(f_) ** 2, np.cos(f_) ** 2
    sin_l2, cos_l2 = np.sin(l_) ** 2, np.cos(l_) ** 2
    s = sin_g2 * cos_l2 + cos_f2 * sin_l2
    c = cos_g2 * cos_l2 + sin_f2 * sin_l2
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.arctan(np.sqrt(s / c))
        r = np.sqrt(s * c) / w
        h1 = (3 * r - 1) / (2 * c)
        h2 = (3 * r + 1) / (2 * s)
        distance = 2 * w * WGS84_A_M * (1 + WGS84_F * h1 * sin_f2 * cos_g2
                                        - WGS84_F * h2 * cos_f2 * sin_g2)  # fmt: skip
    return np.where(s == 0, 0.0, distance)


def _unit_vectors(lonlat: Array) -> Array:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _arc_m(chord: Array) -> Array:
    return 2.0 * SPHERE_RADIUS_M * np.arcsin(np.minimum(chord / 2.0, 1.0))


def nearest_neighbour_weights(layer: AreaLayer, k: int) -> sparse.csr_matrix:
    """Each area's ``k`` nearest areas by centroid distance, as 0/1 weights."""
    n = len(layer)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k nearest neighbours needs a whole number k >= 1, got {k!r}")
    if k >= n:
        raise ValueError(f"k = {k} nearest neighbours needs more than {k} areas; the layer has {n}")
    lonlat = centroids(layer)
    tree = cKDTree(_unit_vectors(lonlat))
    chosen = np.empty((n, k), dtype=np.intp)
    pending = np.arange(n)
    m = min(n, k + 9)
    while pending.size:
        chord, found = tree.query(_unit_vectors(lonlat[pending]), k=m)
        found = np.atleast_2d(found)
        d = ellipsoid_distance_m(
            lonlat[pending, 0, None], lonlat[pending, 1, None],
            lonlat[found, 0], lonlat[found, 1],
        )  # fmt: skip
        d[found == pending[:, None]] = np.inf  # the area itself is not its own neighbour
        order = np.argsort(d, axis=1, kind="stable")[:, :k]
        kth = np.take_along_axis(d, order[:, -1:], axis=1)[:, 0]
        farthest_candidate = _arc_m(np.atleast_2d(chord)[:, -1])
        # An area outside the candidates is at least farthest_candidate * (1 - slack) away.
        safe = (m >= n) | (farthest_candidate * (1 - _SLACK) > kth)
        chosen[pending[safe]] = np.take_along_axis(found, order, axis=1)[safe]
        pending = pending[~safe]
        m = min(n, 2 * m)
    rows = np.repeat(np.arange(n), k)
    weights = sparse.csr_matrix(
        (np.ones(n * k), (rows, chosen.ravel())), shape=(n, n), dtype=np.float64
    )
    weights.sort_indices()
    return weights


def distance_band_weights(layer: AreaLayer, metres: float) -> sparse.csr_matrix:
    """0/1 weights between areas whose centroids are at most ``metres`` apart."""
    if not np.isfinite(metres) or metres <= 0:
        raise ValueError(f"distance band needs a distance in metres > 0, got {metres!r}")
    n = len(layer)
    lonlat = centroids(layer)
    angle = min(metres * (1 + _SLACK) / SPHERE_RADIUS_M, np.pi)
    pairs = cKDTree(_unit_vectors(lonlat)).query_pairs(
        2.0 * np.sin(angle / 2.0), output_type="ndarray"
    )
    i, j = pairs[:, 0], pairs[:, 1]
    d = ellipsoid_distance_m(lonlat[i, 0], lonlat[i, 1], lonlat[j, 0], lonlat[j, 1])
    i, j = i[d <= metres], j[d <= metres]
    weights = sparse.csr_matrix(
        (np.ones(2 * i.size), (np.concatenate([i, j]), np.concatenate([j, i]))),
        shape=(n, n),
        dtype=np.float64,
    )
    weights.sort_indices()
    return weights
