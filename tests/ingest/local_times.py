"""Local wall-clock times around midnight, both DST changes and New Year's Eve in a northern
(America/Chicago) and a southern (Pacific/Auckland) zone, shared by the local-time tests of the
lake, the indicators and governance. Not a test module (no ``test_`` prefix)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

ZONES = ("America/Chicago", "Pacific/Auckland")

# Local wall-clock times (year, month, day, hour, minute) around each boundary, per zone.
AROUND = {
    "America/Chicago": [
        (2024, 5, 15, 23, 30),  # an ordinary midnight
        (2024, 5, 16, 0, 30),
        (2024, 3, 9, 23, 30),  # DST starts 2024-03-10 02:00 -> 03:00
        (2024, 3, 10, 0, 30),
        (2024, 3, 10, 3, 30),
        (2024, 3, 10, 23, 45),
        (2024, 3, 11, 0, 15),
        (2024, 11, 2, 23, 30),  # DST ends 2024-11-03 02:00 -> 01:00
        (2024, 11, 3, 0, 30),
        (2024, 11, 3, 1, 30),  # the repeated hour (first pass)
        (2024, 11, 3, 23, 30),
        (2024, 11, 4, 0, 30),
        (2024, 12, 31, 23, 30),  # New Year's Eve: the year's last night stays in 2024
        (2024, 12, 31, 23, 59),
        (2025, 1, 1, 0, 30),
        (2023, 12, 31, 23, 30),  # a Sunday: MMWR week 2023-w53 vs 2024-w01
        (2024, 1, 1, 0, 10),
        (2024, 3, 31, 23, 30),  # quarter and month ends
        (2024, 4, 1, 0, 30),
    ],
    "Pacific/Auckland": [
        (2024, 5, 15, 23, 30),
        (2024, 5, 16, 0, 30),
        (2024, 4, 6, 23, 30),  # DST ends 2024-04-07 03:00 -> 02:00
        (2024, 4, 7, 0, 30),
        (2024, 4, 7, 2, 30),  # the repeated hour (first pass)
        (2024, 4, 7, 23, 30),
        (2024, 4, 8, 0, 30),
        (2024, 9, 28, 23, 30),  # DST starts 2024-09-29 02:00 -> 03:00
        (2024, 9, 29, 0, 30),
        (2024, 9, 29, 3, 30),
        (2024, 9, 29, 23, 30),
        (2024, 9, 30, 0, 30),
        (2024, 12, 31, 23, 30),  # New Year's Eve (UTC still 2024-12-31 morning)
        (2025, 1, 1, 0, 30),  # New Year's Day local: UTC is still 2024-12-31
        (2024, 1, 1, 0, 10),
        (2023, 12, 31, 23, 30),
        (2024, 6, 30, 23, 30),
        (2024, 7, 1, 0, 30),
    ],
}


def instants(zone: str) -> list[datetime]:
    tz = ZoneInfo(zone)
    return [datetime(*t, tzinfo=tz).astimezone(UTC) for t in AROUND[zone]]


def local_days(zone: str) -> list[date]:
    return [datetime(*t, tzinfo=ZoneInfo(zone)).date() for t in AROUND[zone]]
