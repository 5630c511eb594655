"""Which areas border which: queen/rook contiguity and the spatial weights built from it.

Contiguity is decided on the geometry itself (GEOS predicates), not on shared vertex lists:
* queen: the two areas share at least one point of boundary (an edge or just a corner);
* rook: they share a stretch of boundary of positive length (an edge).
Areas that overlap count as neighbours under both. On topologically clean layers (shared
boundaries drawn with the same vertices, as census and beat files are) this matches
``libpysal.weights.Queen``/``Rook``. Where one area's corner lies in the middle of another's
edge (a "T-junction") libpysal's vertex matching misses the contact and this module does not;
``libpysal.graph.Graph.build_contiguity(strict=True)`` agrees with it there.

An area with no neighbours (an island, an enclave separated by a river polygon gap) is kept
with an empty neighbour list and an all-zero row of weights; see ``islands``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse

from wellbeat.geo.layers import AreaLayer

ContiguityKind = Literal["queen", "rook"]
WeightsTransform = Literal["B", "R"]
CONTIGUITY_KINDS: tuple[str, ...] = ("queen", "rook")
WEIGHT_TRANSFORMS: tuple[str, ...] = ("B", "R")

# DE-9IM patterns: boundaries meet in a line (rook), or interiors overlap in an area.
_SHARED_EDGE = "****1****"
_OVERLAP = "2********"


def contiguous_pairs(
    layer: AreaLayer, kind: ContiguityKind = "queen"
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Positions (i, j) with i < j of every pair of neighbouring areas, sorted."""
    if kind not in CONTIGUITY_KINDS:
        raise ValueError(f"contiguity kind must be one of {CONTIGUITY_KINDS}, got {kind!r}")
    geometries = layer.geometries
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if kind == "rook" and left.size:
        a, b = geometries[left], geometries[right]
        edge = shapely.relate_pattern(a, b, _SHARED_EDGE) | shapely.relate_pattern(a, b, _OVERLAP)
        left, right = left[edge], right[edge]
    order = np.lexsort((right, left))
    return left[order], right[order]


def _neighbours(layer: AreaLayer, kind: ContiguityKind) -> dict[str, list[str]]:
    left, right = contiguous_pairs(layer, kind)
    found: list[list[int]] = [[] for _ in range(len(layer))]
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        found[i].append(j)
        found[j].append(i)
    return {
        area_id: [layer.ids[j] for j in sorted(found[i])] for i, area_id in enumerate(layer.ids)
    }


def queen_neighbours(layer: AreaLayer) -> dict[str, list[str]]:
    """Every area's neighbours sharing an edge or a vertex, in layer order; [] for islands."""
    return _neighbours(layer, "queen")


def rook_neighbours(layer: AreaLayer) -> dict[str, list[str]]:
    """Every area's neighbours sharing an edge (not just a corner), in layer order."""
    return _neighbours(layer, "rook")


def islands(neighbours: Mapping[str, Sequence[str]]) -> list[str]:
    """Areas with no neighbours. Local statistics are undefined for them; report them apart."""
    return [area_id for area_id, around in neighbours.items() if not around]


def spatial_weights(
    layer: AreaLayer,
    kind: ContiguityKind = "queen",
    self_weight: bool = False,
    transform: WeightsTransform = "B",
) -> sparse.csr_matrix:
    """Contiguity weights as an n x n sparse matrix, rows and columns in ``layer.ids`` order.

    ``self_weight`` puts each area in its own neighbourhood (diagonal 1, as Getis-Ord Gi*
    needs). ``transform`` follows PySAL: "B" binary (1 per neighbour), "R" row-standardised
    (each row sums to 1). An island's row stays all zero under both (only its self weight
    when ``self_weight`` is set), as in libpysal.
    """
    if transform not in WEIGHT_TRANSFORMS:
        raise ValueError(
            f"weights transform must be one of {WEIGHT_TRANSFORMS} (B binary, R row-standardised)"
            f", got {transform!r}"
        )
    n = len(layer)
    left, right = contiguous_pairs(layer, kind)
    rows = np.concatenate([left, right])
    cols = np.concatenate([right, left])
    if self_weight:
        diagonal = np.arange(n)
        rows = np.concatenate([rows, diagonal])
        cols = np.concatenate([cols, diagonal])
    values = np.ones(len(rows), dtype=np.float64)
    weights = sparse.csr_matrix((values, (rows, cols)), shape=(n, n))
    weights.sort_indices()
    if transform == "R":
        row_sums = np.asarray(weights.sum(axis=1)).ravel()
        scale = np.divide(1.0, row_sums, out=np.zeros(n), where=row_sums > 0)
        weights = sparse.csr_matrix(sparse.diags(scale) @ weights)
    return weights
