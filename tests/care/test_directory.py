"""Directory search (need, taxonomy term, distance, open now, language, referrals) and
staleness, on the synthetic Millbrook directory and small hand-made services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wellbeat.care.directory import (
    DirectoryQuery,
    distance_km,
    haversine_km,
    is_stale,
    search,
)
from wellbeat.care.hsds import WeeklyHours, service_from_hsds, synthetic_directory
from wellbeat.care.needs import NeedError

from .builders import service_doc

CHICAGO = ZoneInfo("America/Chicago")
# Wednesday 2 July 2025, 10:00 in Millbrook.
WEDNESDAY_10AM = datetime(2025, 7, 2, 10, 0, tzinfo=CHICAGO)


@pytest.fixture(scope="module")
def millbrook() -> list:
    return [service_from_hsds(d) for d in synthetic_directory()]


def names(matches: list) -> list[str]:
    return [m.service.name for m in matches]


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude is ~111.2 km on the mean-radius sphere.
    assert haversine_km(0, 0, 1, 0) == pytest.approx(111.195, abs=0.01)
    assert haversine_km(41.59, -93.62, 41.59, -93.62) == 0


def test_search_by_need_ranks_more_needs_met_first(millbrook: list) -> None:
    found = search(
        millbrook,
        DirectoryQuery(needs=("homelessness", "housing-instability")),
        now=WEDNESDAY_10AM,
        zone=CHICAGO,
    )
    assert names(found)[0] == "Housing navigation"  # meets both needs
    assert set(names(found)) == {
        "Housing navigation",
        "Utility and rent assistance",
        "Emergency night shelter",
        "Eviction defence clinic",
    }
    assert found[0].needs_met == ("housing-instability", "homelessness")


def test_search_near_a_point_orders_by_distance_and_limits_radius(millbrook: list) -> None:
    north_park = (41.6121, -93.6012)
    found = search(
        millbrook,
        DirectoryQuery(needs=("substance-use",), near=north_park, within_km=2.0),
        now=WEDNESDAY_10AM,
        zone=CHICAGO,
    )
    assert names(found) == ["Outpatient substance use treatment", "Withdrawal management (detox)"]
    assert found[0].distance_km == pytest.approx(0, abs=1e-6)
    assert 0.5 < found[1].distance_km < 1.0
    farther = search(
        millbrook,
        DirectoryQuery(needs=("substance-use",), near=north_park, within_km=5.0),
        now=WEDNESDAY_10AM,
        zone=CHICAGO,
    )
    assert names(farther)[-1] == "Harm reduction and naloxone"


def test_open_now_uses_the_schedules(millbrook: list) -> None:
    saturday_11am = datetime(2025, 7, 5, 11, 0, tzinfo=CHICAGO)
    open_saturday = search(
        millbrook, DirectoryQuery(open_at=saturday_11am), now=saturday_11am, zone=CHICAGO
    )
    assert "Food pantry" in names(open_saturday)  # Saturday 09:00-12:00
    assert "Housing navigation" not in names(open_saturday)  # weekdays only
    assert "Withdrawal management (detox)" in names(open_saturday)  # every day, all day


def test_overnight_hours_run_past_midnight(millbrook: list) -> None:
    shelter = next(s for s in millbrook if s.name == "Emergency night shelter")
    for moment, expected in [
        (datetime(2025, 7, 2, 23, 30, tzinfo=CHICAGO), True),
        (datetime(2025, 7, 3, 2, 0, tzinfo=CHICAGO), True),
        (datetime(2025, 7, 3, 8, 30, tzinfo=CHICAGO), False),
        (datetime(2025, 7, 3, 17, 59, tzinfo=CHICAGO), False),
    ]:
        found = search([shelter], DirectoryQuery(open_at=moment), now=moment, zone=CHICAGO)
        assert bool(found) is expected, moment


def test_open_now_is_unknown_without_schedules() -> None:
    service = service_from_hsds(service_doc("No hours", hours=()))
    [match] = search([service], DirectoryQuery(), now=WEDNESDAY_10AM, zone=CHICAGO)
    assert match.open_now is None
    assert (
        search([service], DirectoryQuery(open_at=WEDNESDAY_10AM), now=WEDNESDAY_10AM, zone=CHICAGO)
        == []
    )


def test_language_matches_code_or_name(millbrook: list) -> None:
    by_code = search(millbrook, DirectoryQuery(language="so"), now=WEDNESDAY_10AM, zone=CHICAGO)
    by_name = search(millbrook, DirectoryQuery(language="Somali"), now=WEDNESDAY_10AM, zone=CHICAGO)
    assert names(by_code) == names(by_name) == ["Food pantry"]


def test_accepting_referrals_needs_a_hub_agency_and_the_flag(millbrook: list) -> None:
    found = search(
        millbrook,
        DirectoryQuery(needs=("homelessness",), accepting_referrals=True),
        now=WEDNESDAY_10AM,
        zone=CHICAGO,
    )
    assert names(found) == ["Housing navigation"]  # the shelter takes walk-ins only


def test_taxonomy_term_by_code_or_id(millbrook: list) -> None:
    detox = next(s for s in millbrook if s.name == "Withdrawal management (detox)")
    term = next(t for t in detox.terms if t.code == "substance-use")
    by_code = search(
        millbrook, DirectoryQuery(term="substance-use"), now=WEDNESDAY_10AM, zone=CHICAGO
    )
    by_id = search(millbrook, DirectoryQuery(term=term.id), now=WEDNESDAY_10AM, zone=CHICAGO)
    assert names(by_code) == names(by_id)
    assert len(by_code) == 3


def test_inactive_services_are_hidden_unless_asked() -> None:
    closed = service_from_hsds(service_doc("Closed clinic", status="temporarily closed"))
    assert search([closed], DirectoryQuery(), now=WEDNESDAY_10AM, zone=CHICAGO) == []
    assert search([closed], DirectoryQuery(include_inactive=True), now=WEDNESDAY_10AM, zone=CHICAGO)


def test_stale_entries_are_flagged(millbrook: list) -> None:
    now = datetime(2025, 7, 2, tzinfo=UTC)
    stale = {
        m.service.name
        for m in search(millbrook, DirectoryQuery(), now=now, zone=CHICAGO)
        if m.stale
    }
    assert stale == {
        "Utility and rent assistance",
        "Eviction defence clinic",
        "Outpatient counselling",
    }
    fresh = service_from_hsds(service_doc("Fresh", last_modified=now - timedelta(days=30)))
    assert not is_stale(fresh, now)
    assert is_stale(fresh, now, max_age_days=7)


def test_text_search_needs_every_word(millbrook: list) -> None:
    found = search(
        millbrook, DirectoryQuery(text="naloxone strips"), now=WEDNESDAY_10AM, zone=CHICAGO
    )
    assert names(found) == ["Harm reduction and naloxone"]


def test_distance_ignores_locations_without_a_valid_point() -> None:
    service = service_from_hsds(service_doc("Anywhere", at=(95.0, 200.0)))
    assert distance_km(service, 41.59, -93.62) is None
    assert (
        search(
            [service],
            DirectoryQuery(near=(41.59, -93.62), within_km=50),
            now=WEDNESDAY_10AM,
            zone=CHICAGO,
        )
        == []
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"needs": ("telepathy",)}, "unknown need"),
        ({"within_km": 3.0}, "give a point"),
        ({"near": (91.0, 0.0)}, "not a WGS84"),
        ({"near": (0.0, 0.0), "within_km": -1.0}, "must be > 0"),
        ({"open_at": datetime(2025, 7, 2, 10)}, "timezone-aware"),
    ],
)
def test_bad_queries_say_which_field(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, NeedError), match=message):
        DirectoryQuery(**kwargs)


def test_weekly_hours_in_a_named_offset() -> None:
    # 09:00-17:00 at UTC-05:00 written into the times themselves.
    doc = service_doc("Offset", hours=(WeeklyHours(("WE",), "09:00-05:00", "17:00-05:00"),))
    service = service_from_hsds(doc)
    inside = datetime(2025, 7, 2, 14, 30, tzinfo=UTC)  # 09:30 at -05:00
    outside = datetime(2025, 7, 2, 13, 30, tzinfo=UTC)  # 08:30 at -05:00
    assert search([service], DirectoryQuery(open_at=inside), now=inside, zone=UTC)
    assert not search([service], DirectoryQuery(open_at=outside), now=outside, zone=UTC)


def test_directory_moved_to_a_later_day_reads_as_confirmed_relative_to_it(millbrook: list) -> None:
    later = datetime(2026, 12, 4, 10, 0, tzinfo=CHICAGO)
    moved = [service_from_hsds(d) for d in synthetic_directory(as_of=later.date())]
    # As shipped, a year and a half on, every entry would be stale; moved, most are current.
    assert all(is_stale(s, later) for s in millbrook)
    stale = [s.name for s in moved if is_stale(s, later)]
    assert 0 < len(stale) < len(moved) // 2
    # The shift keeps each entry's age: the same entries are stale on the shipped day.
    shipped_day = datetime(2025, 6, 30, 10, 0, tzinfo=CHICAGO)
    assert stale == [s.name for s in millbrook if is_stale(s, shipped_day)]
