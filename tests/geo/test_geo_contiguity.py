"""Queen/rook contiguity and spatial weights, checked against libpysal on the same layers."""

from __future__ import annotations

import warnings

import geopandas as gpd
import libpysal
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal.graph import Graph

from wellbeat.geo import (
    AreaLayer,
    islands,
    layer_from_geojson,
    queen_neighbours,
    rook_neighbours,
    spatial_weights,
)

from .builders import collection, feature


@pytest.fixture
def voronoi() -> AreaLayer:
    """60 irregular areas (Voronoi cells of random seeds clipped to a city-sized box)."""
    rng = np.random.default_rng(3)
    city = shapely.box(-87.9, 41.7, -87.5, 42.0)
    seeds = shapely.multipoints(np.c_[rng.uniform(-87.9, -87.5, 60), rng.uniform(41.7, 42.0, 60)])
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=city)), city
    )
    features = [feature(f"v{i:02d}", cell) for i, cell in enumerate(cells)]
    return layer_from_geojson(collection(features), "voronoi")


def _libpysal_weights(layer: AreaLayer, kind: str) -> libpysal.weights.W:
    frame = gpd.GeoDataFrame({"id": list(layer.ids)}, geometry=list(layer.geometries))
    builder = libpysal.weights.Queen if kind == "queen" else libpysal.weights.Rook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands, which we expect
        return builder.from_dataframe(frame, ids="id", use_index=False)


def _as_sets(neighbours: dict[str, list[str]]) -> dict[str, set[str]]:
    return {area_id: set(around) for area_id, around in neighbours.items()}


def test_queen_grid_centre_touches_all_eight_and_corner_three(grid: AreaLayer) -> None:
    queen = queen_neighbours(grid)
    assert queen["r1c1"] == ["r0c0", "r0c1", "r0c2", "r1c0", "r1c2", "r2c0", "r2c1", "r2c2"]
    assert queen["r0c0"] == ["r0c1", "r1c0", "r1c1"]


def test_rook_drops_the_diagonal_neighbours(grid: AreaLayer) -> None:
    rook = rook_neighbours(grid)
    assert rook["r1c1"] == ["r0c1", "r1c0", "r1c2", "r2c1"]
    assert rook["r0c0"] == ["r0c1", "r1c0"]
    queen = queen_neighbours(grid)
    diagonal_only = {a: set(queen[a]) - set(rook[a]) for a in grid.ids}
    assert diagonal_only["r0c0"] == {"r1c1"}
    assert diagonal_only["r1c1"] == {"r0c0", "r0c2", "r2c0", "r2c2"}


@pytest.mark.parametrize(
    ("layer_name", "kind"),
    [
        ("grid", "queen"),
        ("grid", "rook"),
        ("holes_and_islands", "queen"),
        # holes_and_islands under rook has a T-junction: see the strict-graph test below.
        ("voronoi", "queen"),
        ("voronoi", "rook"),
    ],
)
def test_neighbours_agree_with_libpysal(
    request: pytest.FixtureRequest, layer_name: str, kind: str
) -> None:
    layer: AreaLayer = request.getfixturevalue(layer_name)
    ours = queen_neighbours(layer) if kind == "queen" else rook_neighbours(layer)
    theirs = _libpysal_weights(layer, kind).neighbors
    assert _as_sets(ours) == {area_id: set(around) for area_id, around in theirs.items()}


def test_holes_multipolygon_and_island(holes_and_islands: AreaLayer) -> None:
    queen = queen_neighbours(holes_and_islands)
    assert queen == {
        "ring": ["core", "twin"],  # core fills part of the hole; twin's square touches the east
        "core": ["ring"],
        "twin": ["ring"],  # its second part touches nothing
        "island": [],
    }
    assert islands(queen) == ["island"]


