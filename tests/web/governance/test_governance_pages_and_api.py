"""Governance pages and API endpoints as users meet them."""

from __future__ import annotations

import json

import pytest

from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.governance.models import Agreement

from .lake_support import ingest_events
from .test_governed_service import active_agreement

PURPOSE = "overdose_response"


@pytest.mark.django_db
def test_agreement_pages_draft_and_approve_on_each_side(client, world, login_as) -> None:
    login_as(client, world.users["mfd_admin"])
    form = {
        "title": "EMS overdoses",
        "provider": "MFD",
        "recipient": "PHD",
        "purpose": PURPOSE,
        "granularity": "aggregate",
        "syndromes": ["overdose"],
        "finest_layer": "neighbourhood",
        "finest_period": "day",
        "min_cell": "10",
        "valid_from": "2025-01-01",
    }
    response = client.post("/agreements/new/", form)
    assert response.status_code == 302
    code = Agreement.objects.get().code
    page = client.get(f"/agreements/{code}/").content.decode()
    assert "Approve for my agency" in page and "drafted" in page
    client.post(f"/agreements/{code}/approve/", {"reason": "EMS agrees"})
    login_as(client, world.users["phd_admin"])
    response = client.post(f"/agreements/{code}/approve/", {}, follow=True)
    assert "now active" in response.content.decode()
    assert Agreement.objects.get().status == "active"
    listing = client.get("/agreements/").content.decode()
    assert code in listing and "active" in listing


@pytest.mark.django_db
def test_an_agreement_shares_event_attributes_named_on_the_form(client, world, login_as) -> None:
    login_as(client, world.users["mpd_admin"])
    form = {
        "provider": "MPD",
        "recipient": "PHD",
        "purpose": "violence_prevention",
        "granularity": "aggregate",
        "kinds": ["stop"],
        "fields": ["sex"],
        "attribute_fields": "precinct, attribute:race",
        "finest_period": "month",
        "min_cell": "10",
        "valid_from": "2025-01-01",
    }
    response = client.post("/agreements/new/", form)
    assert response.status_code == 302
    agreement = Agreement.objects.get()
    assert agreement.fields == ["attribute:precinct", "attribute:race", "sex"]
    page = client.get(f"/agreements/{agreement.code}/").content.decode()
    assert "attribute:precinct" in page
    bad = client.post("/agreements/new/", {**form, "attribute_fields": "Precinct!"})
    assert bad.status_code == 200
    assert "is not an attribute name" in bad.content.decode()
    assert Agreement.objects.count() == 1


@pytest.mark.django_db
def test_outsider_cannot_see_or_approve_others_agreements(client, world, login_as) -> None:
    agreement = active_agreement(world)
    login_as(client, world.users["xpd_admin"])
    assert client.get(f"/agreements/{agreement.code}/").status_code == 404
    assert agreement.code not in client.get("/agreements/").content.decode()
    assert client.get("/agreements/new/").status_code == 200  # may draft its own
    login_as(client, world.users["phd_analyst"])
    assert client.get("/agreements/new/").status_code == 403


