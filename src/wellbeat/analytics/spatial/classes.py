"""How analysts read local statistics: hot and cold spots, and Moran quadrants.

* Gi*: an area is a hot (cold) spot at confidence 99, 95 or 90 % when its z is positive
  (negative) and its p-value is below 0.01, 0.05 or 0.10, the bins of ArcGIS's Hot Spot
  Analysis (``Gi_Bin`` = +-3, +-2, +-1).
* Local Moran: an area significant at ``alpha`` takes its quadrant, HH (high among high), LL,
  HL (high outlier among low), LH; otherwise "not significant" (esda ``get_cluster_labels``).

"Below" is strict (p < alpha), as in esda, so a pseudo p-value of exactly 0.05 from 999
permutations is not significant at 95 %. With ``fdr=True`` each level's cut-off is the
Benjamini-Hochberg one of ``esda.fdr`` over all areas at that level. Islands (NaN p-value) are
"no neighbours".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wellbeat.analytics.spatial.inference import fdr_threshold

HOTSPOT_LEVELS: tuple[tuple[float, str], ...] = ((0.01, "99%"), (0.05, "95%"), (0.10, "90%"))
"""(significance level, confidence label), strictest first (ArcGIS Gi_Bin)."""
NOT_SIGNIFICANT = "not significant"
NO_NEIGHBOURS = "no neighbours"
HOTSPOT_CLASSES: tuple[str, ...] = (
    *(f"hot spot {label}" for _, label in HOTSPOT_LEVELS),
    *(f"cold spot {label}" for _, label in HOTSPOT_LEVELS),
    NOT_SIGNIFICANT,
    NO_NEIGHBOURS,
)
MORAN_CLASSES: tuple[str, ...] = ("HH", "LL", "HL", "LH", NOT_SIGNIFICANT, NO_NEIGHBOURS)
DEFAULT_ALPHA = 0.05


def _cut_off(p: npt.NDArray[np.float64], alpha: float, fdr: bool) -> float:
    return fdr_threshold(p, alpha) if fdr else alpha


def hotspot_classes(
    z: npt.ArrayLike, p_values: npt.ArrayLike, *, fdr: bool = False
) -> npt.NDArray[np.str_]:
    """'hot spot 99%' ... 'cold spot 90%', 'not significant' or 'no neighbours' per area."""
    z_ = np.asarray(z, dtype=np.float64)
    p = np.asarray(p_values, dtype=np.float64)
    classes = np.full(p.shape, NOT_SIGNIFICANT, dtype=object)
    classes[np.isnan(p)] = NO_NEIGHBOURS
    assigned = np.isnan(p)
    for alpha, label in HOTSPOT_LEVELS:
        significant = ~assigned & (p < _cut_off(p, alpha, fdr))
        classes[significant & (z_ > 0)] = f"hot spot {label}"
        classes[significant & (z_ < 0)] = f"cold spot {label}"
        assigned |= significant & (z_ != 0)
    return classes.astype(str)


def moran_classes(
    quadrant: npt.ArrayLike,
    p_values: npt.ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    fdr: bool = False,
) -> npt.NDArray[np.str_]:
    """The quadrant (HH, LL, HL, LH) where p < alpha (or its FDR cut-off), else not significant."""
    q = np.asarray(quadrant, dtype=object)
    p = np.asarray(p_values, dtype=np.float64)
    classes = np.full(p.shape, NOT_SIGNIFICANT, dtype=object)
    significant = p < _cut_off(p, alpha, fdr)
    classes[significant] = q[significant]
    classes[np.isnan(p)] = NO_NEIGHBOURS
    return classes.astype(str)