def test_rook_counts_an_edge_that_ends_mid_edge_like_libpysal_strict(
    holes_and_islands: AreaLayer,
) -> None:
    # twin's square shares x=4, 0<=y<=1 with ring, whose edge runs on to y=4 without a vertex
    # at y=1: vertex-matching libpysal.weights.Rook misses that contact, strict geometry does not.
    rook = rook_neighbours(holes_and_islands)
    assert rook["twin"] == ["ring"]
    assert _libpysal_weights(holes_and_islands, "rook").neighbors["twin"] == []
    frame = gpd.GeoDataFrame(
        {"id": list(holes_and_islands.ids)}, geometry=list(holes_and_islands.geometries)
    ).set_index("id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strict = Graph.build_contiguity(frame, rook=True, strict=True)
    assert _as_sets(rook) == {
        area_id: set(around) - {area_id} for area_id, around in strict.neighbors.items()
    }


def test_queen_counts_a_corner_touching_mid_edge() -> None:
    # b's corner (1, 0.5) lies on a's east edge, which has no vertex there.
    a = shapely.box(0, 0, 1, 1)
    b = shapely.Polygon([(1, 0.5), (2, 0), (2, 1), (1, 0.5)])
    c = shapely.box(5, 5, 6, 6)
    layer = layer_from_geojson(
        collection([feature("a", a), feature("b", b), feature("c", c)]), "touch"
    )
    assert queen_neighbours(layer) == {"a": ["b"], "b": ["a"], "c": []}
    assert rook_neighbours(layer) == {"a": [], "b": [], "c": []}


@pytest.mark.parametrize("layer_name", ["grid", "holes_and_islands", "voronoi"])
@pytest.mark.parametrize("transform", ["B", "R"])
def test_weights_match_libpysal_sparse_matrix(
    request: pytest.FixtureRequest, layer_name: str, transform: str
) -> None:
    layer: AreaLayer = request.getfixturevalue(layer_name)
    ours = spatial_weights(layer, "queen", transform=transform)  # type: ignore[arg-type]
    w = _libpysal_weights(layer, "queen")
    assert list(w.id_order) == list(layer.ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w.transform = transform
    np.testing.assert_allclose(ours.toarray(), w.sparse.toarray(), atol=1e-12)


def test_row_standardised_rows_sum_to_one_except_islands(holes_and_islands: AreaLayer) -> None:
    weights = spatial_weights(holes_and_islands, transform="R")
    sums = np.asarray(weights.sum(axis=1)).ravel()
    assert sums.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.0])
    assert weights[0, 1] == pytest.approx(0.5)


def test_self_weight_puts_each_area_in_its_own_neighbourhood(grid: AreaLayer) -> None:
    binary = spatial_weights(grid, self_weight=True)
    assert binary.diagonal().tolist() == [1.0] * 9
    assert binary[4].sum() == 9  # centre: itself and its eight queen neighbours
    rook = spatial_weights(grid, kind="rook", self_weight=True, transform="R")
    assert rook[0].toarray().ravel()[[0, 1, 3]] == pytest.approx([1 / 3] * 3)


def test_weights_are_symmetric_binary_and_aligned_with_ids(voronoi: AreaLayer) -> None:
    weights = spatial_weights(voronoi)
    assert weights.shape == (60, 60)
    assert (weights != weights.T).nnz == 0
    assert set(np.unique(weights.data).tolist()) == {1.0}
    queen = queen_neighbours(voronoi)
    first = voronoi.ids[0]
    row = weights[0].indices.tolist()
    assert [voronoi.ids[j] for j in row] == queen[first]


def test_unknown_kind_or_transform_is_rejected(grid: AreaLayer) -> None:
    with pytest.raises(ValueError, match="contiguity kind must be one of"):
        spatial_weights(grid, kind="bishop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="weights transform must be one of"):
        spatial_weights(grid, transform="V")  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    columns=st.integers(min_value=1, max_value=5),
    rows=st.integers(min_value=1, max_value=5),
    data=st.data(),
)
def test_grids_with_gaps_agree_with_libpysal(columns: int, rows: int, data: st.DataObject) -> None:
    cells = [(r, c) for r in range(rows) for c in range(columns)]
    kept = data.draw(st.lists(st.sampled_from(cells), min_size=1, unique=True), label="kept")
    features = [feature(f"g{r}_{c}", shapely.box(c, r, c + 1, r + 1)) for r, c in kept]
    layer = layer_from_geojson(collection(features), "gaps")
    for kind, ours in (("queen", queen_neighbours(layer)), ("rook", rook_neighbours(layer))):
        theirs = _libpysal_weights(layer, kind).neighbors
        assert _as_sets(ours) == {area_id: set(around) for area_id, around in theirs.items()}
        for area_id, around in ours.items():
            assert all(area_id in ours[other] for other in around)  # symmetric
    weights = spatial_weights(layer, transform="R")
    sums = np.asarray(weights.sum(axis=1)).ravel()
    expected = [0.0 if not queen_neighbours(layer)[a] else 1.0 for a in layer.ids]
    np.testing.assert_allclose(sums, expected)
