"""Demo indicators of the MPD analyst, saved through the real action (validated and audited),
so the indicator pages are not empty on first sign-in. Idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from wellbeat.web.accounts.models import User
from wellbeat.web.indicators import actions
from wellbeat.web.indicators.models import CustomIndicator

DEMO_ANALYST = ("MPD", "analyst")
DEMO_INDICATORS: tuple[dict[str, Any], ...] = (
    {
        "code": "stops_by_race",
        "name": "Stops by race",
        "description": "Every officer-initiated stop (traffic, pedestrian, field interview).",
        "numerator": [{"kinds": ["stop"]}],
        "period": "month",
        "by": ["attribute:race"],
    },
    {
        "code": "searches_per_100_stops",
        "name": "Searches per 100 stops, by race",
        "description": "Stops in which the person or the vehicle was searched, per 100 stops.",
        "numerator": [{"kinds": ["stop"], "attributes": {"searched": "true"}}],
        "denominator": {"indicator": "stops_by_race"},
        "factor": 100,
        "period": "quarter",
        "by": ["attribute:race"],
    },
    {
        "code": "force_by_type",
        "name": "Use of force by force type",
        "description": "Each type of force used on a subject (one stop may use several).",
        "numerator": [{"kinds": ["use_of_force"]}],
        "period": "quarter",
        "by": ["attribute:force_type"],
    },
)


def seed_indicators() -> list[CustomIndicator]:
    """The demo indicators of MPD (skipped when MPD has no analyst); a second run returns
    what is there."""
    if not settings.WELLBEAT_DEMO:
        raise RuntimeError("demo indicators are for demo mode only (WELLBEAT_DEMO=1)")
    from wellbeat.web.demo_logins import demo_username

    analyst = User.objects.filter(username=demo_username(*DEMO_ANALYST)).first()
    if analyst is None or analyst.agency is None:
        return []
    out = []
    for definition in DEMO_INDICATORS:
        existing = CustomIndicator.objects.filter(
            agency=analyst.agency, code=definition["code"]
        ).first()
        out.append(
            existing
            or actions.do_save_indicator(analyst, definition, purpose="public_health_surveillance")
        )
    return out
