"""The HSDS schedule subset: weekly and monthly rules, intervals, validity dates, offsets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from wellbeat.care.schedules import (
    ScheduleError,
    is_open,
    occurs_on,
    open_now,
    parse_clock,
    parse_schedule,
)


def rule(**fields: object):
    return parse_schedule({"id": "s", **fields})


def test_monthly_ordinal_weekdays() -> None:
    second_monday = rule(freq="MONTHLY", byday="2MO")
    last_friday = rule(freq="MONTHLY", byday="-1FR")
    assert occurs_on(second_monday, date(2025, 7, 14))
    assert not occurs_on(second_monday, date(2025, 7, 7))
    assert occurs_on(last_friday, date(2025, 7, 25))
    assert not occurs_on(last_friday, date(2025, 7, 18))


def test_monthly_days_counted_from_the_end() -> None:
    last_day = rule(freq="MONTHLY", bymonthday="-1")
    assert occurs_on(last_day, date(2025, 2, 28))
    assert occurs_on(last_day, date(2024, 2, 29))
    assert not occurs_on(last_day, date(2024, 2, 28))


def test_fortnightly_from_dtstart() -> None:
    every_other_tuesday = rule(freq="WEEKLY", byday="TU", interval=2, dtstart="2025-07-01")
    assert occurs_on(every_other_tuesday, date(2025, 7, 1))
    assert not occurs_on(every_other_tuesday, date(2025, 7, 8))
    assert occurs_on(every_other_tuesday, date(2025, 7, 15))


def test_validity_window_and_until_bound_the_dates() -> None:
    summer = rule(freq="WEEKLY", byday="MO", valid_from="2025-06-01", valid_to="2025-08-31")
    assert occurs_on(summer, date(2025, 7, 7))
    assert not occurs_on(summer, date(2025, 9, 1))
    ended = rule(freq="WEEKLY", byday="MO", until="2025-01-31")
    assert not occurs_on(ended, date(2025, 2, 3))


def test_schedule_timezone_offset_applies_to_plain_times() -> None:
    # Open 09:00-17:00 at UTC+3 on Wednesdays.
    r = rule(freq="WEEKLY", byday="WE", opens_at="09:00", closes_at="17:00", timezone=3)
    assert is_open(r, datetime(2025, 7, 2, 6, 30, tzinfo=UTC), UTC)
    assert not is_open(r, datetime(2025, 7, 2, 14, 30, tzinfo=UTC), UTC)


def test_clock_parsing() -> None:
    assert parse_clock("09:30", "opens_at").at.hour == 9
    assert parse_clock("10:00:00", "opens_at").at.minute == 0
    assert parse_clock("09:00Z", "opens_at").offset == timedelta(0)
    assert parse_clock("09:00-05:00", "opens_at").offset == -timedelta(hours=5)
    assert parse_clock("24:00", "closes_at").at.hour == 23
    with pytest.raises(ScheduleError, match="field 'opens_at'"):
        parse_clock("9am", "opens_at")
    with pytest.raises(ScheduleError, match="field 'byday'"):
        rule(byday="MONDAY")


def test_no_rules_means_unknown_and_naive_moments_are_refused() -> None:
    assert open_now((), datetime.now(UTC), UTC) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(rule(), datetime(2025, 1, 1), UTC)
