"""Finding a service for a person: by need or taxonomy term, distance, open now, language and
whether it takes referrals; and flagging entries nobody has confirmed for too long."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from wellbeat.care.hsds import DirectoryService
from wellbeat.care.needs import check_needs
from wellbeat.care.schedules import open_now

STALE_AFTER_DAYS = 365
"""An entry not modified or confirmed for this long is flagged stale. The AIRS Standards for
Professional Information & Referral ask that every resource record be reviewed at least once a
year; directories that want a tighter cycle pass their own ``max_age_days``."""

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), for great-circle distances."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_km(service: DirectoryService, lat: float, lon: float) -> float | None:
    """Distance from a point to the service's nearest location; None when none has a point."""
    distances = [
        haversine_km(lat, lon, place.latitude, place.longitude)  # type: ignore[arg-type]
        for place in service.places
        if place.has_point
    ]
    return min(distances) if distances else None


def is_stale(
    service: DirectoryService, now: datetime, max_age_days: int = STALE_AFTER_DAYS
) -> bool:
    """True when the entry was never dated or was last modified more than ``max_age_days`` ago."""
    if service.last_modified is None:
        return True
    return now - service.last_modified > timedelta(days=max_age_days)


@dataclass(frozen=True)
class DirectoryQuery:
    """A search: every criterion given must hold (combined with AND, as in the HSDS API).

    ``needs`` matches a service meeting at least one of them; ``term`` matches a taxonomy term
    by id or code; ``within_km`` needs ``near`` (lat, lon); ``open_at`` keeps services whose
    schedules say they are open at that moment."""

    needs: tuple[str, ...] = ()
    term: str | None = None
    near: tuple[float, float] | None = None
    within_km: float | None = None
    open_at: datetime | None = None
    language: str | None = None
    accepting_referrals: bool = False
    text: str = ""
    include_inactive: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", check_needs(self.needs, "query field 'needs'"))
        if self.within_km is not None:
            if self.near is None:
                raise ValueError("query field 'within_km': give a point ('near') to measure from")
            if self.within_km <= 0:
                raise ValueError(f"query field 'within_km': must be > 0, got {self.within_km}")
        if self.near is not None:
            lat, lon = self.near
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(
                    f"query field 'near': ({lat}, {lon}) is not a WGS84 latitude, longitude"
                )
        if self.open_at is not None and self.open_at.tzinfo is None:
            raise ValueError("query field 'open_at': expected a timezone-aware time")


@dataclass(frozen=True)
class Match:
    """One search result with what the person would want to know at a glance."""

    service: DirectoryService
    needs_met: tuple[str, ...]
    distance_km: float | None
    open_now: bool | None
    stale: bool


def search(
    services: Iterable[DirectoryService],
    query: DirectoryQuery,
    *,
    now: datetime,
    zone: tzinfo,
    max_age_days: int = STALE_AFTER_DAYS,
) -> list[Match]:
    """Services matching ``query``, best first: most needs met, then nearest, then by name.

    ``zone`` is the directory's local time zone, used for schedules that name no offset."""
    words = query.text.lower().split()
    wanted = set(query.needs)
    results: list[Match] = []
    for service in services:
        if not query.include_inactive and not service.is_active:
            continue
        met = tuple(code for code in service.needs if code in wanted)
        if wanted and not met:
            continue
        if query.term and not any(query.term in (t.id, t.code) for t in service.terms):
            continue
        if query.language and not service.speaks(query.language):
            continue
        if query.accepting_referrals and not service.takes_referrals:
            continue
        if words:
            haystack = f"{service.name} {service.description} {service.organization_name}".lower()
            if not all(word in haystack for word in words):
                continue
        distance = distance_km(service, *query.near) if query.near else None
        if query.within_km is not None and (distance is None or distance > query.within_km):
            continue
        moment = query.open_at or now
        is_open = open_now(service.schedules, moment, zone)
        if query.open_at is not None and not is_open:
            continue
        results.append(Match(service, met, distance, is_open, is_stale(service, now, max_age_days)))
    results.sort(
        key=lambda m: (
            -len(m.needs_met),
            m.distance_km if m.distance_km is not None else math.inf,
            m.service.name.lower(),
        )
    )
    return results
