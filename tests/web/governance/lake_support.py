"""A tiny governed city for web tests: four nested area layers and prepared batches ingested
into the hub's lake through the real ingest path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.ingest import ingest_batch

# Neighbourhoods n0..n3 are unit squares (lon 0..2, lat 0..2); beat b0 is the west column,
# b1 the east; district d0 holds everything.
NEIGHBOURHOOD_CENTRES = {"n0": (0.5, 0.5), "n1": (1.5, 0.5), "n2": (0.5, 1.5), "n3": (1.5, 1.5)}
DAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _square(x0: float, y0: float, w: float, h: float) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _layer(features: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"id": fid, "name": fid.upper(), "population": 1000, **extra},
            }
            for fid, geometry, extra in features
        ],
    }


def write_areas(data_dir: Path) -> None:
    areas = data_dir / "areas"
    areas.mkdir(parents=True, exist_ok=True)
    neighbourhoods = [
        (nid, _square(x - 0.5, y - 0.5, 1, 1), {"beat": "b0" if x < 1 else "b1", "district": "d0"})
        for nid, (x, y) in NEIGHBOURHOOD_CENTRES.items()
    ]
    beats = [
        ("b0", _square(0, 0, 1, 2), {"district": "d0"}),
        ("b1", _square(1, 0, 1, 2), {"district": "d0"}),
    ]
    districts = [("d0", _square(0, 0, 2, 2), {})]
    for name, features in (
        ("neighbourhood", neighbourhoods),
        ("beat", beats),
        ("district", districts),
    ):
        (areas / f"{name}.geojson").write_text(json.dumps(_layer(features)), encoding="utf-8")


def ingest_events(
    data_dir: Path,
    agency: str,
    sector: str,
    kind: str,
    counts: dict[str, int],
    *,
    syndromes: tuple[str, ...] = ("overdose",),
    sensitivity: tuple[str, ...] = ("phi",),
    tokens: list[str] | None = None,
    batch: str = "b",
    day: datetime = DAY,
    attributes: dict[str, str] | None = None,
) -> None:
    """Ingest ``counts[neighbourhood]`` events of one kind for ``agency`` on ``day`` (a minute
    apart from its time of day)."""
    rows = []
    for neighbourhood, n in counts.items():
        lon, lat = NEIGHBOURHOOD_CENTRES[neighbourhood]
        for _ in range(n):
            i = len(rows) + 1
            occurred = day + timedelta(minutes=i)
            rows.append(
                {
                    "row_number": i,
                    "event_id": f"{agency}-{batch}-{i}",
                    "agency": agency,
                    "sector": sector,
                    "kind": kind,
                    "occurred_at": occurred.isoformat(),
                    "reported_at": (occurred + timedelta(minutes=5)).isoformat(),
                    "lat": str(lat),
                    "lon": str(lon),
                    "codes": [],
                    "syndromes": list(syndromes),
                    "person_token": tokens[(i - 1) % len(tokens)] if tokens else None,
                    "linkage_code": None,
                    "age_band": "30-34",
                    "sex": "female",
                    "attributes": sorted((attributes or {}).items()),
                    "sensitivity": list(sensitivity),
                }
            )
    directory = data_dir.parent / f"batch-{agency}-{batch}"
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=BATCH_SCHEMA), directory / "events.parquet")
    meta = {
        "format": "wellbeat-batch/1",
        "agency": agency,
        "sector": sector,
        "connector": "generic",
        "profile": "governance-test",
        "rows": len(rows),
    }
    (directory / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
    result = ingest_batch(directory, data_dir)
    assert result.quarantined == 0, result
