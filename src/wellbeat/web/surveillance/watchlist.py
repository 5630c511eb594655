"""The indicators the detection job watches, with the purpose under which users read them.

An entry names its events the way an aggregate request does (syndromes, sectors, kinds), its
period type (day or week) and the purpose whose agreements govern who may see its alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wellbeat.governance import DataRequest

DEFAULT_LAYER = "neighbourhood"
"""Area layer alerts are computed at (the synthetic city's and most agreements' finest
shared layer for overdoses)."""


@dataclass(frozen=True)
class WatchedIndicator:
    """One indicator x area series family the job runs detection over."""

    id: str
    label: str
    purpose: str
    period: Literal["day", "week"] = "day"
    syndromes: tuple[str, ...] | None = None
    sectors: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    spikes: bool = False
    """Whether ODMAP-style threshold spikes are raised too (daily indicators only)."""
    overview: bool = False
    """Whether the situational overview shows a card for it (the key indicators)."""
    source_sectors: tuple[str, ...] = ()
    """Sectors whose agencies hold this indicator's events when ``sectors`` does not say
    (an indicator named by event kinds only)."""

    @property
    def holder_sectors(self) -> tuple[str, ...]:
        """The sectors of the agencies that hold this indicator's events: when none of them
        shares with a viewer, the viewer's counts are "not shared", never zero."""
        return self.sectors or self.source_sectors

    def request(self, layer: str, agencies: tuple[str, ...] | None = None) -> DataRequest:
        """The aggregate request for this indicator's counts by area and period."""
        return DataRequest(
            kind="aggregate",
            agencies=agencies,
            syndromes=self.syndromes,
            sectors=self.sectors,
            kinds=self.kinds,
            area_layer=layer,
            period=self.period,
            by=("agency",),
        )


WATCHLIST: tuple[WatchedIndicator, ...] = (
    WatchedIndicator(
        "suspected_overdose",
        "Suspected overdoses (EMS and ED)",
        "overdose_response",
        syndromes=("overdose",),
        sectors=("fire_ems", "emergency_dept"),
        spikes=True,
        overview=True,
    ),
    WatchedIndicator(
        "ed_assault_injury",
        "ED assault injuries",
        "violence_prevention",
        period="week",
        syndromes=("assault_injury",),
        sectors=("emergency_dept",),
        overview=True,
    ),
    WatchedIndicator(
        "mental_health_crisis",
        "Mental-health crisis calls",
        "crisis_response",
        period="week",
        syndromes=("mental_health_crisis",),
        kinds=("call_for_service",),
        overview=True,
        source_sectors=("police",),
    ),
    # The rest of the indicator catalogue that one governed request can express (the
    # catalogue's numerator terms; docs/indicators.md). EMS naloxone needs the attributes map
    # and repeat crisis calls a per-person window: neither is a governed aggregate.
    WatchedIndicator(
        "opioid_overdose",
        "Opioid overdoses (EMS and ED)",
        "overdose_response",
        syndromes=("opioid_overdose",),
        kinds=("ems_response", "ed_visit"),
        source_sectors=("fire_ems", "emergency_dept"),
    ),
    WatchedIndicator(
        "stimulant_overdose",
        "Stimulant overdoses (EMS and ED)",
        "overdose_response",
        syndromes=("stimulant_overdose",),
        kinds=("ems_response", "ed_visit"),
        source_sectors=("fire_ems", "emergency_dept"),
    ),
    WatchedIndicator(
        "fatal_overdose",
        "Fatal overdoses (medical examiner)",
        "overdose_response",
        period="week",
        syndromes=("overdose",),
        sectors=("medical_examiner",),
        kinds=("death",),
    ),
    WatchedIndicator(
        "violent_crime",
        "Violent crime (NIBRS crimes against persons)",
        "violence_prevention",
        period="week",
        syndromes=("violent_crime",),
        sectors=("police",),
        kinds=("incident",),
    ),
    WatchedIndicator(
        "firearm_injury",
        "Firearm injuries (ED)",
        "violence_prevention",
        period="week",
        syndromes=("firearm_injury",),
        kinds=("ed_visit", "assault_attendance"),
        source_sectors=("emergency_dept",),
    ),
    WatchedIndicator(
        "self_harm",
        "Self-harm (ED)",
        "public_health_surveillance",
        period="week",
        syndromes=("self_harm",),
        kinds=("ed_visit",),
        source_sectors=("emergency_dept",),
    ),
)
"""What the job watches by default (docs/alerts.md)."""

WATCHED = {w.id: w for w in WATCHLIST}


def watched(indicator_id: str) -> WatchedIndicator:
    try:
        return WATCHED[indicator_id]
    except KeyError:
        raise ValueError(
            f"indicator {indicator_id!r} is not watched; expected one of {', '.join(WATCHED)}"
        ) from None
