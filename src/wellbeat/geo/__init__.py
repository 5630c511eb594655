"""Area layers (GeoJSON with population), point-in-area assignment, H3 cells, contiguity.

Framework-free: an analyst can use it from a notebook. See docs/geography.md.
"""

from wellbeat.geo.assign import assign_all, assign_points
from wellbeat.geo.cells import h3_cells
from wellbeat.geo.contiguity import (
    contiguous_pairs,
    islands,
    queen_neighbours,
    rook_neighbours,
    spatial_weights,
)
from wellbeat.geo.layers import (
    AREAS_DIRNAME,
    AreaLayer,
    AreaLayerError,
    LayerFields,
    add_layer,
    check_layer_name,
    layer_from_geojson,
    load_layer,
    load_layers,
)

__all__ = [
    "AREAS_DIRNAME",
    "AreaLayer",
    "AreaLayerError",
    "LayerFields",
    "add_layer",
    "assign_all",
    "assign_points",
    "check_layer_name",
    "contiguous_pairs",
    "h3_cells",
    "islands",
    "layer_from_geojson",
    "load_layer",
    "load_layers",
    "queen_neighbours",
    "rook_neighbours",
    "spatial_weights",
]
