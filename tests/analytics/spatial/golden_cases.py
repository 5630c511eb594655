"""The spdep golden cases written by golden/make_golden.R, loaded for the tests."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy import sparse

from wellbeat.analytics.spatial import neighbour_structure
from wellbeat.geo import AreaLayer
from wellbeat.geo.layers import load_layer_by_field

GOLDEN = Path(__file__).parent / "golden"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    layer_path: Path
    id_field: str
    value: str
    weights: str
    rows: tuple[dict[str, str], ...]

    @property
    def spec(self) -> str:
        """The case's weights as a ``--weights`` spec (knn4 is knn:4, band60000 band:60000)."""
        return self.weights.replace("knn", "knn:").replace("band", "band:")

    @property
    def islands(self) -> np.ndarray:
        """Areas without neighbours (spdep's zero.policy = TRUE keeps them)."""
        return np.array([not row["neighbours"] for row in self.rows])

    def column(self, name: str) -> np.ndarray:
        return np.array([float(row[name]) for row in self.rows])

    def layer(self) -> AreaLayer:
        return _layer(self.layer_path, self.id_field)

    def structure(self) -> sparse.csr_matrix:
        return neighbour_structure(self.layer(), self.spec)


@cache
def _layer(path: Path, id_field: str) -> AreaLayer:
    return load_layer_by_field(path, id_field)


def golden_cases() -> list[GoldenCase]:
    meta = json.loads((GOLDEN / "golden.json").read_text())
    cases = []
    for case in meta["cases"]:
        with (GOLDEN / case["file"]).open(newline="") as handle:
            rows = tuple(csv.DictReader(handle))
        cases.append(
            GoldenCase(
                name=case["file"].removesuffix(".csv"),
                layer_path=GOLDEN / case["layer"],
                id_field=case["id_field"],
                value=case["value"],
                weights=case["weights"],
                rows=rows,
            )
        )
    return cases


CASES = golden_cases()
CASE_IDS = [case.name for case in CASES]
