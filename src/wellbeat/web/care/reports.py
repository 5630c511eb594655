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


DEFINITIONS = {m.key: m for m in measures.MEASURES}


def _rate(key: str, rate: measures.Rate, definition: str | None = None) -> MeasureRow:
    known = DEFINITIONS[key]
    return MeasureRow(
        key,
        known.label,
        definition or known.definition,
        rate.numerator,
        rate.denominator,
        rate.value,
        rate.interval,
        known.unit,
    )


@dataclass(frozen=True)
class CareFacts:
    """The hub's care records reduced to what the measures need (no person, only pseudonyms)."""

    referrals: list[measures.ReferralFacts]
    calls: list[measures.CallFacts]
    contacts: list[measures.CrisisContact]


def care_facts(since: datetime | None = None) -> CareFacts:
    """Referrals, triaged calls and crisis contacts from ``since`` (all time by default)."""
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
            c.received_at,
        )
        for c in calls.only(
            "eligible", "behavioral_health", "actual_response", "outcome", "received_at"
        )
    ]
    contacts = [
        measures.CrisisContact(e.person_token, e.occurred_at)
        for e in encounters.only("person_token", "occurred_at")
    ]
    contacts += [
        measures.CrisisContact(c.person_token, c.received_at)
        for c in calls.filter(behavioral_health=True)
        .exclude(person_token="")
        .only("person_token", "received_at")
    ]
    return CareFacts(referral_facts, call_facts, contacts)


def care_measures(since: datetime | None = None, now: datetime | None = None) -> list[MeasureRow]:
    """Every care measure over records from ``since`` (all time by default)."""
    moment = now or timezone.now()
    facts = care_facts(since)
    first_contact = measures.time_to_first_contact(facts.referrals)
    contact_definition = DEFINITIONS["time_to_first_contact_hours"]
    return [
        _rate("referral_completion_rate", measures.referral_completion_rate(facts.referrals)),
        MeasureRow(
            contact_definition.key,
            contact_definition.label,
            f"{contact_definition.definition}; {first_contact.contacted} contacted, "
            f"{first_contact.awaiting} still awaiting; 90th percentile "
            f"{_hours(first_contact.p90_hours)}",
            None,
            first_contact.contacted,
            first_contact.median_hours,
            None,
            "hours",
        ),
        _rate("alternative_response_share", measures.alternative_response_share(facts.calls)),
        _rate("diversion_rate", measures.diversion_rate(facts.calls)),
        _rate("repeat_crisis_30d", measures.repeat_crisis_rate(facts.contacts, 30, moment)),
        _rate("repeat_crisis_90d", measures.repeat_crisis_rate(facts.contacts, 90, moment)),
    ]


def care_measure_series(
    period: str, since: datetime | None = None, now: datetime | None = None
) -> list[measures.PeriodMeasure]:
    """Every care measure per reporting period, in the hub's time zone, zero-filled."""
    facts = care_facts(since)
    return measures.measures_by_period(
        facts.referrals,
        facts.calls,
        facts.contacts,
        period,
        now or timezone.now(),
        timezone.get_current_timezone(),
    )


SERIES_COLUMNS = (
    "period",
    "period_start",
    "measure",
    "numerator",
    "denominator",
    "value",
    "ci95_low",
    "ci95_high",
    "unit",
)
"""Columns of the per-period export (CSV and the API)."""


def series_record(row: measures.PeriodMeasure) -> dict[str, Any]:
    """One per-period measure as exported."""
    low, high = row.interval if row.interval else (None, None)
    return {
        "period": row.label,
        "period_start": row.period.isoformat(),
        "measure": row.key,
        "numerator": row.numerator,
        "denominator": row.denominator,
        "value": row.value,
        "ci95_low": low,
        "ci95_high": high,
        "unit": DEFINITIONS[row.key].unit,
    }


def _hours(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} h"
