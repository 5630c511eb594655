"""Care measures over the hub's records, computed by the pure ``wellbeat.care.measures``
functions; counts only, never a person. Fed to the program manager's page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from wellbeat.care import measures
from wellbeat.care.lifecycle import TaskStatus
from wellbeat.care.triage import Response
from wellbeat.web.care.models import Encounter, Referral, TriageCall


@dataclass(frozen=True)
class MeasureRow:
    """One measure as shown and exported: value with its numerator, denominator and 95% CI."""

    key: str
    label: str
    definition: str
    numerator: int | None
    denominator: int | None
    value: float | None
    interval: tuple[float, float] | None
    unit: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "definition": self.definition,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "ci95": list(self.interval) if self.interval else None,
            "unit": self.unit,
        }


def _rate(key: str, label: str, definition: str, rate: measures.Rate) -> MeasureRow:
    return MeasureRow(
        key, label, definition, rate.numerator, rate.denominator, rate.value, rate.interval, "share"
    )


def care_measures(since: datetime | None = None, now: datetime | None = None) -> list[MeasureRow]:
    """Every care measure over records from ``since`` (all time by default)."""
    moment = now or timezone.now()
    referrals = Referral.objects.all()
    calls = TriageCall.objects.all()
    encounters = Encounter.objects.filter(crisis=True)
    if since is not None:
        referrals = referrals.filter(authored_on__gte=since)
        calls = calls.filter(received_at__gte=since)
        encounters = encounters.filter(occurred_at__gte=since)
    referral_facts = [
        measures.ReferralFacts(TaskStatus(r.status), r.requested_at, r.first_contact_at)
        for r in referrals.only("status", "requested_at", "first_contact_at")
    ]
    call_facts = [
        measures.CallFacts(
            c.eligible,
            c.behavioral_health,
            Response(c.actual_response) if c.actual_response else None,
            measures.CallOutcome(c.outcome) if c.outcome else None,
        )
        for c in calls.only("eligible", "behavioral_health", "actual_response", "outcome")
    ]
    contacts = [measures.CrisisContact(e.person_token, e.occurred_at) for e in encounters]
    contacts += [
        measures.CrisisContact(c.person_token, c.received_at)
        for c in calls.filter(behavioral_health=True).exclude(person_token="")
    ]
    first_contact = measures.time_to_first_contact(referral_facts)
    return [
        _rate(
            "referral_completion_rate",
            "Referral completion rate",
            "Completed referrals / sent referrals that have closed (completed, declined, "
            "failed, cancelled)",
            measures.referral_completion_rate(referral_facts),
        ),
        MeasureRow(
            "time_to_first_contact_hours",
            "Time to first contact (median hours)",
            f"Hours from sending to the provider's first contact; {first_contact.contacted} "
            f"contacted, {first_contact.awaiting} still awaiting; 90th percentile "
            f"{_hours(first_contact.p90_hours)}",
            None,
            first_contact.contacted,
            first_contact.median_hours,
            None,
            "hours",
        ),
        _rate(
            "alternative_response_share",
            "Eligible calls handled by co-responders or civilian teams",
            "Eligible calls (behavioural health, screened for weapons, no violence, no medical "
            "emergency) with a recorded response / those sent a co-responder or civilian team",
            measures.alternative_response_share(call_facts),
        ),
        _rate(
            "diversion_rate",
            "Diversion rate",
            "Behavioural-health calls with an outcome recorded that were diverted from jail "
            "or the emergency department",
            measures.diversion_rate(call_facts),
        ),
        _rate(
            "repeat_crisis_30d",
            "Repeat crisis contacts within 30 days",
            "Crisis contacts followed by another for the same person within 30 days (contacts "
            "with a complete 30-day window)",
            measures.repeat_crisis_rate(contacts, 30, moment),
        ),
        _rate(
            "repeat_crisis_90d",
            "Repeat crisis contacts within 90 days",
            "As above, within 90 days",
            measures.repeat_crisis_rate(contacts, 90, moment),
        ),
    ]


def _hours(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} h"
