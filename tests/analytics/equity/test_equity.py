"""Disparity measures equal hand computation; the veil-of-darkness regression equals R's glm."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from wellbeat.analytics.equity import (
    classify_twilight,
    disparities,
    garwood,
    proportions,
    rates,
    veil_frame,
    veil_of_darkness,
    veil_of_darkness_fit,
    wilson,
)

from .stops_fixture import GOLDEN, LAT, LON, ZONE, traffic_stops


def _stops() -> pd.DataFrame:
    """12 stops: 6 of White people (2 searched, 1 hit), 4 of Black people (3 searched, 1 hit),
    2 of Hispanic people (none searched)."""
    rows = (
        [("white", "true", "true"), ("white", "true", "false")]
        + [("white", "false", None)] * 4
        + [("black", "true", "true"), ("black", "true", "false"), ("black", "true", "false")]
        + [("black", "false", None)]
        + [("hispanic", "false", None)] * 2
    )
    frame = pd.DataFrame(rows, columns=["race", "searched", "contraband_found"])
    frame["event_id"] = [f"S{i}" for i in range(len(frame))]
    return frame


def test_disparity_measures_equal_hand_computation() -> None:
    stops = _stops()
    force = pd.DataFrame({"stop_id": ["S0", "S6", "S6", "S7"]})  # S6 had two force types
    result = disparities(
        stops, population={"white": 6000, "black": 1000, "hispanic": 2000}, force=force
    )
    by = {e.group: e for e in result.search_rate}
    assert (by["white"].count, by["white"].denominator, by["white"].value) == (2, 6, 2 / 6)
    assert (by["black"].count, by["black"].denominator, by["black"].value) == (3, 4, 0.75)
    assert by["hispanic"].value == 0.0
    # Risk ratio with Katz's interval, by hand.
    rr = 0.75 / (2 / 6)
    half = 1.959963984540054 * math.sqrt(1 / 3 - 1 / 4 + 1 / 2 - 1 / 6)
    assert by["black"].ratio == pytest.approx(rr)
    assert by["black"].ratio_low == pytest.approx(rr * math.exp(-half))
    assert by["black"].ratio_high == pytest.approx(rr * math.exp(half))
    assert by["white"].ratio is None and by["hispanic"].ratio is None  # reference; zero count
    hits = {e.group: e for e in result.hit_rate}
    assert (hits["white"].value, hits["black"].value) == (0.5, 1 / 3)
    assert hits["hispanic"].denominator == 0 and hits["hispanic"].value is None
    force_rate = {e.group: (e.count, e.denominator) for e in result.force_per_stop}
    assert force_rate == {"white": (1, 6), "black": (2, 4), "hispanic": (0, 2)}
    stop_rate = {e.group: e for e in result.stop_rate}
    assert stop_rate["black"].value == pytest.approx(4.0)  # 4 stops per 1,000 of 1,000
    assert stop_rate["white"].value == pytest.approx(1.0)
    assert stop_rate["black"].ratio == pytest.approx(4.0)
    half = 1.959963984540054 * math.sqrt(1 / 4 + 1 / 6)
    assert stop_rate["black"].ratio_low == pytest.approx(4.0 * math.exp(-half))


def test_intervals_match_their_textbook_values() -> None:
    # Wilson (1927) for 3/4 and Garwood exact Poisson for 4 (Ulm 1990 table: 1.0899, 10.2416).
    low, high = wilson(3, 4)
    assert (low, high) == pytest.approx((0.30064, 0.95441), abs=1e-5)
    assert garwood(4) == pytest.approx((1.0899, 10.2416), abs=1e-4)
    assert garwood(0)[0] == 0.0
    (only,) = proportions({"a": 0}, {"a": 10})
    assert only.value == 0.0 and only.low == 0.0 and only.high == pytest.approx(0.2775, abs=1e-4)
    assert rates({"a": 3}, {"a": 0}) == []


def test_twilight_follows_the_sun_and_the_clock() -> None:
    # Minneapolis, 21 June 2017: sunset 21:03, civil dusk 21:41 (CDT); 21 December: 16:34, 17:06.
    times = [
        datetime(2017, 6, 22, 1, 50, tzinfo=UTC),  # 20:50 CDT: light
        datetime(2017, 6, 22, 2, 20, tzinfo=UTC),  # 21:20 CDT: between sunset and dusk
        datetime(2017, 6, 22, 2, 50, tzinfo=UTC),  # 21:50 CDT: dark
        datetime(2017, 12, 21, 23, 50, tzinfo=UTC),  # 17:50 CST: dark in winter
    ]
    twilight = classify_twilight(times, LAT, LON, ZONE)
    assert twilight.light.tolist() == [True, False, False, False]
    assert twilight.dark.tolist() == [False, False, True, True]
    assert twilight.minute.tolist() == [1250, 1280, 1310, 1070]
    # 21:50 is after the year's latest dusk (21:41 in late June): never light at that clock
    # time, so it says nothing about darkness and lies outside the inter-twilight window.
    assert twilight.inter_twilight.tolist() == [True, True, False, True]


def test_the_regression_data_is_the_golden_input() -> None:
    frame, ambiguous, outside = veil_frame(
        traffic_stops(), lat=LAT, lon=LON, zone=ZONE, place="place"
    )
    golden = pd.read_csv(GOLDEN / "veil_frame.csv", dtype={"place": str})
    assert ambiguous > 0 and outside > 0
    pd.testing.assert_frame_equal(frame, golden, check_dtype=False)


@pytest.mark.parametrize("case", ["bs6_place", "bs6", "bs4_place"])
def test_veil_of_darkness_equals_r_glm(case: str) -> None:
    golden = json.loads((GOLDEN / "veil_glm.json").read_text())[case]
    frame = pd.read_csv(GOLDEN / "veil_frame.csv", dtype={"place": str})
    if not golden["place"]:
        frame = frame.drop(columns="place")
    coefficient, se = veil_of_darkness_fit(frame, spline_df=golden["df"])
    assert coefficient == pytest.approx(golden["coefficient"], rel=1e-6)
    assert se == pytest.approx(golden["standard_error"], rel=1e-6)


def test_veil_of_darkness_finds_the_planted_effect() -> None:
    result = veil_of_darkness(traffic_stops(), lat=LAT, lon=LON, zone=ZONE, place="place")
    assert result.stops == 3815 and result.dark + result.light == result.stops
    assert result.odds_ratio < 1 and result.odds_ratio_high < 1  # fewer Black drivers in the dark
    assert result.p_value < 0.001
    with pytest.raises(ValueError, match="needs light and dark stops"):
        veil_of_darkness(traffic_stops().head(3), lat=LAT, lon=LON, zone=ZONE)
