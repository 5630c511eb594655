"""Reporting periods for indicators: the lake's one definition (``wellbeat.events.periods``).

day; ISO 8601 week (Monday start); CDC MMWR week (Sunday start); month; quarter; year, all
local calendar periods of the hub's time zone. A period is named by its first day (the
engine's ``period`` column) and labelled for people.
"""

from __future__ import annotations

from wellbeat.events.periods import (
    mmwr_week,
    next_period,
    period_days,
    period_label,
    period_start,
    period_starts,
)

__all__ = [
    "mmwr_week",
    "next_period",
    "period_days",
    "period_label",
    "period_start",
    "period_starts",
]
