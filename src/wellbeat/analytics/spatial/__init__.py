"""Local spatial statistics over area layers: Getis-Ord Gi*, local Moran's I, emerging hot spots.

Framework-free and vectorised (NumPy, SciPy sparse). Analytical z-scores identical to R
``spdep`` (``localG`` with ``include.self``, ``localmoran``); conditional permutation pseudo
p-values as PySAL ``esda`` computes them; Benjamini-Hochberg FDR; the classes analysts read
(hot/cold spots at 90/95/99 %, Moran quadrants); ArcGIS's emerging hot-spot categories with a
Mann-Kendall trend. Neighbours come from ``wellbeat.geo``. See docs/methods.md.
"""

from wellbeat.analytics.spatial.classes import (
    HOTSPOT_CLASSES,
    MORAN_CLASSES,
    NO_NEIGHBOURS,
    NOT_SIGNIFICANT,
    hotspot_classes,
    moran_classes,
)
from wellbeat.analytics.spatial.emerging import (
    EMERGING_CATEGORIES,
    EmergingResult,
    MannKendallResult,
    emerging_hotspots,
    mann_kendall,
)
from wellbeat.analytics.spatial.inference import (
    DEFAULT_PERMUTATIONS,
    benjamini_hochberg,
    fdr_threshold,
    folded_pseudo_p,
)
from wellbeat.analytics.spatial.local import (
    GiStarResult,
    LocalMoranResult,
    SpatialInputError,
    gi_star,
    local_moran,
)
from wellbeat.analytics.spatial.weights import WEIGHTS_HELP, neighbour_structure

__all__ = [
    "DEFAULT_PERMUTATIONS",
    "EMERGING_CATEGORIES",
    "HOTSPOT_CLASSES",
    "MORAN_CLASSES",
    "NOT_SIGNIFICANT",
    "NO_NEIGHBOURS",
    "WEIGHTS_HELP",
    "EmergingResult",
    "GiStarResult",
    "LocalMoranResult",
    "MannKendallResult",
    "SpatialInputError",
    "benjamini_hochberg",
    "emerging_hotspots",
    "fdr_threshold",
    "folded_pseudo_p",
    "gi_star",
    "hotspot_classes",
    "local_moran",
    "mann_kendall",
    "moran_classes",
    "neighbour_structure",
]
