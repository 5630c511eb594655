"""Opening hours from HSDS 3.0 schedules (the RFC 5545 RRULE subset HSDS uses): is it open now?

Supported: ``freq`` WEEKLY (``byday``, ``interval`` counted from ``dtstart``, ``byweekno``) and
MONTHLY (``bymonthday``, negative from the month's end; ``byday`` with an ordinal such as ``2MO``
or ``-1FR``); ``valid_from``/``valid_to`` and ``dtstart``/``until`` bound the dates; ``opens_at``
and ``closes_at`` as ``HH:MM`` or ``HH:MM:SS`` with an optional ``Z`` or ``+hh:mm`` offset (a
closing time before the opening time runs past midnight). The schedule's ``timezone`` (a UTC
offset in hours) applies when a time carries no offset; otherwise the caller's local zone does.
``count`` is not evaluated (a schedule with only ``count`` is taken as open-ended).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$")
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


class ScheduleError(ValueError):
    """A schedule field that cannot be read; the message names the field and the value."""


@dataclass(frozen=True)
class ClockTime:
    """A time of day, with the UTC offset it was given in (None: the schedule's zone)."""

    at: time
    offset: timedelta | None


@dataclass(frozen=True)
class OpeningRule:
    """One HSDS schedule entry, parsed."""

    id: str
    freq: str | None
    byday: tuple[tuple[int | None, int], ...]
    """(ordinal or None, weekday 0=Monday) pairs."""
    bymonthday: tuple[int, ...]
    byweekno: tuple[int, ...]
    interval: int
    dtstart: date | None
    until: date | None
    valid_from: date | None
    valid_to: date | None
    opens_at: ClockTime | None
    closes_at: ClockTime | None
    tz_offset_hours: float | None

    def zone(self, default: tzinfo) -> tzinfo:
        """The zone the schedule's dates and offset-less times are in."""
        if self.tz_offset_hours is None:
            return default
        return timezone(timedelta(hours=self.tz_offset_hours))


def _date(value: object, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ScheduleError(f"field {field!r}: {value!r} is not a YYYY-MM-DD date") from exc


def parse_clock(value: object, field: str) -> ClockTime | None:
    """``"09:00"``, ``"09:00:00"``, ``"09:00Z"``, ``"09:00-05:00"`` -> ClockTime."""
    if value in (None, ""):
        return None
    match = _TIME.match(str(value).strip())
    if not match:
        raise ScheduleError(f"field {field!r}: {value!r} is not an HH:MM time")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour == 24 and minute == 0 and second == 0:
        hour, minute, second = 23, 59, 59  # "24:00": end of the day
    if hour > 23 or minute > 59 or second > 59:
        raise ScheduleError(f"field {field!r}: {value!r} is not a time of day")
    offset: timedelta | None = None
    if match[4]:
        if match[4] == "Z":
            offset = timedelta(0)
        else:
            sign = -1 if match[4][0] == "-" else 1
            digits = match[4][1:].replace(":", "")
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return ClockTime(time(hour, minute, second), offset)


def _int_list(value: object, field: str) -> tuple[int, ...]:
    if value in (None, ""):
        return ()
    try:
        return tuple(int(part) for part in str(value).split(",") if part.strip())
    except ValueError as exc:
        raise ScheduleError(f"field {field!r}: {value!r} is not a list of integers") from exc


def _byday(value: object) -> tuple[tuple[int | None, int], ...]:
    if value in (None, ""):
        return ()
    out = []
    for part in str(value).upper().replace(" ", "").split(","):
        if not part:
            continue
        match = _BYDAY.match(part)
        if not match:
            raise ScheduleError(
                f"field 'byday': {part!r} is not a weekday code (MO..SU, optionally 2MO, -1FR)"
            )
        out.append((int(match[1]) if match[1] else None, WEEKDAYS.index(match[2])))
    return tuple(out)


def parse_schedule(entry: Mapping[str, Any]) -> OpeningRule:
    """Parse one HSDS schedule object; ScheduleError names the bad field."""
    freq = entry.get("freq")
    interval = entry.get("interval")
    tz = entry.get("timezone")
    return OpeningRule(
        id=str(entry.get("id", "")),
        freq=str(freq).upper() if freq else None,
        byday=_byday(entry.get("byday")),
        bymonthday=_int_list(entry.get("bymonthday"), "bymonthday"),
        byweekno=_int_list(entry.get("byweekno"), "byweekno"),
        interval=max(1, int(interval)) if isinstance(interval, int | float) else 1,
        dtstart=_date(entry.get("dtstart"), "dtstart"),
        until=_date(entry.get("until"), "until"),
        valid_from=_date(entry.get("valid_from"), "valid_from"),
        valid_to=_date(entry.get("valid_to"), "valid_to"),
        opens_at=parse_clock(entry.get("opens_at"), "opens_at"),
        closes_at=parse_clock(entry.get("closes_at"), "closes_at"),
        tz_offset_hours=float(tz) if isinstance(tz, int | float) else None,
    )


def _nth_weekday_matches(day: date, ordinal: int, weekday: int) -> bool:
    if day.weekday() != weekday:
        return False
    if ordinal > 0:
        return (day.day - 1) // 7 + 1 == ordinal
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    return (days_in_month - day.day) // 7 + 1 == -ordinal


def occurs_on(rule: OpeningRule, day: date) -> bool:
    """True when the rule's recurrence includes ``day`` (a date in the schedule's zone)."""
    for lower in (rule.valid_from, rule.dtstart):
        if lower is not None and day < lower:
            return False
    for upper in (rule.valid_to, rule.until):
        if upper is not None and day > upper:
            return False
    if rule.byweekno and day.isocalendar().week not in rule.byweekno:
        return False
    if rule.freq == "MONTHLY":
        if rule.bymonthday:
            days_in_month = calendar.monthrange(day.year, day.month)[1]
            wanted = {d if d > 0 else days_in_month + d + 1 for d in rule.bymonthday}
            if day.day not in wanted:
                return False
        if rule.byday and not any(
            _nth_weekday_matches(day, n, wd) if n else day.weekday() == wd for n, wd in rule.byday
        ):
            return False
        if rule.interval > 1 and rule.dtstart is not None:
            months = (day.year - rule.dtstart.year) * 12 + day.month - rule.dtstart.month
            if months % rule.interval:
                return False
        return bool(rule.bymonthday or rule.byday)
    # WEEKLY, or no freq at all (a plain list of weekdays, or every day).
    if rule.byday and day.weekday() not in {wd for _, wd in rule.byday}:
        return False
    if rule.interval > 1 and rule.dtstart is not None:
        start_week = rule.dtstart - timedelta(days=rule.dtstart.weekday())
        this_week = day - timedelta(days=day.weekday())
        if ((this_week - start_week).days // 7) % rule.interval:
            return False
    return True


def _bounds(rule: OpeningRule, day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    def at(clock: ClockTime | None, fallback: time) -> datetime:
        if clock is None:
            return datetime.combine(day, fallback, zone)
        tz = timezone(clock.offset) if clock.offset is not None else zone
        return datetime.combine(day, clock.at, tz)

    opens = at(rule.opens_at, time(0, 0))
    closes = at(rule.closes_at, time(23, 59, 59))
    if closes <= opens:
        closes += timedelta(days=1)  # closes after midnight
    return opens, closes


def is_open(rule: OpeningRule, moment: datetime, default_zone: tzinfo) -> bool:
    """True when ``moment`` (timezone-aware) falls inside one of the rule's opening periods."""
    if moment.tzinfo is None:
        raise ValueError("is_open: expected a timezone-aware datetime")
    zone = rule.zone(default_zone)
    local_day = moment.astimezone(zone).date()
    # The period that started yesterday may run past midnight into today.
    for day in (local_day - timedelta(days=1), local_day):
        if not occurs_on(rule, day):
            continue
        opens, closes = _bounds(rule, day, zone)
        if opens <= moment < closes:
            return True
    return False


def open_now(rules: tuple[OpeningRule, ...], moment: datetime, default_zone: tzinfo) -> bool | None:
    """Open at ``moment`` under any rule; None when there are no schedules to tell."""
    if not rules:
        return None
    return any(is_open(rule, moment, default_zone) for rule in rules)
