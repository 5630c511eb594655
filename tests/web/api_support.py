"""Building small prepared batches (BATCH_SCHEMA) and archives for the upload API tests."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wellbeat.events.schema import BATCH_SCHEMA


def batch_rows(agency: str, n: int, bad: int = 0) -> list[dict[str, Any]]:
    """``n`` valid police calls of ``agency``, the last ``bad`` of them with an unknown sex."""
    start = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    rows = []
    for i in range(1, n + 1):
        occurred = start + timedelta(minutes=41 * i)
        rows.append(
            {
                "row_number": i,
                "event_id": f"{agency}-{i}",
                "agency": agency,
                "sector": "police",
                "kind": "call_for_service",
                "occurred_at": occurred.isoformat(),
                "reported_at": (occurred + timedelta(minutes=7)).isoformat(),
                "lat": "0.25",
                "lon": "0.25",
                "codes": ["apco:EDP"],
                "syndromes": ["mental_health_crisis"],
                "person_token": f"P{i % 5}",
                "linkage_code": None,
                "age_band": "30-34",
                "sex": "female" if i <= n - bad else "zebra",
                "attributes": [("disposition", "transported")],
                "sensitivity": ["phi"],
            }
        )
    return rows


def write_batch(directory: Path, agency: str, n: int = 6, bad: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rows = batch_rows(agency, n, bad)
    pq.write_table(pa.Table.from_pylist(rows, schema=BATCH_SCHEMA), directory / "events.parquet")
    meta = {
        "format": "wellbeat-batch/1",
        "agency": agency,
        "sector": "police",
        "connector": "generic",
        "profile": "api-test",
        "rows": n,
    }
    (directory / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
    return directory


def tar_of(directory: Path, *, top: str = "batch") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(directory, arcname=top)
    return buffer.getvalue()


def zip_of(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(directory.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()
