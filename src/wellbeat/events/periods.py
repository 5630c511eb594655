"""The one definition of reporting periods and of the hub's local calendar.

Periods: day; ISO 8601 week (Monday start); CDC MMWR week (Sunday start, week 1 is the first
week with at least four days in the year, i.e. the week holding January 4); month; quarter;
year. A period is named by its first day (the engine's ``period`` column) and labelled for
people. Days are *local* days of the hub's time zone (``lake.store.lake_time_zone``): an event
at 23:30 local belongs to that local day, whatever the UTC date. The SQL builders
(``lake.query.Dialect.truncate_date``), governance (``governance.resolution``), the indicators
and the web app all use this module, so Python and SQL agree on every boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Period = Literal["day", "week", "mmwr_week", "month", "quarter", "year"]
PERIODS: tuple[str, ...] = ("day", "week", "mmwr_week", "month", "quarter", "year")
"""The lake's periods, finer to coarser."""

PERIOD_RANK: dict[str, int] = {
    "day": 0,
    "week": 1,
    "mmwr_week": 1,
    "month": 2,
    "quarter": 3,
    "year": 4,
}
"""Resolution of each period: ISO weeks and MMWR (Sunday-start) weeks are equally fine."""

DEFAULT_TIME_ZONE = "UTC"
"""The zone of a lake that names none (lakes written before time zones were configurable)."""


def check_period(period: str) -> None:
    """Raise ``ValueError`` naming the allowed periods when ``period`` is not one of them."""
    if period not in PERIODS:
        raise ValueError(f"period {period!r} is not one of {', '.join(PERIODS)}")


def period_start(day: date, period: str) -> date:
    """First day of the ``period`` holding ``day``."""
    check_period(period)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "mmwr_week":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def next_period(day: date, period: str) -> date:
    """First day of the period after the one holding ``day``."""
    start = period_start(day, period)
    if period == "day":
        return start + timedelta(days=1)
    if period in ("week", "mmwr_week"):
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_starts(start: date, end: date, period: str) -> list[date]:
    """First days of every period that overlaps the days [start, end) (end exclusive)."""
    check_period(period)
    if end <= start:
        return []
    out: list[date] = []
    current = period_start(start, period)
    while current < end:
        out.append(current)
        current = next_period(current, period)
    return out


def mmwr_week(day: date) -> tuple[int, int]:
    """(MMWR year, MMWR week 1-53) of a date (CDC's epidemiological week)."""
    sunday = period_start(day, "mmwr_week")
    year = (sunday + timedelta(days=3)).year  # the week belongs to the year of its Wednesday
    first = period_start(date(year, 1, 4), "mmwr_week")
    return year, (sunday - first).days // 7 + 1


def period_label(first_day: date, period: str) -> str:
    """A label for people: 2024-03-05, 2024-W10 (ISO), 2024-w10 (MMWR), 2024-03, 2024-Q1, 2024."""
    check_period(period)
    if period == "day":
        return first_day.isoformat()
    if period == "week":
        iso = first_day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if period == "mmwr_week":
        year, week = mmwr_week(first_day)
        return f"{year}-w{week:02d}"
    if period == "month":
        return f"{first_day.year}-{first_day.month:02d}"
    if period == "quarter":
        return f"{first_day.year}-Q{(first_day.month - 1) // 3 + 1}"
    return str(first_day.year)


def period_days(first_day: date, period: str) -> int:
    """Number of days in the period starting on ``first_day``."""
    return (next_period(first_day, period) - first_day).days


def period_allowed(requested: str, finest: str) -> bool:
    """True when ``requested`` is no finer than ``finest``."""
    return PERIOD_RANK[requested] >= PERIOD_RANK[finest]


def coarsest_period(periods: Iterable[str], prefer: str) -> str:
    """The coarsest of ``periods``; ``prefer`` wins a tie (so a week request stays ISO weeks)."""
    listed = list(periods)
    top = max(PERIOD_RANK[p] for p in listed)
    if PERIOD_RANK[prefer] == top:
        return prefer
    return next(p for p in listed if PERIOD_RANK[p] == top)


# -- the local calendar -----------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``America/Chicago``); ``ValueError`` naming it if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"time zone {name!r} is not an IANA zone name (e.g. America/Chicago, UTC)"
        ) from exc


def aware(value: datetime) -> datetime:
    """``value`` with a zone: naive datetimes are taken as UTC (the lake's timestamps)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def local_date(instant: datetime, time_zone: str) -> date:
    """The local calendar day of an instant in ``time_zone`` (naive instants are UTC)."""
    return aware(instant).astimezone(zone(time_zone)).date()


def local_midnight(day: date, time_zone: str) -> datetime:
    """The instant (UTC) at which local ``day`` begins in ``time_zone``. Zones that skip
    midnight on a DST change (a few do) begin the day at its first existing instant."""
    tz = zone(time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    utc = start.astimezone(UTC)
    # A non-existent local midnight maps forward; astimezone round trip detects the gap.
    if utc.astimezone(tz).date() != day:
        utc = datetime.combine(day, time(1), tzinfo=tz).astimezone(UTC)
    return utc


def is_local_midnight(instant: datetime, time_zone: str) -> bool:
    """True when ``instant`` is the start of a local day in ``time_zone``."""
    value = aware(instant)
    return value.astimezone(UTC) == local_midnight(local_date(value, time_zone), time_zone)
