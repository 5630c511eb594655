"""Who sees an alert (agreements or own agency), the lifecycle with its audit rows, pages and
the JSON API with the hub's one error shape."""

from __future__ import annotations

from typing import Any

import pytest

from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.surveillance import actions
from wellbeat.web.surveillance.models import Alert

from .conftest import SPIKE_AREA

pytestmark = pytest.mark.django_db


def _spike(detected: Any) -> Alert:
    return Alert.objects.get(area=SPIKE_AREA, method="threshold")


def test_alerts_reach_the_provider_and_agreement_recipients_only(detected: Any, world: Any) -> None:
    alert = _spike(detected)
    assert actions.can_see(world.users["mfd_analyst"], alert)  # own agency's data
    assert actions.can_see(world.users["phd_analyst"], alert)  # MFD -> PHD agreement
    assert not actions.can_see(world.users["mpd_analyst"], alert)
    assert not actions.can_see(world.users["xpd_analyst"], alert)


def test_lifecycle_writes_history_and_audit_and_close_needs_a_note(
    detected: Any, world: Any
) -> None:
    analyst = world.users["phd_analyst"]
    alert = actions.do_acknowledge(analyst, _spike(detected))
    assert alert.status == "acknowledged"
    with pytest.raises(actions.AlertError) as again:
        actions.do_acknowledge(analyst, alert)
    assert again.value.code == "conflict"
    actions.do_investigate(analyst, alert, "calling EMS supervisor")
    with pytest.raises(actions.AlertError) as no_note:
        actions.do_close(analyst, alert, "  ")
    assert "note" in no_note.value.message
    closed = actions.do_close(analyst, alert, "batch of fentanyl; outreach done")
    assert closed.status == "closed"
    assert [e.action for e in closed.events.all()] == [
        "raised",
        "acknowledged",
        "investigating",
        "closed",
    ]
    audit = AuditEntry.objects.filter(target=f"alert:{alert.pk}", actor_username="phd_analyst")
    assert [e.action for e in audit.order_by("seq")] == [
        "alert.acknowledged",
        "alert.investigating",
        "alert.closed",
    ]
    with pytest.raises(actions.AlertError) as outsider:
        actions.do_acknowledge(world.users["xpd_analyst"], Alert.objects.get(pk=alert.pk))
    assert outsider.value.code == "not_found"


def test_pages_show_alerts_with_governed_evidence(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["phd_analyst"])
    alert = _spike(detected)
    overview = client.get("/surveillance/")
    assert overview.status_code == 200
    assert f"/surveillance/alerts/{alert.pk}/" in overview.content.decode()
    detail = client.get(f"/surveillance/alerts/{alert.pk}/").content.decode()
    assert "chart-series" in detail and "chart-map" in detail
    assert "/surveillance/plotly.min.js" in detail
    # The evidence was read as the analyst, through the governed service.
    assert AuditEntry.objects.filter(action="governed.read", actor_username="phd_analyst").exists()
    explorer = client.get("/surveillance/explorer/?indicator=suspected_overdose&area=n1")
    assert explorer.status_code == 200 and "N1" in explorer.content.decode()
    response = client.post(f"/surveillance/alerts/{alert.pk}/acknowledge/", {"note": ""})
    assert response.status_code == 302
    assert Alert.objects.get(pk=alert.pk).status == "acknowledged"
    js = client.get("/surveillance/plotly.min.js")
    assert js.status_code == 200 and js["Content-Type"] == "text/javascript"


def test_an_outsider_gets_404_for_an_alert_and_an_empty_list(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["xpd_analyst"])
    alert = _spike(detected)
    assert client.get(f"/surveillance/alerts/{alert.pk}/").status_code == 404
    assert client.get("/api/surveillance/alerts").json() == {"alerts": []}
    body = client.get(f"/api/surveillance/alerts/{alert.pk}").json()
    assert body["error"]["code"] == "not_found"


