"""The equity page: its numbers are ``wellbeat.analytics.equity`` on the same rows, read
through the governed service; an agency without an agreement sees "not shared with you"."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from wellbeat.analytics.equity import disparities
from wellbeat.web.audit.models import AuditEntry

from .conftest import FIRST, LAST, share_stops, stop_rows
from .html_support import Page

pytestmark = pytest.mark.django_db

URL = f"/indicators/equity/?start={FIRST}&end={LAST}&layer=neighbourhood"


def test_page_numbers_equal_the_equity_functions_on_the_same_rows(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_analyst"])
    response = client.get(URL)
    assert response.status_code == 200
    page = Page(response.content)

    expected = disparities(
        stop_rows(),
        force=pd.DataFrame({"stop_id": ["S0", "S6", "S6", "S7"]}),
        reference="white",
    )
    search = page.by_header("search-rate-MPD")
    for estimate in expected.search_rate:
        count, denominator, value, interval, ratio, ratio_interval = search[estimate.group]
        assert (int(count), int(denominator)) == (estimate.count, estimate.denominator)
        assert value == f"{estimate.value * 100:.1f}"
        assert interval == f"{estimate.low * 100:.1f} to {estimate.high * 100:.1f}"
        if estimate.ratio is not None:
            assert ratio == f"{estimate.ratio:.2f}"
            assert ratio_interval == f"{estimate.ratio_low:.2f} to {estimate.ratio_high:.2f}"
    # By hand: 3 of 4 stops of Black people searched (75.0 %), 2 of 6 of White people; the
    # risk ratio 0.75 / (2/6) = 2.25.
    assert search["black"][:3] == ["3", "4", "75.0"] and search["black"][4] == "2.25"
    assert search["white"][:3] == ["2", "6", "33.3"]
    hits = page.by_header("hit-rate-MPD")
    assert hits["black"][:3] == ["1", "3", "33.3"] and hits["white"][:3] == ["1", "2", "50.0"]
    force = page.by_header("force-rate-MPD")
    # Stops with any force: S0 (white), S6 and S7 (black; S6 had two force types, counted once).
    assert force["black"][:3] == ["2", "4", "50.0"] and force["white"][:3] == ["1", "6", "16.7"]
    assert page.text("equity-counts-MPD").startswith("12 stops and 4 uses of force")
    # Too few stops for the regression: the page says why, it does not invent a result.
    assert "Not computed" in page.text("veil-MPD")
    # Reads were governed and audited as the analyst.
    reads = AuditEntry.objects.filter(actor=world.users["mpd_analyst"], action="governed.read")
    assert reads.count() >= 2


def test_outsider_and_aggregate_only_partner_see_not_shared(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    share_stops(world, "PHD", fields=("attribute:race",))  # aggregates only: no rows
    for user in ("xpd_analyst", "phd_analyst"):
        client.logout()
        login_as(client, world.users[user])
        page = Page(client.get(URL).content)
        assert page.statuses("equity-MPD") == ["not-shared"], user  # no numbers, no zeros
        assert page.text("equity-not-shared-MPD").startswith("Not shared with you: stops of MPD")
        assert not any(t.endswith("-MPD") for t in page.tables())
    # The outsider's own (empty) agency is shown as zero stops, not as "not shared".
    client.logout()
    login_as(client, world.users["xpd_analyst"])
    page = Page(client.get(URL).content)
    assert page.text("equity-counts-XPD").startswith("0 stops and 0 uses of force")
    assert page.statuses("equity-counts-XPD") == ["zero", "zero"]


def test_only_analysts_open_the_page(
    client: Any, world: Any, police_city: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_officer"])
    assert client.get(URL).status_code == 403
