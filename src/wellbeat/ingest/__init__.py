"""Source-side preparation (connectors, mapping profiles) and hub-side validated ingestion.

``ingest_batch`` and friends load lazily, so ``wellbeat prepare`` at an agency does not pay for
(or depend on) the hub's lake and geography stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wellbeat.ingest.ingest import BatchError, IngestResult, ingest_batch
    from wellbeat.ingest.plain import ingest_file

__all__ = ["BatchError", "IngestResult", "ingest_batch", "ingest_file"]

_LAZY = {
    "BatchError": "wellbeat.ingest.ingest",
    "IngestResult": "wellbeat.ingest.ingest",
    "ingest_batch": "wellbeat.ingest.ingest",
    "ingest_file": "wellbeat.ingest.plain",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wellbeat.ingest' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
