"""Part 2 consents as the care actions read them (the governance app stores them)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from wellbeat.care.consent import ConsentDecision, part2_consent
from wellbeat.web.accounts.models import Agency
from wellbeat.web.governance.models import Consent


def consents_for(person_token: str) -> list[Any]:
    rows = (
        Consent.objects.select_related("disclosing_agency")
        .prefetch_related("recipients")
        .filter(person_token=person_token)
    )
    return [c.to_core() for c in rows]


def part2_decision(referral_token: str, a: Agency, b: Agency) -> ConsentDecision:
    return part2_consent(
        consents_for(referral_token), referral_token, a.code, b.code, timezone.now()
    )
