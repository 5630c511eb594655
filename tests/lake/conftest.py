"""Lake tests build batches with the ingest tests' builders (BATCH_SCHEMA rows, grid layers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
