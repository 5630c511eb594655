"""Care-coordination and crisis-response measures, as plain functions over records: referral
completion rate, time to first contact, share of eligible calls handled by co-responders or
civilian teams, diversion rate, and repeat crisis contacts within 30 and 90 days.

Each returns numerator, denominator and value with a Wilson 95% interval, so a page or the
indicator catalogue can show the uncertainty with the number. Definitions are in docs/care.md.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Literal

from statsmodels.stats.proportion import proportion_confint

from wellbeat.analytics.indicators.periods import period_label, period_start, period_starts
from wellbeat.care.lifecycle import CLOSED_STATUSES, TaskStatus
from wellbeat.care.triage import ALTERNATIVE_RESPONSES, Response
from wellbeat.lake.query import PERIODS


class CallOutcome(StrEnum):
    """How a crisis call ended, recorded for every call (standards reference, section 8)."""

    RESOLVED_ON_SCENE = "resolved_on_scene"
    TRANSPORTED = "transported"
    REFERRED = "referred"
    ARRESTED = "arrested"
    DIVERTED_FROM_JAIL = "diverted_from_jail"
    DIVERTED_FROM_ED = "diverted_from_ed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").replace(" ed", " ED").capitalize()


DIVERSION_OUTCOMES = frozenset({CallOutcome.DIVERTED_FROM_JAIL, CallOutcome.DIVERTED_FROM_ED})


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson score 95% confidence interval (None when n = 0)."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.denominator:
            return None
        low, high = proportion_confint(
            self.numerator, self.denominator, alpha=0.05, method="wilson"
        )
        return float(low), float(high)


@dataclass(frozen=True)
class Duration:
    """Hours from referral to first contact: median and 90th percentile over those contacted."""

    contacted: int
    awaiting: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class ReferralFacts:
    status: TaskStatus
    requested_at: datetime | None
    first_contact_at: datetime | None


@dataclass(frozen=True)
class CallFacts:
    eligible: bool
    behavioral_health: bool
    actual_response: Response | None
    outcome: CallOutcome | None
    received_at: datetime | None = None
    """When the call came in: places it in a reporting period (``measures_by_period``)."""


@dataclass(frozen=True)
class CrisisContact:
    person_token: str
    at: datetime


def referral_completion_rate(referrals: Iterable[ReferralFacts]) -> Rate:
    """Completed referrals over referrals that were sent and have closed (completed, rejected,
    failed or cancelled); drafts, open referrals and entries in error are left out."""
    closed = [
        r
        for r in referrals
        if r.requested_at is not None
        and r.status in CLOSED_STATUSES
        and r.status is not TaskStatus.ENTERED_IN_ERROR
    ]
    done = sum(1 for r in closed if r.status is TaskStatus.COMPLETED)
    return Rate(done, len(closed))


def _percentile(values: Sequence[float], q: float) -> float:
    # Linear interpolation between order statistics (numpy's default, R type 7).
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def time_to_first_contact(referrals: Iterable[ReferralFacts]) -> Duration:
    """Hours from sending a referral to the provider's first contact with the person."""
    hours = []
    awaiting = 0
    for r in referrals:
        if r.requested_at is None or r.status is TaskStatus.ENTERED_IN_ERROR:
            continue
        if r.first_contact_at is None:
            if r.status in (TaskStatus.REQUESTED, TaskStatus.ACCEPTED):
                awaiting += 1
            continue
        hours.append((r.first_contact_at - r.requested_at).total_seconds() / 3600)
    if not hours:
        return Duration(0, awaiting, None, None)
    return Duration(len(hours), awaiting, statistics.median(hours), _percentile(hours, 0.9))


def alternative_response_share(calls: Iterable[CallFacts]) -> Rate:
    """Of calls eligible for an alternative response (behavioural health, screened for
    weapons, no violence, no medical emergency) whose actual response is recorded, the share
    handled by a co-responder or civilian crisis team."""
    eligible = [c for c in calls if c.eligible and c.actual_response is not None]
    handled = sum(1 for c in eligible if c.actual_response in ALTERNATIVE_RESPONSES)
    return Rate(handled, len(eligible))


def diversion_rate(calls: Iterable[CallFacts]) -> Rate:
    """Of behavioural-health calls with an outcome recorded, the share diverted from jail or
    from the emergency department."""
    recorded = [c for c in calls if c.behavioral_health and c.outcome is not None]
    diverted = sum(1 for c in recorded if c.outcome in DIVERSION_OUTCOMES)
    return Rate(diverted, len(recorded))


def repeat_crisis_flags(
    contacts: Iterable[CrisisContact], days: int, as_of: datetime
) -> list[tuple[datetime, bool]]:
    """Each crisis contact whose ``days``-day follow-up window has ended by ``as_of``, with
    whether the same person had another crisis contact within ``days`` days."""
    by_person: dict[str, list[datetime]] = defaultdict(list)
    for contact in contacts:
        by_person[contact.person_token].append(contact.at)
    window = timedelta(days=days)
    flags = []
    for times in by_person.values():
        times.sort()
        for index, at in enumerate(times):
            if at + window > as_of:
                continue
            following = times[index + 1] if index + 1 < len(times) else None
            flags.append((at, following is not None and following - at <= window))
    return flags


def repeat_crisis_rate(contacts: Iterable[CrisisContact], days: int, as_of: datetime) -> Rate:
    """Of crisis contacts whose ``days``-day follow-up window has ended by ``as_of``, the share
    followed by another crisis contact of the same person within ``days`` days (contacts too
    recent to have a full window are left out, so the rate is not biased low)."""
    flags = repeat_crisis_flags(contacts, days, as_of)
    return Rate(sum(1 for _, followed in flags if followed), len(flags))


