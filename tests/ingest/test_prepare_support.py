"""Builders shared by the prepare and connector tests: write an extract + profile, prepare it.

Not a test module of its own; named to sit with the prepare tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wellbeat.ingest.prepare import BatchSummary, prepare_extract
from wellbeat.ingest.profile import parse_profile
from wellbeat.privacy.keys import load_key, write_key_file

KEY_HEX = "5f" * 16 + "a3" * 16
"""A fixed test key, so pseudonyms are reproducible across runs."""


@dataclass(frozen=True)
class Prepared:
    """A prepared test batch: its summary, its events and the raw bytes of events.parquet."""

    summary: BatchSummary
    table: pa.Table
    raw: bytes

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()

    def attributes(self, index: int) -> dict[str, str]:
        return dict(self.rows[index]["attributes"])


def key_file(directory: Path, key_hex: str = KEY_HEX) -> Path:
    """A key file holding ``key_hex`` in ``directory`` (created once)."""
    path = directory / f"agency-{key_hex[:6]}.key"
    if not path.exists():
        write_key_file(path, bytes.fromhex(key_hex))
    return path


def prepare_text(
    directory: Path,
    extract: str | bytes,
    profile: str,
    *,
    extract_name: str = "extract.csv",
    out_name: str = "batch",
    key_hex: str = KEY_HEX,
) -> Prepared:
    """Write ``extract`` and ``profile`` into ``directory``, prepare them, read the batch back."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / extract_name
    if isinstance(extract, bytes):
        source.write_bytes(extract)
    else:
        source.write_text(extract, encoding="utf-8")
    profile_path = directory / "profile.yaml"
    profile_path.write_text(profile, encoding="utf-8")
    key = load_key(key_file(directory, key_hex))
    out = directory / out_name
    summary = prepare_extract(
        source, parse_profile(profile, profile_path), key, out, overwrite=True
    )
    events_path = out / "events.parquet"
    return Prepared(summary, pq.read_table(events_path), events_path.read_bytes())
