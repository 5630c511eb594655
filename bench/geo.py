"""Benchmark: area assignment and H3 cells for 1,000,000 events (not part of the test suite).

Run: ``python bench/geo.py [--points N]``. Prints each timing and its ratio against a
straightforward reference measured in the same run: ``STRtree.query(points, predicate=
"intersects")`` for assignment, one ``h3.latlng_to_cell`` call per point for H3.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import h3
import numpy as np
import shapely

from wellbeat.geo import AreaLayer, assign_points, h3_cells, layer_from_geojson


def city_layer(areas: int, seed: int = 1) -> AreaLayer:
    """Voronoi areas over a Chicago-sized box, boundaries densified to ~100 vertices each."""
    rng = np.random.default_rng(seed)
    city = shapely.box(-87.9, 41.7, -87.5, 42.0)
    seeds = shapely.multipoints(
        np.c_[rng.uniform(-87.9, -87.5, areas), rng.uniform(41.7, 42.0, areas)]
    )
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=city)), city
    )
    cells = shapely.segmentize(cells, 0.002)
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"A{i:03d}", "name": f"Area {i}", "population": 1000},
            "geometry": shapely.geometry.mapping(cell),
        }
        for i, cell in enumerate(cells)
    ]
    return layer_from_geojson({"type": "FeatureCollection", "features": features}, "area")


def timed(run: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_point_h3(lat: list[float], lon: list[float]) -> list[str]:
    """The reference: one ``h3.latlng_to_cell`` call per point."""
    return [h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lon, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(2)
    n = args.points
    lon = rng.uniform(-87.95, -87.45, n)  # ~10% fall outside the city
    lat = rng.uniform(41.65, 42.05, n)
    lat[rng.random(n) < 0.01] = np.nan
    layer = city_layer(args.areas)
    vertices = int(shapely.get_num_coordinates(layer.geometries).sum())
    print(f"{n:,} points, {len(layer)} areas ({vertices:,} vertices)")

    def reference_assign() -> Any:
        points = shapely.points(lon, lat)
        return shapely.STRtree(layer.geometries).query(points, predicate="intersects")

    ours, assigned = timed(lambda: assign_points(layer, lon, lat))
    ref, pairs = timed(reference_assign)
    assert len(np.unique(pairs[0])) == int((assigned != "__outside__").sum())
    print(
        f"assign_points      {ours:6.3f} s   STRtree.query {ref:6.3f} s   ratio {ref / ours:5.1f}x"
    )

    for label, sites in (("all distinct", None), ("50,000 sites", 50_000)):
        if sites is None:
            h_lat, h_lon = lat, lon
        else:
            pick = rng.integers(0, sites, n)
            h_lat, h_lon = lat[:sites][pick], lon[:sites][pick]
        ours, cells = timed(partial(h3_cells, h_lat, h_lon), repeat=2)
        sample = rng.integers(0, n, 10_000)
        usable = sample[np.isfinite(h_lat[sample])]
        check = [h3.latlng_to_cell(h_lat[i], h_lon[i], 9) for i in usable]
        assert cells[usable].tolist() == check
        finite = np.isfinite(h_lat)
        ref, _ = timed(partial(per_point_h3, h_lat[finite].tolist(), h_lon[finite].tolist()), 1)
        print(
            f"h3_cells ({label:12}) {ours:6.3f} s   per-point loop {ref:6.3f} s   "
            f"ratio {ref / ours:5.1f}x"
        )


if __name__ == "__main__":
    main()