MeasureUnit = Literal["share", "hours"]


@dataclass(frozen=True)
class MeasureDefinition:
    """What a measure is called and how it is defined: the one place pages, the API, the CSV
    export and ``wellbeat indicators list`` read it from."""

    key: str
    label: str
    definition: str
    unit: MeasureUnit
    anchor: str
    """The time that places a record in a reporting period."""


MEASURES: tuple[MeasureDefinition, ...] = (
    MeasureDefinition(
        "referral_completion_rate",
        "Referral completion rate",
        "Completed referrals / sent referrals that have closed (completed, declined, failed, "
        "cancelled)",
        "share",
        "when the referral was sent",
    ),
    MeasureDefinition(
        "time_to_first_contact_hours",
        "Time to first contact (median hours)",
        "Hours from sending a referral to the provider's first contact with the person",
        "hours",
        "when the referral was sent",
    ),
    MeasureDefinition(
        "alternative_response_share",
        "Eligible calls handled by co-responders or civilian teams",
        "Eligible calls (behavioural health, screened for weapons, no violence, no medical "
        "emergency) with a recorded response / those sent a co-responder or civilian team",
        "share",
        "when the call came in",
    ),
    MeasureDefinition(
        "diversion_rate",
        "Diversion rate",
        "Behavioural-health calls with an outcome recorded that were diverted from jail or the "
        "emergency department",
        "share",
        "when the call came in",
    ),
    MeasureDefinition(
        "repeat_crisis_30d",
        "Repeat crisis contacts within 30 days",
        "Crisis contacts followed by another for the same person within 30 days (contacts with "
        "a complete 30-day window)",
        "share",
        "the first contact",
    ),
    MeasureDefinition(
        "repeat_crisis_90d",
        "Repeat crisis contacts within 90 days",
        "Crisis contacts followed by another for the same person within 90 days (contacts with "
        "a complete 90-day window)",
        "share",
        "the first contact",
    ),
)
"""The care measures, in the order they are shown."""


@dataclass(frozen=True)
class PeriodMeasure:
    """One measure over the records of one reporting period."""

    period: date
    label: str
    key: str
    numerator: int | None
    denominator: int
    value: float | None
    interval: tuple[float, float] | None


def _local_day(moment: datetime, zone: tzinfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("measures need timezone-aware times")
    return moment.astimezone(zone).date()


def measures_by_period(
    referrals: Sequence[ReferralFacts],
    calls: Sequence[CallFacts],
    contacts: Sequence[CrisisContact],
    period: str,
    as_of: datetime,
    zone: tzinfo = UTC,
) -> list[PeriodMeasure]:
    """Every measure per reporting period (day, ISO or MMWR week, month, quarter, year), from the
    first period holding a record to the one holding ``as_of``, zero-filled.

    A referral counts in the period it was sent, a call in the period it came in, a crisis
    contact in its own period (the contact that repeats it may come later). Days are taken in
    ``zone`` (the hub's time zone). Records without their anchor time are left out."""
    if period not in PERIODS:
        raise ValueError(f"period {period!r} is not one of {', '.join(PERIODS)}")
    sent = [
        (period_start(_local_day(r.requested_at, zone), period), r)
        for r in referrals
        if r.requested_at
    ]
    timed = [
        (period_start(_local_day(c.received_at, zone), period), c) for c in calls if c.received_at
    ]
    firsts = [p for p, _ in sent] + [p for p, _ in timed]
    firsts += [period_start(_local_day(c.at, zone), period) for c in contacts]
    if not firsts:
        return []
    last_day = _local_day(as_of, zone)
    starts = period_starts(min(firsts), max(last_day, max(firsts)) + timedelta(days=1), period)
    referrals_in: dict[date, list[ReferralFacts]] = defaultdict(list)
    for start, referral in sent:
        referrals_in[start].append(referral)
    calls_in: dict[date, list[CallFacts]] = defaultdict(list)
    for start, call in timed:
        calls_in[start].append(call)
    # Each counted contact sits in its own period; the repeat may come in a later one.
    repeats: dict[int, dict[date, list[int]]] = {}
    for days in (30, 90):
        tally: dict[date, list[int]] = defaultdict(lambda: [0, 0])
        for at, followed in repeat_crisis_flags(contacts, days, as_of):
            cell = tally[period_start(_local_day(at, zone), period)]
            cell[0] += int(followed)
            cell[1] += 1
        repeats[days] = tally
    rows: list[PeriodMeasure] = []
    for start in starts:
        label = period_label(start, period)
        these_referrals = referrals_in.get(start, [])
        these_calls = calls_in.get(start, [])
        first_contact = time_to_first_contact(these_referrals)
        rates = {
            "referral_completion_rate": referral_completion_rate(these_referrals),
            "alternative_response_share": alternative_response_share(these_calls),
            "diversion_rate": diversion_rate(these_calls),
            "repeat_crisis_30d": Rate(*repeats[30].get(start, [0, 0])),
            "repeat_crisis_90d": Rate(*repeats[90].get(start, [0, 0])),
        }
        for measure in MEASURES:
            if measure.key == "time_to_first_contact_hours":
                rows.append(
                    PeriodMeasure(
                        start,
                        label,
                        measure.key,
                        None,
                        first_contact.contacted,
                        first_contact.median_hours,
                        None,
                    )
                )
                continue
            rate = rates[measure.key]
            rows.append(
                PeriodMeasure(
                    start,
                    label,
                    measure.key,
                    rate.numerator,
                    rate.denominator,
                    rate.value,
                    rate.interval,
                )
            )
    return rows
