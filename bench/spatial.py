"""Benchmark: Gi* and local Moran's I with 999 permutations on 10,000 areas, against PySAL esda.

Run: ``python bench/spatial.py [--side 100] [--permutations 999] [--repeat 3] [--esda-jobs 1]``.
Builds a ``side`` x ``side`` grid of square areas (10,000 by default) as a wellbeat layer, queen
neighbours from ``wellbeat.geo``, and a continuous value per area (a smooth gradient, a planted
high cluster and gamma noise). Then times, in the same run and on the same data and seed:

* wellbeat ``gi_star`` and ``local_moran`` (analytical z + conditional permutations);
* esda ``G_Local(star=True, transform="B")`` and ``Moran_Local(transformation="r")`` with the
  same permutations and seed (``--esda-jobs``: esda's n_jobs; 1 by default, as wellbeat uses
  one core). esda's numba kernels are compiled on a small problem first; that compile time is
  printed apart and not counted.

Each timing is the best of ``--repeat`` runs. Prints times, the ratio esda / wellbeat (goal
> 1), the largest z difference (goal: below 1e-9) and how many areas have the same p_sim.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from wellbeat.analytics.spatial import gi_star, local_moran, neighbour_structure
from wellbeat.geo.layers import AreaLayer, layer_from_geojson_field


def grid_layer(side: int, cell: float = 0.002) -> AreaLayer:
    """``side`` x ``side`` squares of ``cell`` degrees (about 200 m) near Chicago."""
    x0, y0 = -87.9, 41.7
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"G{row:03d}{col:03d}"},
            "geometry": mapping(shapely.box(x0 + col * cell, y0 + row * cell,
                                            x0 + (col + 1) * cell, y0 + (row + 1) * cell)),
        }
        for row in range(side)
        for col in range(side)
    ]  # fmt: skip
    return layer_from_geojson_field({"type": "FeatureCollection", "features": features}, "id")


def grid_values(side: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    row, col = np.divmod(np.arange(side * side), side)
    values = 5.0 + 3.0 * col / side + rng.gamma(2.0, 1.0, side * side)
    cluster = (np.abs(row - side * 0.3) < side * 0.05) & (np.abs(col - side * 0.6) < side * 0.05)
    values[cluster] += 4.0
    return values


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=100, help="grid side (areas = side^2)")
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--esda-jobs", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # esda's deprecation notices

    import esda
    from libpysal.weights import WSP, lat2W

    start = time.perf_counter()
    layer = grid_layer(args.side)
    structure = neighbour_structure(layer, "queen")
    print(f"{len(layer):,} areas, {structure.nnz:,} queen links "
          f"(layer + contiguity {time.perf_counter() - start:.1f} s), "
          f"{args.permutations} permutations, seed {args.seed}")  # fmt: skip
    values = grid_values(args.side)
    perms, seed, repeat, jobs = args.permutations, args.seed, args.repeat, args.esda_jobs

    start = time.perf_counter()
    tiny = lat2W(5, 5, rook=False)
    esda.Moran_Local(np.arange(25.0), tiny, permutations=9, seed=1, n_jobs=1)
    esda.G_Local(np.arange(25.0), lat2W(5, 5, rook=False), transform="B", star=True,
                 permutations=9, seed=1, n_jobs=1)  # fmt: skip
    compile_s = time.perf_counter() - start
    print(f"esda {esda.__version__}: numba compile on a 5x5 grid {compile_s:.1f} s (not counted)")

    def esda_g() -> Any:
        w = WSP(structure.copy()).to_W(silence_warnings=True)
        start = time.perf_counter()
        result = esda.G_Local(values, w, transform="B", star=True, permutations=perms,
                              seed=seed, n_jobs=jobs)  # fmt: skip
        return time.perf_counter() - start, result

    def esda_moran() -> Any:
        w = WSP(structure.copy()).to_W(silence_warnings=True)
        start = time.perf_counter()
        result = esda.Moran_Local(values, w, transformation="r", permutations=perms, seed=seed,
                                  n_jobs=jobs)  # fmt: skip
        return time.perf_counter() - start, result

    ours_g_s, ours_g = timed(lambda: gi_star(values, structure, permutations=perms, seed=seed),
                             repeat)  # fmt: skip
    ours_m_s, ours_m = timed(
        lambda: local_moran(values, structure, permutations=perms, seed=seed), repeat
    )
    runs = [esda_g() for _ in range(repeat)]
    esda_g_s, their_g = min(runs, key=lambda run: run[0])
    runs = [esda_moran() for _ in range(repeat)]
    esda_m_s, their_m = min(runs, key=lambda run: run[0])

    n = values.size
    g_z = np.abs(ours_g.z - their_g.Zs).max()
    # esda's Is is spdep's Ii * (n - 1) / n but its conditional moments (EIc, VIc) are spdep's:
    # spdep's Z is (Is * n / (n - 1) - EIc) / sqrt(VIc); esda's own (Is - EIc) / sqrt(VIc) is off.
    their_ii = their_m.Is * n / (n - 1)
    m_z = np.nanmax(np.abs(ours_m.z - (their_ii - their_m.EIc) / np.sqrt(their_m.VIc)))
    raw_z = np.nanmax(np.abs(ours_m.z - (their_m.Is - their_m.EIc) / np.sqrt(their_m.VIc)))
    same_g = int(np.sum(np.isclose(ours_g.p_sim, their_g.p_sim, rtol=0, atol=1e-6)))
    same_m = int(np.sum(np.isclose(ours_m.p_sim, their_m.p_sim, rtol=0, atol=1e-6)))
    print(f"Gi*          wellbeat {ours_g_s:6.2f} s   esda (n_jobs={jobs}) {esda_g_s:6.2f} s   "
          f"ratio {esda_g_s / ours_g_s:4.1f}x (goal > 1)   max |z diff| {g_z:.1e}   "
          f"same p_sim {same_g:,}/{n:,}")  # fmt: skip
    print(f"local Moran  wellbeat {ours_m_s:6.2f} s   esda (n_jobs={jobs}) {esda_m_s:6.2f} s   "
          f"ratio {esda_m_s / ours_m_s:4.1f}x (goal > 1)   max |z diff| {m_z:.1e} "
          f"(esda's own Is-based z: {raw_z:.1e})   same p_sim {same_m:,}/{n:,}")  # fmt: skip


if __name__ == "__main__":
    main()
