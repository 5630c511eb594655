"""Builders shared by the ingest and lake tests: batches written directly in BATCH_SCHEMA.

Not a test module of its own; named to sit with the ingest tests. ``tests/lake/conftest.py``
puts this folder on ``sys.path`` so the lake tests build batches the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wellbeat.events.schema import BATCH_SCHEMA

AGENCY = "MPD"
BASE_TIME = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2024, 6, 1, tzinfo=UTC)
"""The hub clock used by tests, so 'in the future' does not depend on the real date."""


def good_row(row_number: int, **overrides: Any) -> dict[str, Any]:
    """A valid BATCH_SCHEMA row: a police call inside the 2x2 test grid."""
    occurred = BASE_TIME + timedelta(minutes=37 * row_number)
    row: dict[str, Any] = {
        "row_number": row_number,
        "event_id": f"E{row_number}",
        "agency": AGENCY,
        "sector": "police",
        "kind": "call_for_service",
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        "reported_at": (occurred + timedelta(minutes=5)).isoformat(),
        "lat": "0.25",
        "lon": "0.25",
        "codes": ["apco:EDP"],
        "syndromes": ["mental_health_crisis"],
        "person_token": f"P{row_number % 7}",
        "linkage_code": None,
        "age_band": "30-34",
        "sex": "female",
        "attributes": [("disposition", "transported")],
        "sensitivity": ["phi"],
    }
    row.update(overrides)
    return row


def batch_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=BATCH_SCHEMA)


def write_batch(
    directory: Path, batch_rows: Sequence[dict[str, Any]], agency: str = AGENCY, **meta: Any
) -> Path:
    """A prepared batch directory (events.parquet + batch.json) holding these rows."""
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(batch_table(batch_rows), directory / "events.parquet")
    metadata = {
        "format": "wellbeat-batch/1",
        "agency": agency,
        "sector": "police",
        "connector": "generic",
        "profile": "test",
        "rows": len(batch_rows),
    }
    metadata.update(meta)
    (directory / "batch.json").write_text(json.dumps(metadata), encoding="utf-8")
    return directory


def _square(x0: float, y0: float, size: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def write_grid_layer(data_dir: Path, name: str = "beat", size: float = 0.5) -> Path:
    """A 2x2 grid of square areas covering lon/lat 0..2*size, ids ``<name>-<col><row>``."""
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"{name}-{c}{r}", "name": f"{name} {c}{r}", "population": 1000},
            "geometry": {"type": "Polygon", "coordinates": _square(c * size, r * size, size)},
        }
        for c in range(2)
        for r in range(2)
    ]
    path = data_dir / "areas" / f"{name}.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path
