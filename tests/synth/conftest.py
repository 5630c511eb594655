"""One tiny synthetic city, built once per test session and read by every synth test."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from wellbeat.synth import City, build_city


@dataclass(frozen=True)
class BuiltCity:
    city: City
    seconds: float

    @property
    def planted(self) -> dict[str, Any]:
        return self.city.planted_truth()

    def extract(self, agency: str, source: str) -> pd.DataFrame:
        """The raw extract as the agency wrote it, every value as text ("" when missing)."""
        info = self.city.source(agency, source)
        if info.format == "parquet":
            frame = pq.read_table(info.extract).to_pandas()
        elif info.format == "ndjson":
            frame = pd.read_json(info.extract, lines=True, dtype=False)
        else:
            frame = pd.read_csv(info.extract, dtype=str, keep_default_na=False)
        return frame.astype(object).where(frame.notna(), "").astype(str)

    def events(self) -> pd.DataFrame:
        return pd.read_csv(self.city.events, dtype=str, keep_default_na=False)

    def people(self) -> pd.DataFrame:
        return pd.read_csv(self.city.people, dtype=str, keep_default_na=False)

    def layer(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.city.layers[name].read_text())
        return result


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> BuiltCity:
    out = tmp_path_factory.mktemp("tiny-city")
    started = time.perf_counter()
    city = build_city(out, seed=42, scale="tiny")
    return BuiltCity(city, time.perf_counter() - started)


def digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative path."""
    import hashlib

    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
