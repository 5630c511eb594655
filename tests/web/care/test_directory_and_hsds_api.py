"""The directory in the hub: import/export round trip through the database, providers
keeping their own entries current, and the HSDS 3.0 read API with its pagination fields."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from jsonschema import Draft202012Validator

from wellbeat.care.hsds import service_from_hsds, synthetic_directory
from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.care import actions
from wellbeat.web.care.actions import CareError
from wellbeat.web.care.models import DirectoryEntry

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[2] / "care" / "fixtures"


@cache
def service_list_validator() -> Draft202012Validator:
    schema = json.loads((FIXTURES / "hsds-3.0-compiled-service_list.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def millbrook(world: Any) -> list[dict[str, Any]]:
    documents = synthetic_directory()
    actions.do_import_directory(documents, actor_label="test")
    return documents


def test_export_after_import_returns_the_same_documents(millbrook: list[dict[str, Any]]) -> None:
    assert actions.directory_documents() == millbrook
    again = actions.do_import_directory(millbrook, actor_label="test")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 14)
    assert actions.directory_documents() == millbrook


def test_import_links_known_agencies_and_reports_unknown_ones(world: Any) -> None:
    result = actions.do_import_directory(synthetic_directory(), actor_label="test")
    assert result.created == 14
    assert result.unknown_agencies == (
        "CHD",
        "NBH",
    )  # the demo city's agencies, not the test world's
    assert DirectoryEntry.objects.get(name="Food pantry").agency.code == "CRN"
    audit = AuditEntry.objects.get(action="care.directory_imported")
    assert audit.details["created"] == 14 and audit.actor_username == "test"


def test_invalid_documents_are_refused_whole(world: Any) -> None:
    bad = synthetic_directory()
    bad[3]["status"] = "open"
    with pytest.raises(CareError, match=r"\[3\].status"):
        actions.do_import_directory(bad, actor_label="test")
    assert not DirectoryEntry.objects.exists()


def test_only_hub_admins_import(care: Any) -> None:
    with pytest.raises(CareError, match="hub_admin"):
        actions.do_import_directory(synthetic_directory(), actor=care.world.users["bhc_admin"])


def test_provider_keeps_its_entry_current_through_the_page(
    client: Client, care: Any, login_as: Any
) -> None:
    entry = care.services["counselling"]
    login_as(client, care.world.users["bhc_coordinator"])
    response = client.post(
        f"/care/directory/{entry.service_id}/edit/",
        {"status": "active", "first_contact_hours": "12", "alert": "Extra evening hours"},
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    view = service_from_hsds(entry.document)
    assert not view.accepting_referrals  # the box was left unticked
    assert view.first_contact_hours == 12 and entry.document["alert"] == "Extra evening hours"
    assert entry.document["metadata"][-1]["updated_by"] == "bhc_coordinator"
    login_as(client, care.world.users["crn_coordinator"])
    assert client.get(f"/care/directory/{entry.service_id}/edit/").status_code == 403


def test_provider_update_through_the_api(client: Client, care: Any, login_as: Any) -> None:
    entry = care.services["housing"]
    login_as(client, care.world.users["crn_coordinator"])
    response = client.patch(
        f"/api/care/services/{entry.service_id}",
        data=json.dumps({"accepting_referrals": False}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert not service_from_hsds(response.json()).accepting_referrals
    refused = client.patch(
        f"/api/care/services/{care.services['counselling'].service_id}",
        data=json.dumps({"status": "inactive"}),
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert set(refused.json()["error"]) == {"code", "message", "details"}


def test_directory_search_page_and_api(client: Client, care: Any, login_as: Any) -> None:
    login_as(client, care.world.users["mpd_officer"])
    page = client.get("/care/directory/", {"needs": "homelessness", "accepting": "on"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Housing navigation" in html and "Night shelter" not in html
    found = client.get(
        "/api/care/services", {"needs": "substance-use", "lat": 41.59, "lon": -93.62}
    ).json()
    assert [s["name"] for s in found] == ["Withdrawal management"]
    assert found[0]["part2_program"] and found[0]["distance_km"] == pytest.approx(0, abs=1e-6)
    bad = client.get("/api/care/services", {"needs": "telepathy"})
    assert bad.status_code == 422 and "unknown need" in bad.json()["error"]["message"]


def test_hsds_root_names_version_and_openapi(client: Client, millbrook: Any) -> None:
    root = client.get("/hsds/").json()
    assert root["version"] == "3.0"
    assert root["openapi_url"].endswith("/hsds/openapi.json")
    assert client.get("/hsds/openapi.json").json()["openapi"].startswith("3.")


def test_hsds_services_pagination(client: Client, millbrook: list[dict[str, Any]]) -> None:
    first = client.get("/hsds/services", {"per_page": 5}).json()
    assert {k: first[k] for k in first if k != "contents"} == {
        "total_items": 14,
        "total_pages": 3,
        "page_number": 1,
        "size": 5,
        "first_page": True,
        "last_page": False,
        "empty": False,
    }
    last = client.get("/hsds/services", {"per_page": 5, "page": 3}).json()
    assert (last["size"], last["last_page"], last["first_page"]) == (4, True, False)
    beyond = client.get("/hsds/services", {"per_page": 5, "page": 4}).json()
    assert beyond["empty"] and beyond["contents"] == []
    for item in first["contents"]:
        assert list(service_list_validator().iter_errors(item)) == []
        assert not any(isinstance(v, list) for v in item.values())


def test_hsds_services_filters_and_forms(client: Client, millbrook: list[dict[str, Any]]) -> None:
    pantry = next(d for d in millbrook if d["name"] == "Food pantry")
    by_org = client.get("/hsds/services", {"organization_id": pantry["organization"]["id"]}).json()
    assert by_org["total_items"] == 5
    term = pantry["attributes"][0]["taxonomy_term"]
    by_term = client.get("/hsds/services", {"taxonomy_term_id": term["id"]}).json()
    assert {s["name"] for s in by_term["contents"]} == {"Food pantry", "Emergency night shelter"}
    by_text = client.get("/hsds/services", {"search": "naloxone"}).json()
    assert [s["name"] for s in by_text["contents"]] == ["Harm reduction and naloxone"]
    recent = client.get("/hsds/services", {"modified_after": "2025-06-01T00:00:00Z"}).json()
    assert {s["name"] for s in recent["contents"]} == {
        "Outpatient substance use treatment",
        "Walk-in mental health crisis clinic",
        "Housing navigation",
    }
    full = client.get("/hsds/services", {"full": "true", "per_page": 100}).json()
    assert full["contents"] == millbrook
    minimal = client.get("/hsds/services", {"minimal": "true"}).json()
    assert set(minimal["contents"][0]) == {"id", "last_modified"}
    ndjson = client.get("/hsds/services", {"format": "ndjson", "full": "true"})
    assert ndjson["Content-Type"] == "application/x-ndjson"
    assert [json.loads(line) for line in ndjson.content.decode().splitlines()] == millbrook


def test_hsds_service_by_id_and_errors(client: Client, millbrook: list[dict[str, Any]]) -> None:
    assert client.get(f"/hsds/services/{millbrook[0]['id']}").json() == millbrook[0]
    missing = client.get("/hsds/services/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad_page = client.get("/hsds/services", {"page": "zero"})
    assert bad_page.status_code == 400 and "'page'" in bad_page.json()["error"]["message"]
    naive = client.get("/hsds/services", {"modified_after": "2025-01-01T00:00"})
    assert naive.status_code == 400 and "time zone" in naive.json()["error"]["message"]
