"""A hand-built lake shared by the indicator tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.analytics.indicators.world import ingest_events, world_events

from wellbeat.lake.engine import DuckDBEngine


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("indicator-hub")
    ingest_events(data_dir, world_events(), tmp_path_factory.mktemp("batches"))
    return data_dir


@pytest.fixture
def engine(world_dir: Path) -> DuckDBEngine:
    eng = DuckDBEngine(world_dir)
    yield eng  # type: ignore[misc]
    eng.close()
