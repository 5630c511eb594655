"""A small governance world: agencies EMS, GEN, MPD and PH, nested layers, agreement builder."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from wellbeat.governance import Agreement, AgreementStatus, LayerOrder

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
HUB_KEY = bytes(range(32))
LAYERS = LayerOrder.from_sequence(["neighbourhood", "beat", "district"])


def agreement(**overrides: Any) -> Agreement:
    """An active EMS -> PH overdose agreement at neighbourhood/day, k=10, unless overridden."""
    base = Agreement(
        id="A-1",
        provider="EMS",
        recipient="PH",
        purpose="public_health_surveillance",
        granularity="aggregate",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=10,
        valid_from=date(2025, 1, 1),
        valid_to=date(2025, 12, 31),
        status=AgreementStatus.ACTIVE,
        syndromes=frozenset({"overdose", "opioid_overdose"}),
    )
    return replace(base, **overrides)