def test_api_lists_details_and_transitions(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["mfd_analyst"])
    alert = _spike(detected)
    listed = client.get("/api/surveillance/alerts").json()["alerts"]
    assert alert.pk in [a["alert"] for a in listed]
    detail = client.get(f"/api/surveillance/alerts/{alert.pk}").json()
    assert detail["history"][0]["action"] == "raised"
    closed = client.post(
        f"/api/surveillance/alerts/{alert.pk}/close",
        {"note": ""},
        content_type="application/json",
    )
    assert closed.status_code == 422
    assert closed.json()["error"]["code"] == "invalid"
    ok = client.post(
        f"/api/surveillance/alerts/{alert.pk}/acknowledge",
        {"note": "seen"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["status"] == "acknowledged"
    bad = client.get("/api/surveillance/alerts?status=nonsense")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert bad.json()["error"]["details"][0]["field"] == "query.status"


def test_overview_says_when_the_latest_period_is_suppressed(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    from wellbeat.web.governance.models import Agreement

    # With cells of 1..9 suppressed, the city's daily counts (1-7 here) are all suppressed.
    Agreement.objects.update(min_cell=10)
    login_as(client, world.users["phd_analyst"])
    page = client.get("/surveillance/")
    card = next(c for c in page.context["cards"] if c["spec"].id == "suspected_overdose")
    assert card["series"].observed[-1] is None
    assert card["latest"]["status"] == "suppressed" and card["latest"]["count"] is None
    html = page.content.decode()
    assert '<strong data-status="suppressed">suppressed (fewer than 10)</strong>' in html
    assert "cell(s) suppressed" in html  # the release's notes are shown with the card


def test_explorer_tables_have_rates_and_download_as_csv_and_parquet(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    import csv
    import io

    import pyarrow.parquet as pq

    login_as(client, world.users["phd_analyst"])
    page = client.get("/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood")
    rows = {r["area"]: r for r in page.context["area_rows"]}
    n1 = rows[SPIKE_AREA]
    # Every test area has 1,000 residents: the rate per 100,000 is the count x 100.
    assert n1["population"] == 1000 and n1["rate_per_100000"] == n1["count"] * 100
    assert n1["unreliable"]  # fewer than 20 events
    assert "Rate per 100,000" in page.content.decode()
    # The map and area table can be drawn at any installed layer (an agreement may allow only
    # a coarser one).
    assert page.context["layers"] == ["beat", "district", "neighbourhood"]
    beats = client.get("/surveillance/explorer/?indicator=suspected_overdose&layer=beat")
    assert [r["area"] for r in beats.context["area_rows"]] == ["b0", "b1"]
    assert sum(r["count"] for r in beats.context["area_rows"]) == sum(
        r["count"] for r in rows.values()
    )

    areas = client.get(
        "/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood"
        "&table=areas&format=csv"
    )
    assert areas["Content-Type"].startswith("text/csv")
    table = {r["area"]: r for r in csv.DictReader(io.StringIO(areas.content.decode()))}
    assert float(table[SPIKE_AREA]["rate_per_100000"]) == n1["rate_per_100000"]

    series = client.get(
        f"/surveillance/explorer/?indicator=suspected_overdose&area={SPIKE_AREA}"
        "&layer=neighbourhood&table=series&format=parquet"
    )
    frame = pq.read_table(io.BytesIO(series.content)).to_pylist()
    assert {"period", "observed", "status", "expected", "upperbound"} <= set(frame[0])
    assert frame[-1]["observed"] >= 6  # the planted spike on the last day
    # Downloads are governed reads, audited as exports with their format.
    exports = AuditEntry.objects.filter(action="export", actor_username="phd_analyst")
    assert sorted(e.details["format"] for e in exports) == ["csv", "parquet"]
    assert client.get("/surveillance/explorer/?format=xlsx").status_code == 404

    # An outsider's download holds none of MFD's events, and says so instead of a fake 0.
    login_as(client, world.users["xpd_analyst"])
    outsider = client.get("/surveillance/explorer/?indicator=suspected_overdose&format=csv")
    rows = list(csv.DictReader(io.StringIO(outsider.content.decode())))
    assert rows and {r["status"] for r in rows} == {"not-shared"}
    assert {r["observed"] for r in rows} == {""}
