"""Golden pseudo p-values of PySAL esda for wellbeat.analytics.spatial's permutation inference.

Run from the repository root:  python tests/analytics/spatial/golden/make_esda_golden.py
Needs esda (dev extra). Writes esda_p_sim.json beside this script: for columbus CRIME and SIDS
SID79 (queen, the layers of make_golden.R) and seeds 1 and 42, esda 999-permutation results of
``Moran_Local(transformation="r")`` and ``G_Local(star=True, transform="B")``: the raw ``p_sim``
and the p_sim recomputed from esda's own simulated statistics counting draws equal to the
observed statistic up to rounding (relative 1e-9) as ties (wellbeat's rule), plus Is and Zs.
Kept as a fixture because esda's numba kernels take a minute to compile in every process.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import esda
import numpy as np
from libpysal.weights import WSP

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3] / "src"))

from wellbeat.analytics.spatial import folded_pseudo_p, neighbour_structure  # noqa: E402
from wellbeat.geo.layers import load_layer_by_field  # noqa: E402

PERMUTATIONS = 999
CASES = [("columbus_crime_queen", "columbus.geojson", "POLYID"),
         ("sids_sid79_queen", "sids.geojson", "FIPS")]  # fmt: skip
SEEDS = [1, 42]


def tie_aware(simulated: np.ndarray, observed: np.ndarray) -> list[float]:
    tied = np.isclose(simulated, observed[:, None], rtol=1e-9, atol=0)
    larger = ((simulated >= observed[:, None]) | tied).sum(axis=1)
    return folded_pseudo_p(larger, PERMUTATIONS).tolist()


def main() -> None:
    out: dict[str, object] = {"esda_version": esda.__version__, "permutations": PERMUTATIONS}
    try:
        import numba

        out["numba_version"] = numba.__version__
    except ImportError:
        out["numba_version"] = None
    results = []
    for name, layer_file, id_field in CASES:
        layer = load_layer_by_field(HERE / layer_file, id_field)
        structure = neighbour_structure(layer, "queen")
        with (HERE / f"{name}.csv").open() as handle:
            header = handle.readline().strip().split(",")
            column = header.index('"value"')
            values = np.array([float(line.split(",")[column].strip('"')) for line in handle])
        for seed in SEEDS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lisa = esda.Moran_Local(
                    values,
                    WSP(structure.copy()).to_W(),
                    transformation="r",
                    permutations=PERMUTATIONS,
                    seed=seed,
                )
                g = esda.G_Local(values, WSP(structure.copy()).to_W(), transform="B", star=True,
                                 permutations=PERMUTATIONS, seed=seed, n_jobs=1)  # fmt: skip
            results.append({
                "case": name, "seed": seed,
                "moran_is": lisa.Is.tolist(), "moran_p_sim": lisa.p_sim.tolist(),
                "moran_p_sim_ties": tie_aware(lisa.rlisas, lisa.Is),
                "g_zs": g.Zs.tolist(), "g_p_sim": np.asarray(g.p_sim, float).tolist(),
                "g_p_sim_ties": tie_aware(g.rGs, g.Gs),
            })  # fmt: skip
    out["results"] = results
    (HERE / "esda_p_sim.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
