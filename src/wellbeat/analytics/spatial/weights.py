"""Neighbour structures by name: ``queen``, ``rook``, ``knn:K``, ``band:METRES``."""

from __future__ import annotations

from scipy import sparse

from wellbeat.geo.contiguity import spatial_weights
from wellbeat.geo.layers import AreaLayer
from wellbeat.geo.proximity import distance_band_weights, nearest_neighbour_weights

WEIGHTS_HELP = (
    "queen (areas sharing an edge or a corner, the default), rook (an edge), knn:K (the K "
    "nearest centroids) or band:METRES (centroids at most METRES apart)"
)
DEFAULT_WEIGHTS = "queen"


def neighbour_structure(layer: AreaLayer, spec: str = DEFAULT_WEIGHTS) -> sparse.csr_matrix:
    """Binary n x n neighbours (no diagonal) of the layer's areas, from a spec like ``knn:6``."""
    kind, _, argument = spec.strip().lower().partition(":")
    if kind in ("queen", "rook") and not argument:
        return spatial_weights(layer, kind)  # type: ignore[arg-type]
    if kind == "knn" and argument.isdigit() and int(argument) >= 1:
        return nearest_neighbour_weights(layer, int(argument))
    if kind == "band":
        try:
            metres = float(argument)
        except ValueError:
            metres = float("nan")
        if metres > 0:
            return distance_band_weights(layer, metres)
    raise ValueError(f"weights {spec!r} not understood; expected {WEIGHTS_HELP}")
