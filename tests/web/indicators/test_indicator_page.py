"""A custom indicator's page and download: counts by period and by an attribute read through
the governed service as the viewer, with the four cell states; another agency's breakdown by
an attribute only when its agreement names ``attribute:NAME``."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.indicators import actions
from wellbeat.web.indicators.models import CustomIndicator

from .conftest import FIRST, LAST, share_stops
from .html_support import Page

pytestmark = pytest.mark.django_db

STOPS_BY_RACE = {
    "code": "stops_by_race",
    "name": "Stops by race",
    "description": "Every officer-initiated stop.",
    "numerator": [{"kinds": ["stop"]}],
    "period": "week",
    "by": ["attribute:race"],
}
# By hand from the fixture: ISO week 10 (3-9 March) and week 11 (10-16 March).
EXPECTED = {
    ("2025-W10", "white"): 4, ("2025-W10", "black"): 1, ("2025-W10", "hispanic"): 1,
    ("2025-W11", "white"): 2, ("2025-W11", "black"): 3, ("2025-W11", "hispanic"): 1,
}  # fmt: skip


def _save(world: Any, username: str, definition: dict = STOPS_BY_RACE) -> CustomIndicator:
    return actions.do_save_indicator(
        world.users[username], definition, purpose="public_health_surveillance"
    )


def _url(row: CustomIndicator, **extra: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"start": FIRST, "end": LAST, **extra}.items())
    return f"/indicators/{row.pk}/?{query}"


def test_own_agency_reads_its_breakdown_in_full(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    row = _save(world, "mpd_analyst")
    login_as(client, world.users["mpd_analyst"])
    response = client.get(_url(row))
    assert response.status_code == 200
    html = response.content.decode()
    page = Page(html)
    table = html.split('id="breakdown-MPD"', 1)[1].split("</table>", 1)[0]
    groups = re.findall(r'<th scope="col">([^<]*)</th>', table)[1:]
    assert groups == ["white", "black", "hispanic"]  # largest first
    cells = {
        (r[0][2], groups[i]): (status, text)
        for r in page.rows("breakdown-MPD")
        for i, (_, status, text) in enumerate(r[1:])
    }
    assert {k: int(v[1]) for k, v in cells.items()} == EXPECTED
    assert {v[0] for v in cells.values()} == {"value"}
    series = page.by_header("series-MPD")
    assert series == {"2025-W10": ["6"], "2025-W11": ["6"]}
    # The chart draws what its legend names: one line per group with visible points.
    chart = json.loads(
        html.split('id="chart-breakdown-0" type="application/json">', 1)[1].split("<")[0]
    )
    assert [line["name"] for line in chart["lines"]] == ["white", "black", "hispanic"]
    assert chart["x"] == ["2025-W10", "2025-W11"] and chart["lines"][1]["y"] == [1, 3]

    download = client.get(_url(row, format="csv"))
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert list(rows[0])[:3] == ["period", "group", "count"]
    assert {(r["period"], r["group"]): int(r["count"]) for r in rows} == EXPECTED
    assert AuditEntry.objects.filter(action="export", actor=world.users["mpd_analyst"]).exists()


def test_a_filter_on_an_attribute_and_a_zero_period(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    definition = {
        **STOPS_BY_RACE,
        "code": "hispanic_stops",
        "numerator": [{"kinds": ["stop"], "attributes": {"race": "hispanic"}}],
        "period": "day",
        "by": ["attribute:contraband_found"],
    }
    row = _save(world, "mpd_analyst", definition)
    login_as(client, world.users["mpd_analyst"])
    page = Page(client.get(_url(row, start="2025-03-03", end="2025-03-05")).content)
    # One Hispanic stop on 4 March (no contraband attribute: "(missing)"); the other days 0.
    assert page.rows("breakdown-MPD") == [
        [("th", "", "2025-03-03"), ("td", "zero", "0")],
        [("th", "", "2025-03-04"), ("td", "value", "1")],
        [("th", "", "2025-03-05"), ("td", "zero", "0")],
    ]
    assert "(missing)" in page.text("agency-MPD")


def test_partner_without_the_attribute_field_sees_totals_but_not_the_breakdown(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    share_stops(world, "PHD")
    row = _save(world, "phd_analyst")
    login_as(client, world.users["phd_analyst"])
    page = Page(client.get(_url(row)).content)
    assert page.by_header("series-MPD") == {"2025-W10": ["6"], "2025-W11": ["6"]}
    assert page.statuses("breakdown-not-shared-MPD") == ["not-shared"]
    text = page.text("breakdown-not-shared-MPD")
    assert "Not shared with you" in text and "attribute:race" in text
    # PHD's own agency has no stops: true zeros, not "not shared".
    assert set(page.statuses("series-PHD")) == {"zero"}


def test_partner_with_the_attribute_field_gets_the_breakdown_under_suppression(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    share_stops(world, "PHD", fields=("attribute:race",), min_cell=2)
    row = _save(world, "phd_analyst")
    login_as(client, world.users["phd_analyst"])
    html = client.get(_url(row)).content.decode()
    page = Page(html)
    statuses = page.statuses("breakdown-MPD")
    assert "suppressed" in statuses  # single stops in the finest grid are hidden
    for r in page.rows("breakdown-MPD"):
        for _, status, text in r[1:]:
            assert status in ("value", "zero", "suppressed")
            if status == "suppressed":
                assert text.startswith("suppressed") and text != "0"


def test_rates_over_an_indicator_denominator_by_group(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    _save(world, "mpd_analyst")
    searches = {
        "code": "searches_per_100_stops",
        "name": "Searches per 100 stops",
        "description": "Stops with a search, per 100 stops of the same group.",
        "numerator": [{"kinds": ["stop"], "attributes": {"searched": "true"}}],
        "denominator": {"indicator": "stops_by_race"},
        "factor": 100,
        "period": "week",
        "by": ["attribute:race"],
    }
    row = _save(world, "mpd_analyst", searches)
    login_as(client, world.users["mpd_analyst"])
    rows = list(csv.DictReader(io.StringIO(client.get(_url(row, format="csv")).content.decode())))
    got = {(r["period"], r["group"]): (int(r["count"]), float(r["rate"])) for r in rows}
    # By hand: week 10 had 4 stops of White people (S0, S1 searched) and 1 of a Black person
    # (S6, searched); week 11 had 3 stops of Black people (S7, S8 searched), 2 of White people.
    assert got[("2025-W10", "white")] == (2, 50.0)
    assert got[("2025-W10", "black")] == (1, 100.0)
    assert got[("2025-W11", "black")] == (2, 66.667)
    assert got[("2025-W11", "white")] == (0, 0.0)
