"""Counts never read 0 when they are suppressed or not shared (pages and downloads), and the
explorer picks the finest period at which a series is not mostly suppressed, saying why."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest

from wellbeat.web.governance.models import Agreement

from .conftest import FIRST_DAY, LAST_DAY, SPIKE_AREA

pytestmark = pytest.mark.django_db

WINDOW = f"&start={FIRST_DAY}&end={LAST_DAY}"


def _cells(html: str, table_id: str) -> list[tuple[str, str]]:
    """(data-status, text) of every status-carrying cell of one table."""
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    return re.findall(r'<td data-status="([a-z-]+)">([^<]*)</td>', table)


def test_zero_and_suppressed_cells_say_which_they_are(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    Agreement.objects.update(min_cell=2)
    login_as(client, world.users["phd_analyst"])
    page = client.get(
        "/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood"
        f"&area={SPIKE_AREA}&period=day{WINDOW}"
    )
    series = page.context["series"]
    assert series.period == "day"
    by_status = dict(zip(series.periods, series.statuses, strict=True))
    observed = dict(zip(series.periods, series.observed, strict=True))
    # n1 has one event every fourth day (suppressed under k = 2), none between (true zeros),
    # and the planted spike on the last day.
    assert by_status[LAST_DAY.isoformat()] == "value" and observed[LAST_DAY.isoformat()] >= 6
    assert {"zero", "suppressed", "value"} <= set(series.statuses)
    assert all(observed[p] is None for p, s in by_status.items() if s == "suppressed")
    assert all(observed[p] == 0 for p, s in by_status.items() if s == "zero")
    cells = _cells(page.content.decode(), "series-table")
    texts = {status: {text for s, text in cells if s == status} for status, _ in cells}
    assert texts["suppressed"] == {"suppressed (fewer than 2)"}
    assert texts["zero"] == {"0"}
    assert "0" not in texts["value"]

    download = client.get(
        "/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood"
        f"&area={SPIKE_AREA}&period=day{WINDOW}&table=series&format=csv"
    )
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [r["status"] for r in rows] == series.statuses
    assert all(r["observed"] == "" for r in rows if r["status"] == "suppressed")
    assert all(float(r["observed"]) == 0 for r in rows if r["status"] == "zero")


def test_an_agency_sharing_nothing_sees_not_shared_and_who_holds_it(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:

    login_as(client, world.users["mpd_analyst"])  # police: no agreement shares overdoses
    overview = client.get("/surveillance/").content.decode()
    card = overview[overview.index('id="ind-suspected_overdose"') :]
    card = card[: card.index("</section>")]
    assert (
        '<strong data-status="not-shared">not shared with you (held by GEN, MFD)</strong>' in card
    )
    # ... and which agreement would share it.
    assert "no agreement from MFD to MPD exists" in card
    assert ">0<" not in card

    page = client.get("/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood")
    html = page.content.decode()
    assert page.context["series"].not_shared
    assert 'id="series-not-shared"' in html and 'data-status="not-shared"' in html
    assert page.context["chart_map"] is None and 'id="map-not-shared"' in html
    assert {r["status"] for r in page.context["area_rows"]} == {"not-shared"}

    areas = client.get(
        "/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood"
        "&table=areas&format=parquet"
    )
    # Nothing in it may be seen: the download is refused with the reason, not sent as a file
    # of empty rows (a partly shared table carries the status column: the next test).
    assert areas.status_code == 403
    assert "Nothing to download" in areas.content.decode() and "MFD" in areas.content.decode()


def test_area_table_marks_zero_and_suppressed_areas(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    # The last two days: n1 has its spike, n2 one event (suppressed under k = 2), n0 and n3
    # none (true zeros, though the release lists no row for them).
    Agreement.objects.update(min_cell=2)
    login_as(client, world.users["phd_analyst"])
    start = LAST_DAY - dt.timedelta(days=1)
    page = client.get(
        "/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood"
        f"&start={start}&end={LAST_DAY}"
    )
    rows = {r["area"]: r for r in page.context["area_rows"]}
    assert rows["n2"]["status"] == "suppressed" and rows["n2"]["count"] is None
    assert rows["n0"]["status"] == rows["n3"]["status"] == "zero"
    assert rows["n0"]["count"] == 0 and rows["n0"]["rate_per_100000"] == 0
    cells = _cells(page.content.decode(), "area-table")
    assert ("suppressed", "suppressed (fewer than 2)") in cells
    assert ("zero", "0") in cells
    assert page.context["chart_map"]["statuses"]["n2"] == "suppressed"
    assert page.context["chart_map"]["values"]["n0"] == 0


def test_automatic_period_passes_over_a_mostly_suppressed_daily_series(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    # The city has one event a day (suppressed under k = 2) and 7 or more a week.
    Agreement.objects.update(min_cell=2)
    login_as(client, world.users["phd_analyst"])
    page = client.get(f"/surveillance/explorer/?indicator=suspected_overdose{WINDOW}")
    series = page.context["series"]
    assert series.period == "week"
    assert series.choice.startswith("daily for the whole city would hide 39 of 40 days")
    # Under the base-table rule (docs/governance.md) a week is released only when each of its
    # days is, so weeks holding a hidden day stay hidden: the page says so, never draws zeros.
    assert "showing weekly (still 7 of 7 hidden" in series.choice
    assert "would hide 39 of 40 days; showing weekly" in page.content.decode()
    assert series.mostly_suppressed
    # LAST_DAY is a Wednesday: its week is incomplete and marked, not drawn as a drop.
    assert series.incomplete == "2025-04-07"
    assert series.table()[-1]["complete"] is False
    assert page.context["chart_series"]["incomplete"] == "2025-04-07"

    # Asking for days explicitly shows days, mostly suppressed, with no choice made.
    daily = client.get(f"/surveillance/explorer/?indicator=suspected_overdose&period=day{WINDOW}")
    assert daily.context["series"].period == "day"
    assert daily.context["series"].mostly_suppressed and not daily.context["series"].choice

    # Under k = 1 the daily series is visible, so automatic stays daily.
    Agreement.objects.update(min_cell=1)
    visible = client.get(f"/surveillance/explorer/?indicator=suspected_overdose{WINDOW}")
    assert visible.context["series"].period == "day" and not visible.context["series"].choice


def test_a_bad_date_names_the_field_and_falls_back(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["phd_analyst"])
    page = client.get("/surveillance/explorer/?indicator=suspected_overdose&start=yesterday")
    assert "field &#x27;start&#x27;: &#x27;yesterday&#x27; is not a date" in page.content.decode()
    assert page.context["end"] == LAST_DAY


def test_alert_evidence_for_the_owner_is_in_full_and_widens_for_a_k_recipient(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    from wellbeat.web.surveillance.models import Alert

    alert = Alert.objects.get(area=SPIKE_AREA, method="threshold")
    login_as(client, world.users["mfd_analyst"])  # MFD owns the data: no suppression
    own = client.get(f"/surveillance/alerts/{alert.pk}/").context["series"]
    assert own.period == "day" and own.area == SPIKE_AREA
    assert "suppressed" not in own.statuses
    assert LAST_DAY.isoformat() in own.signals

    # A recipient under k = 10 cannot see the 6 of the spike day: it reads "suppressed", and
    # the signal is still marked on the chart.
    Agreement.objects.update(min_cell=10)
    login_as(client, world.users["phd_analyst"])
    page = client.get(f"/surveillance/alerts/{alert.pk}/")
    seen = page.context
    assert seen["series"].statuses[-1] == "suppressed" and seen["series"].observed[-1] is None
    assert seen["chart_series"]["signals"] == [LAST_DAY.isoformat()]
    assert (
        f"The count of the signal day ({LAST_DAY}) is suppressed for you (fewer than 10)"
        in page.content.decode()
    )
    assert "The agency that owns the data (MFD) sees it in full" in page.content.decode()


@pytest.fixture
def dense_city(hub_data_dir: Any, world: Any) -> Any:
    """One MFD overdose a day in every neighbourhood, shared with PHD under k = 10."""
    from tests.web.governance.lake_support import NEIGHBOURHOOD_CENTRES, write_areas

    from wellbeat.web.governance import actions

    from .conftest import DAYS, ingest_daily

    write_areas(hub_data_dir)
    counts = {
        (area, FIRST_DAY + dt.timedelta(days=d)): 1
        for area in NEIGHBOURHOOD_CENTRES
        for d in range(DAYS)
    }
    ingest_daily(hub_data_dir, "MFD", counts)
    agreement = actions.do_draft_agreement(
        world.users["mfd_admin"],
        title="EMS overdoses to public health",
        provider=world.agencies["MFD"],
        recipient=world.agencies["PHD"],
        purpose="overdose_response",
        granularity="aggregate",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=10,
        valid_from=FIRST_DAY - dt.timedelta(days=30),
        syndromes=("overdose",),
    )
    actions.do_approve_agreement(world.users["mfd_admin"], agreement, "ok")
    actions.do_approve_agreement(world.users["phd_admin"], agreement, "ok")
    return hub_data_dir


def test_automatic_choice_says_when_no_containing_area_shows_more(
    client: Any, dense_city: Any, world: Any, login_as: Any, settings: Any
) -> None:
    login_as(client, world.users["phd_analyst"])
    page = client.get(
        f"/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood&area=n1{WINDOW}"
    )
    series = page.context["series"]
    # n1 has 1 a day and 7 a week (both under k = 10); its beat b1 (n1 and n3) has 14 a week,
    # but b1's week is a sum of hidden neighbourhood days, and the base-table rule releases a
    # total only when every base cell in it is released (docs/governance.md). The page stays
    # with n1 and says what would show more.
    assert (series.layer, series.area, series.period) == ("neighbourhood", "n1", "week")
    assert series.choice.startswith("daily by neighbourhood would hide 40 of 40 days")
    assert series.choice.endswith("choose a coarser area layer or the whole city)")
    assert series.mostly_suppressed
    assert "choose a coarser area layer or the whole city" in page.content.decode()
