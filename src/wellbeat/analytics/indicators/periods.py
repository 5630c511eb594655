"""Reporting periods in Python, matching the engine's ``Dialect.truncate_date`` exactly.

day; ISO 8601 week (Monday start); CDC MMWR week (Sunday start, week 1 is the first week with
at least four days in the year, i.e. the week holding January 4); month; quarter; year. A
period is named by its first day (the engine's ``period`` column) and labelled for people.
"""

from __future__ import annotations

from datetime import date, timedelta

from wellbeat.lake.query import PERIODS


def _check(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period {period!r} is not one of {', '.join(PERIODS)}")


def period_start(day: date, period: str) -> date:
    """First day of the period holding ``day``."""
    _check(period)
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


def next_period(first_day: date, period: str) -> date:
    """First day of the period after the one starting on ``first_day``."""
    _check(period)
    if period == "day":
        return first_day + timedelta(days=1)
    if period in ("week", "mmwr_week"):
        return first_day + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    index = first_day.year * 12 + first_day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_starts(start: date, end: date, period: str) -> list[date]:
    """First days of every period that overlaps the days [start, end) (end exclusive)."""
    _check(period)
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
    jan4 = date(year, 1, 4)
    first = period_start(jan4, "mmwr_week")
    return year, (sunday - first).days // 7 + 1


def period_label(first_day: date, period: str) -> str:
    """A label for people: 2024-03-05, 2024-W10 (ISO), 2024-w10 (MMWR), 2024-03, 2024-Q1, 2024."""
    _check(period)
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
