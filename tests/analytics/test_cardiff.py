"""The Cardiff violence picture on hand-checkable rows: source split, time of week, the
hidden-violence ranking, ISTV completeness and the monthly summary's suppression."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from wellbeat.analytics.cardiff import (
    CardiffError,
    by_place,
    by_time_of_week,
    completeness,
    hidden_violence,
    monthly_summary,
    violence_rows,
)


def _ed(when: dt.datetime, area: str, **attributes: str) -> dict[str, Any]:
    return {
        "kind": "assault_attendance",
        "sector": "emergency_dept",
        "syndromes": ["assault_injury"],
        "occurred_at": when,
        "attributes": attributes,
        "area": area,
        "lat": 40.0,
        "lon": -75.0,
    }


def _police(when: dt.datetime, area: str, syndromes: tuple[str, ...] = ("violent_crime",)) -> dict:
    return {
        "kind": "incident",
        "sector": "police",
        "syndromes": list(syndromes),
        "occurred_at": when,
        "attributes": None,
        "area": area,
        "lat": None,
        "lon": None,
    }


FULL = {
    "weapon": "knife",
    "location_description": "outside The Anchor",
    "location_category": "licensed_premises",
    "assailants": "1",
    "relationship": "STRANGER",
}
UTC = dt.UTC


def _at(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, 30, tzinfo=UTC)


def test_sources_places_and_time_of_week() -> None:
    rows = [
        _ed(_at(7, 23), "A", **FULL),  # Friday 21-24
        _ed(_at(8, 1), "A", **FULL),  # Saturday 00-03
        _police(_at(8, 1), "B"),
        _police(_at(9, 14), "B", syndromes=("property_crime",)),  # not violence: left out
        {**_police(_at(9, 14), "B"), "kind": "call_for_service"},  # a call, not recorded crime
    ]
    violence = violence_rows(pd.DataFrame(rows), "area", "UTC")
    assert violence.rows["source"].tolist() == ["ed", "ed", "police"]
    assert by_place(violence).to_dict("records") == [
        {"area": "A", "ed": 2, "police": 0},
        {"area": "B", "ed": 0, "police": 1},
    ]
    week = by_time_of_week(violence)
    assert len(week) == 56 and week["ed"].sum() == 2 and week["police"].sum() == 1
    cells = {(r.weekday, r.band): (r.ed, r.police) for r in week.itertuples()}
    assert cells[("Fri", "21-24")] == (1, 0)
    assert cells[("Sat", "00-03")] == (1, 1)


def test_time_of_week_is_local_time() -> None:
    # 03:30 UTC on Saturday 8 March 2025 is 21:30 on Friday in Chicago (CST, UTC-6).
    violence = violence_rows(pd.DataFrame([_ed(_at(8, 3), "A")]), "area", "America/Chicago")
    cell = by_time_of_week(violence).query("ed == 1")
    assert cell[["weekday", "band"]].values.tolist() == [["Fri", "21-24"]]


def test_hidden_violence_ranks_the_ed_excess_and_leaves_small_places_unranked() -> None:
    # ED: A 10, B 6, C 6, D 2; police: A 2, B 6, C 0, D 0. Totals 24 / 8: r = 3.
    rows = (
        [_ed(_at(3, 12), "A")] * 10
        + [_ed(_at(3, 12), "B")] * 6
        + [_ed(_at(3, 12), "C")] * 6
        + [_ed(_at(3, 12), "D")] * 2
        + [_police(_at(3, 12), "A")] * 2
        + [_police(_at(3, 12), "B")] * 6
    )
    table = hidden_violence(violence_rows(pd.DataFrame(rows), "area", "UTC"), min_ed=5)
    got = {r.area: (r.expected_ed, r.hidden, r.rank) for r in table.itertuples()}
    # hidden = E - 3P: A 10 - 6 = 4, B 6 - 18 = -12, C 6, D 2 (too few ED to rank).
    assert got["C"] == (0.0, 6.0, 1)
    assert got["A"] == (6.0, 4.0, 2)
    assert got["B"] == (18.0, -12.0, 3)
    assert got["D"][:2] == (0.0, 2.0) and pd.isna(got["D"][2])
    assert table["area"].tolist()[:2] == ["C", "A"]
    assert table.loc[table["area"] == "A", "ratio"].item() == round(10.5 / 2.5, 3)


def test_completeness_equals_a_hand_count() -> None:
    rows = [
        _ed(_at(3, 10), "A", **FULL),
        _ed(_at(4, 10), "A", weapon="fist", assailants="UNKNOWN", relationship="stranger"),
        {**_ed(_at(5, 10), "A", relationship=""), "lat": None, "lon": None},
        {**_ed(_at(6, 10), "A", location_description="on Oak St"), "lat": None, "lon": None},
        _ed(_at(2, 10, month=4), "B", assailants="2"),
        _police(_at(3, 10), "A"),  # police rows are not ISTV rows
    ]
    table = completeness(violence_rows(pd.DataFrame(rows), "area", "UTC"))
    march, april = table.to_dict("records")
    # March: 4 rows; time 4/4; location: row 1 (text+coords), 2 (coords), 4 (text) = 3/4;
    # weapon rows 1, 2 = 2/4; assailants row 1 only ("UNKNOWN" is missing) = 1/4;
    # relationship rows 1, 2 ("" is missing) = 2/4.
    assert march == {
        "month": "2025-03",
        "rows": 4,
        "assault_time": 1.0,
        "precise_location": 0.75,
        "weapon": 0.5,
        "assailants": 0.25,
        "relationship": 0.5,
    }
    assert april == {
        "month": "2025-04",
        "rows": 1,
        "assault_time": 1.0,
        "precise_location": 1.0,
        "weapon": 0.0,
        "assailants": 1.0,
        "relationship": 0.0,
    }


def test_monthly_summary_suppresses_every_count_below_the_minimum() -> None:
    rows = (
        [_ed(_at(7, 23), "A", weapon="knife", location_category="licensed_premises")] * 6
        + [_ed(_at(12, 15), "B", weapon="fist", location_category="home")] * 5
        + [_ed(_at(13, 15), "C", weapon="fist", location_category="home")] * 2
        + [_ed(_at(2, 10, month=4), "C", weapon="glass")] * 9  # another month
    )
    violence = violence_rows(pd.DataFrame(rows), "area", "UTC")
    summary = monthly_summary(violence, "2025-03", min_cell=5)
    published = summary[~summary["suppressed"]]
    assert (published["count"] >= 5).all()
    assert summary.loc[summary["suppressed"], "count"].isna().all()
    by = {(r.section, r.item): (r.count, r.suppressed) for r in summary.itertuples()}
    assert by[("total", "ED assault attendances")] == (13, False)
    # Place C (2) is below 5; alone it could be read off the total (13 - 6 - 5), so the
    # smallest published place (B, 5) is hidden with it.
    assert by[("place", "A")] == (6, False)
    assert by[("place", "B")][1] and by[("place", "C")][1]
    assert by[("weapon", "fist")] == (7, False) and by[("weapon", "knife")] == (6, False)
    assert by[("time_of_week", "Fri 21-24")] == (6, False)
    assert by[("location", "home")] == (7, False)
    assert ("weapon", "glass") not in by  # April's rows are not in March's summary
    # A minimum of 7: place A (6) would be the only hidden place... with C and B hidden too.
    strict = monthly_summary(violence, "2025-03", min_cell=7)
    assert strict[strict["section"] == "place"]["suppressed"].all()
    tiny_total = monthly_summary(violence, "2025-03", min_cell=20)
    assert tiny_total.loc[tiny_total["section"] == "total", "suppressed"].item()
    with pytest.raises(CardiffError, match="min_cell"):
        monthly_summary(violence, "2025-03", min_cell=0)


def test_missing_columns_are_named() -> None:
    with pytest.raises(CardiffError, match="attributes"):
        violence_rows(pd.DataFrame([{"kind": "incident"}]), "area", "UTC")