@pytest.mark.django_db
def test_query_page_shows_table_and_csv_download_is_an_audited_export(
    client, world, login_as, city
) -> None:
    active_agreement(world)
    login_as(client, world.users["phd_analyst"])
    params = {"purpose": PURPOSE, "agencies": ["MFD"], "area_layer": "neighbourhood"}
    page = client.get("/query/", params).content.decode()
    assert 'id="result-table"' in page and "<td>25</td>" in page
    csv_response = client.get("/query/", {**params, "format": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")
    lines = csv_response.content.decode().splitlines()
    assert lines[0] == "area,count,suppressed"
    assert "n0,,True" in lines and "n2,25,False" in lines
    assert AuditEntry.objects.filter(action="export", actor_username="phd_analyst").exists()
    refused = client.get("/query/", {**params, "agencies": ["GEN"]}).content.decode()
    assert "no agreement from GEN to PHD exists" in refused


@pytest.mark.django_db
def test_api_governed_aggregate_and_refusal_shape(client, world, login_as, city) -> None:
    active_agreement(world)
    login_as(client, world.users["phd_analyst"])
    body = {"purpose": PURPOSE, "agencies": ["MFD"], "area_layer": "beat", "period": "week"}
    response = client.post(
        "/api/governance/aggregate", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["columns"] == ["area", "period", "count", "suppressed"]
    # b0 holds n0 (3 events, hidden in the agreement's neighbourhood/day grid): 28 - 25 (n2,
    # released at neighbourhood level) would give it away, so b0 is hidden too.
    assert data["rows"] == [["b0", "2025-03-03", None, True], ["b1", "2025-03-03", 14, False]]
    assert data["window"] == {"start": None, "end": None}
    body["area_layer"] = "neighbourhood"
    body["agencies"] = ["GEN"]
    refused = client.post(
        "/api/governance/aggregate", json.dumps(body), content_type="application/json"
    )
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "refused"
    assert error["details"]["reasons"] == [
        "no agreement from GEN to PHD exists (an admin of each agency must draft and approve one)"
    ]


@pytest.mark.django_db
def test_api_counts_by_event_attribute_as_the_agreement_allows(
    client, world, login_as, city
) -> None:
    for precinct, n in (("1", 12), ("2", 4)):
        ingest_events(city, "MFD", "fire_ems", "ems_response", {"n3": n}, batch=f"p{precinct}",
                      attributes={"precinct": precinct, "transported": "yes"})  # fmt: skip
    body = {"purpose": PURPOSE, "agencies": ["MFD"], "by": ["attribute:precinct"]}
    login_as(client, world.users["mfd_analyst"])
    own = client.post(
        "/api/governance/aggregate", json.dumps(body), content_type="application/json"
    )
    assert own.status_code == 200, own.content
    assert own.json()["columns"] == ["attribute:precinct", "count", "suppressed"]
    assert own.json()["rows"] == [["1", 12, False], ["2", 4, False], [None, 42, False]]

    active_agreement(world, fields=["attribute:precinct"])
    login_as(client, world.users["phd_analyst"])
    shared = client.post(
        "/api/governance/aggregate",
        json.dumps({**body, "attributes": [{"name": "transported", "equals": ["yes"]}]}),
        content_type="application/json",
    )
    assert shared.status_code == 403
    assert "attribute:transported" in shared.json()["error"]["details"]["reasons"][0]
    shared = client.post(
        "/api/governance/aggregate",
        json.dumps({**body, "attributes": [{"name": "precinct", "equals": ["1", "2"]}]}),
        content_type="application/json",
    )
    assert shared.status_code == 200, shared.content
    assert shared.json()["rows"] == [["1", 12, False], ["2", None, True]]
    entry = AuditEntry.objects.filter(actor_username="phd_analyst").latest("seq")
    assert entry.details["attributes"] == ["precinct in (1, 2)"]
    bad = client.post(
        "/api/governance/aggregate",
        json.dumps({**body, "by": ["attribute:Precinct"]}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    # A timestamp without its zone names no instant: refused, in the one error shape.
    naive = client.post(
        "/api/governance/aggregate",
        json.dumps({**body, "start": "2024-01-01T00:00:00", "end": "2024-02-01T00:00:00Z"}),
        content_type="application/json",
    )
    assert naive.status_code == 422
    assert naive.json()["error"]["details"] == {"field": "start"}
    assert "time zone" in naive.json()["error"]["message"]


@pytest.mark.django_db
def test_api_agreement_transitions(client, world, login_as) -> None:
    login_as(client, world.users["mfd_admin"])
    body = {
        "provider": "MFD",
        "recipient": "PHD",
        "purpose": PURPOSE,
        "finest_layer": "beat",
        "finest_period": "week",
        "valid_from": "2025-01-01",
    }
    created = client.post(
        "/api/governance/agreements", json.dumps(body), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    code = created.json()["code"]
    approve = client.post(
        f"/api/governance/agreements/{code}/approve", "{}", content_type="application/json"
    )
    assert approve.json()["approved_by"] == ["provider"]
    again = client.post(
        f"/api/governance/agreements/{code}/approve", "{}", content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    login_as(client, world.users["xpd_admin"])
    hidden = client.get(f"/api/governance/agreements/{code}")
    assert hidden.status_code == 404 and "error" in hidden.json()
