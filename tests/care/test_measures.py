"""Care measures computed by hand on small, fully known sets of records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.care.lifecycle import TaskStatus
from wellbeat.care.measures import (
    CallFacts,
    CallOutcome,
    CrisisContact,
    ReferralFacts,
    alternative_response_share,
    diversion_rate,
    referral_completion_rate,
    repeat_crisis_rate,
    time_to_first_contact,
)
from wellbeat.care.triage import Response

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def ref(status: str, contact_hours: float | None = None, sent: bool = True) -> ReferralFacts:
    return ReferralFacts(
        TaskStatus(status),
        T0 if sent else None,
        T0 + timedelta(hours=contact_hours) if contact_hours is not None else None,
    )


def test_completion_rate_counts_closed_referrals_only() -> None:
    referrals = [
        ref("completed", 5),
        ref("completed", 30),
        ref("failed", 10),
        ref("rejected"),
        ref("cancelled"),
        ref("in-progress", 3),  # still open: not counted
        ref("entered-in-error"),  # a mistake: not counted
        ref("draft", sent=False),
    ]
    rate = referral_completion_rate(referrals)
    assert (rate.numerator, rate.denominator) == (2, 5)
    assert rate.value == pytest.approx(0.4)
    low, high = rate.interval
    # Wilson 95% interval for 2/5 (e.g. R: prop.test(2, 5, correct=FALSE)$conf.int).
    assert low == pytest.approx(0.1176, abs=1e-4) and high == pytest.approx(0.7693, abs=1e-4)


def test_time_to_first_contact() -> None:
    referrals = [
        ref("completed", 5),
        ref("completed", 30),
        ref("failed", 10),
        ref("in-progress", 1),
        ref("requested"),
        ref("accepted"),
        ref("rejected"),
    ]
    duration = time_to_first_contact(referrals)
    assert duration.contacted == 4 and duration.awaiting == 2
    assert duration.median_hours == pytest.approx(7.5)
    assert duration.p90_hours == pytest.approx(24.0)  # numpy.percentile([1, 5, 10, 30], 90)
    empty = time_to_first_contact([])
    assert empty.median_hours is None and empty.contacted == 0


def test_share_of_eligible_calls_handled_by_alternatives() -> None:
    calls = [
        CallFacts(True, True, Response.CIVILIAN_CRISIS_TEAM, CallOutcome.RESOLVED_ON_SCENE),
        CallFacts(True, True, Response.CO_RESPONDER, CallOutcome.REFERRED),
        CallFacts(True, True, Response.POLICE, CallOutcome.ARRESTED),
        CallFacts(True, True, None, None),  # response not recorded yet
        CallFacts(False, True, Response.CO_RESPONDER, CallOutcome.TRANSPORTED),  # not eligible
    ]
    share = alternative_response_share(calls)
    assert (share.numerator, share.denominator) == (2, 3)


def test_diversion_rate_over_behavioural_health_calls_with_outcomes() -> None:
    calls = [
        CallFacts(True, True, Response.CIVILIAN_CRISIS_TEAM, CallOutcome.DIVERTED_FROM_ED),
        CallFacts(False, True, Response.CO_RESPONDER, CallOutcome.DIVERTED_FROM_JAIL),
        CallFacts(False, True, Response.POLICE, CallOutcome.ARRESTED),
        CallFacts(False, True, Response.EMS, CallOutcome.TRANSPORTED),
        CallFacts(False, False, Response.POLICE, CallOutcome.DIVERTED_FROM_JAIL),  # not BH
        CallFacts(True, True, Response.POLICE, None),  # no outcome yet
    ]
    rate = diversion_rate(calls)
    assert (rate.numerator, rate.denominator) == (2, 4)


def test_repeat_crisis_contacts_respect_the_follow_up_window() -> None:
    day = timedelta(days=1)
    contacts = [
        CrisisContact("a", T0),
        CrisisContact("a", T0 + 20 * day),  # repeat of the first within 30 days
        CrisisContact("a", T0 + 100 * day),  # 80 days after the second: repeat within 90 only
        CrisisContact("b", T0 + 5 * day),  # never repeated
        CrisisContact("c", T0 + 150 * day),  # window not complete by as_of for 30 or 90
    ]
    as_of = T0 + 170 * day
    within_30 = repeat_crisis_rate(contacts, 30, as_of)
    within_90 = repeat_crisis_rate(contacts, 90, as_of)
    # 30 days: eligible = a@0, a@20, a@100, b@5 -> a@0 repeated.
    assert (within_30.numerator, within_30.denominator) == (1, 4)
    # 90 days: eligible = a@0, a@20, b@5 (a@100 + 90 > as_of) -> a@0 and a@20 repeated.
    assert (within_90.numerator, within_90.denominator) == (2, 3)
    assert repeat_crisis_rate([], 30, as_of).value is None


def test_measures_by_period_places_each_record_in_its_own_month() -> None:
    from zoneinfo import ZoneInfo

    from wellbeat.care.measures import MEASURES, measures_by_period

    jan, feb = datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 2, 3, tzinfo=UTC)
    referrals = [
        ReferralFacts(TaskStatus.COMPLETED, jan, jan + timedelta(hours=4)),
        ReferralFacts(TaskStatus.FAILED, jan, jan + timedelta(hours=8)),
        ReferralFacts(TaskStatus.COMPLETED, feb, feb + timedelta(hours=2)),
        ReferralFacts(TaskStatus.DRAFT, None, None),  # never sent: in no period
    ]
    calls = [
        CallFacts(True, True, Response.CO_RESPONDER, CallOutcome.DIVERTED_FROM_ED, jan),
        CallFacts(True, True, Response.POLICE, CallOutcome.ARRESTED, feb),
        CallFacts(True, True, Response.CIVILIAN_CRISIS_TEAM, CallOutcome.REFERRED, feb),
    ]
    # p1 repeats 20 days later, across the month boundary: counted in January only.
    contacts = [
        CrisisContact("p1", datetime(2025, 1, 20, tzinfo=UTC)),
        CrisisContact("p1", datetime(2025, 2, 9, tzinfo=UTC)),
        CrisisContact("p2", datetime(2025, 2, 1, tzinfo=UTC)),
    ]
    as_of = datetime(2025, 3, 15, tzinfo=UTC)
    rows = measures_by_period(referrals, calls, contacts, "month", as_of)
    assert sorted({r.label for r in rows}) == ["2025-01", "2025-02", "2025-03"]
    assert len(rows) == 3 * len(MEASURES)
    got = {(r.label, r.key): (r.numerator, r.denominator, r.value) for r in rows}
    assert got["2025-01", "referral_completion_rate"] == (1, 2, 0.5)
    assert got["2025-02", "referral_completion_rate"] == (1, 1, 1.0)
    assert got["2025-01", "time_to_first_contact_hours"] == (None, 2, 6.0)
    assert got["2025-01", "alternative_response_share"] == (1, 1, 1.0)
    assert got["2025-02", "alternative_response_share"] == (1, 2, 0.5)
    assert got["2025-01", "diversion_rate"] == (1, 1, 1.0)
    assert got["2025-02", "diversion_rate"] == (0, 2, 0.0)
    assert got["2025-01", "repeat_crisis_30d"] == (1, 1, 1.0)
    # Both February contacts have a complete 30-day window by 2025-03-15; neither repeats.
    assert got["2025-02", "repeat_crisis_30d"] == (0, 2, 0.0)
    assert got["2025-02", "repeat_crisis_90d"] == (0, 0, None)  # windows not complete yet
    assert got["2025-03", "referral_completion_rate"] == (0, 0, None)  # zero-filled
    # The hub's time zone decides the day: 00:30 UTC on 1 February is still January in Chicago.
    late = [ReferralFacts(TaskStatus.COMPLETED, datetime(2025, 2, 1, 0, 30, tzinfo=UTC), None)]
    local = measures_by_period(late, [], [], "month", as_of, ZoneInfo("America/Chicago"))
    first = next(r for r in local if r.key == "referral_completion_rate" and r.denominator)
    assert first.label == "2025-01"


def test_measures_by_period_sum_to_the_overall_measure() -> None:
    from wellbeat.care.measures import measures_by_period

    sent = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=9 * i) for i in range(20)]
    statuses = [TaskStatus.COMPLETED, TaskStatus.REJECTED, TaskStatus.IN_PROGRESS]
    referrals = [ReferralFacts(statuses[i % 3], at, None) for i, at in enumerate(sent)]
    overall = referral_completion_rate(referrals)
    rows = measures_by_period(referrals, [], [], "quarter", sent[-1])
    parts = [r for r in rows if r.key == "referral_completion_rate"]
    assert sum(r.numerator or 0 for r in parts) == overall.numerator
    assert sum(r.denominator for r in parts) == overall.denominator
    assert [r.label for r in parts] == ["2025-Q1", "2025-Q2"]
    # Repeat crisis contacts split by the period of the first contact add up to the overall rate.
    contacts = [
        CrisisContact(f"p{i % 7}", datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=5 * i))
        for i in range(40)
    ]
    as_of = datetime(2025, 9, 1, tzinfo=UTC)
    for days in (30, 90):
        whole = repeat_crisis_rate(contacts, days, as_of)
        split = [
            r
            for r in measures_by_period([], [], contacts, "month", as_of)
            if r.key == f"repeat_crisis_{days}d"
        ]
        assert sum(r.numerator or 0 for r in split) == whole.numerator
        assert sum(r.denominator for r in split) == whole.denominator > 0


def test_measures_need_aware_times() -> None:
    from wellbeat.care.measures import measures_by_period

    naive = [ReferralFacts(TaskStatus.COMPLETED, datetime(2025, 1, 1), None)]
    with pytest.raises(ValueError, match="timezone-aware"):
        measures_by_period(naive, [], [], "month", T0)


_MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)
)


@given(
    sent=st.lists(st.tuples(_MOMENTS, st.sampled_from(list(TaskStatus))), max_size=30),
    calls=st.lists(
        st.tuples(_MOMENTS, st.booleans(), st.sampled_from([None, *Response]), st.booleans()),
        max_size=30,
    ),
    contacts=st.lists(st.tuples(st.sampled_from("abcde"), _MOMENTS), max_size=30),
    period=st.sampled_from(["day", "week", "mmwr_week", "month", "quarter", "year"]),
)
@settings(max_examples=60, deadline=None)
def test_periods_partition_every_measure(
    sent: list[tuple[datetime, TaskStatus]],
    calls: list[tuple[datetime, bool, Response | None, bool]],
    contacts: list[tuple[str, datetime]],
    period: str,
) -> None:
    """Per-period numerators and denominators add up to the overall measure, for any records
    and any period type: nothing is counted twice or lost between periods."""
    from wellbeat.care.measures import measures_by_period

    touched = {TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED, TaskStatus.FAILED}
    referrals = [
        ReferralFacts(status, at, at + timedelta(hours=5) if status in touched else None)
        for at, status in sent
    ]
    call_facts = [
        CallFacts(eligible, True, response, CallOutcome.DIVERTED_FROM_ED if diverted else None, at)
        for at, eligible, response, diverted in calls
    ]
    crisis = [CrisisContact(person, at) for person, at in contacts]
    as_of = datetime(2026, 1, 1, tzinfo=UTC)
    rows = measures_by_period(referrals, call_facts, crisis, period, as_of)
    overall = {
        "referral_completion_rate": referral_completion_rate(referrals),
        "alternative_response_share": alternative_response_share(call_facts),
        "diversion_rate": diversion_rate(call_facts),
        "repeat_crisis_30d": repeat_crisis_rate(crisis, 30, as_of),
        "repeat_crisis_90d": repeat_crisis_rate(crisis, 90, as_of),
    }
    for key, whole in overall.items():
        parts = [r for r in rows if r.key == key]
        assert sum(r.numerator or 0 for r in parts) == whole.numerator, key
        assert sum(r.denominator for r in parts) == whole.denominator, key
    contacted = time_to_first_contact(referrals).contacted
    assert sum(r.denominator for r in rows if r.key == "time_to_first_contact_hours") == contacted
    assert len({r.period for r in rows}) * 6 == len(rows)  # every period carries all six
