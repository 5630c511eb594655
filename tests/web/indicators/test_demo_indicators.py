"""The demo's indicators for the MPD analyst: valid catalogue entries saved through the real
action (audited), and a second run changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.indicators.demo import DEMO_INDICATORS, seed_indicators
from wellbeat.web.indicators.models import CustomIndicator

pytestmark = pytest.mark.django_db


def test_seed_indicators_is_idempotent(settings: Any, world: Any) -> None:
    from wellbeat.web.accounts.models import User

    settings.WELLBEAT_DEMO = True
    analyst = world.users["mpd_analyst"]
    User.objects.filter(pk=analyst.pk).update(username="mpd-analyst")
    first = seed_indicators()
    assert [r.code for r in first] == [d["code"] for d in DEMO_INDICATORS]
    assert {r.agency.code for r in first} == {"MPD"}
    assert first[1].definition["denominator"] == {"indicator": "stops_by_race"}
    assert AuditEntry.objects.filter(action="indicator.saved").count() == len(DEMO_INDICATORS)
    second = seed_indicators()
    assert [r.pk for r in second] == [r.pk for r in first]
    assert CustomIndicator.objects.count() == len(DEMO_INDICATORS)


def test_seed_indicators_refuses_outside_demo_mode(settings: Any, world: Any) -> None:
    settings.WELLBEAT_DEMO = False
    with pytest.raises(RuntimeError, match="demo mode only"):
        seed_indicators()
