"""A governed city for the governance web tests: nested layers and a few agencies' events."""

from __future__ import annotations

from pathlib import Path

import pytest

from .lake_support import ingest_events, write_areas


@pytest.fixture
def city(hub_data_dir: Path) -> Path:
    """EMS overdoses (MFD), ED visits (GEN) and public-health outreach (PHD) in the lake."""
    write_areas(hub_data_dir)
    ingest_events(hub_data_dir, "MFD", "fire_ems", "ems_response", {"n0": 3, "n1": 14, "n2": 25})
    ingest_events(hub_data_dir, "PHD", "public_health", "outreach_contact", {"n0": 2}, batch="own")
    return hub_data_dir
