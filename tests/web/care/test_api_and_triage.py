"""The JSON API for encounters, referrals and triage, and the triage pages: one error shape,
role limits, and the recorded outcome feeding the measures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from wellbeat.web.care.models import TriageCall

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_encounter_and_referral_through_the_api(client: Client, care: Any, login_as: Any) -> None:
    login_as(client, care.world.users["mpd_officer"])
    created = post(
        client,
        "/api/care/encounters",
        {
            "first_name": "Jordan",
            "last_name": "Rivera",
            "date_of_birth": "1988-04-12",
            "place_type": "street",
            "needs": ["homelessness"],
            "consent_to_refer": True,
            "latitude": 41.5912345,
            "longitude": -93.6298765,
        },
    )
    assert created.status_code == 201
    encounter = created.json()
    assert (encounter["latitude"], encounter["longitude"]) == (41.591, -93.63)
    assert "Rivera" not in created.content.decode()
    referral = post(
        client,
        "/api/care/referrals",
        {"encounter_id": encounter["id"], "service_id": care.services["housing"].service_id},
    )
    assert referral.status_code == 201 and referral.json()["status"] == "requested"
    listed = client.get("/api/care/referrals").json()
    assert [r["service_name"] for r in listed] == ["Housing navigation"]


def test_api_errors_have_one_shape(client: Client, care: Any, login_as: Any) -> None:
    login_as(client, care.world.users["mpd_officer"])
    bad_need = post(
        client,
        "/api/care/encounters",
        {
            "first_name": "A",
            "last_name": "B",
            "date_of_birth": "1990-01-01",
            "place_type": "street",
            "needs": ["telepathy"],
        },
    )
    assert bad_need.status_code == 422
    assert "field 'needs': unknown need(s) telepathy" in bad_need.json()["error"]["message"]
    encounter = care.encounter()
    sud = post(
        client,
        "/api/care/referrals",
        {"encounter_id": str(encounter.public_id), "service_id": care.services["detox"].service_id},
    )
    assert sud.status_code == 403
    error = sud.json()["error"]
    assert error["code"] == "consent_required" and "42 CFR Part 2" in error["message"]
    missing = client.get("/api/care/referrals/not-a-uuid")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    login_as(client, care.world.users["mpd_analyst"])
    refused = post(
        client,
        "/api/care/encounters",
        {
            "first_name": "A",
            "last_name": "B",
            "date_of_birth": "1990-01-01",
            "place_type": "street",
            "needs": [],
        },
    )
    assert refused.status_code == 403 and "officer" in refused.json()["error"]["message"]


def test_status_changes_through_the_api(client: Client, care: Any, login_as: Any) -> None:
    referral = care.refer("counselling")
    login_as(client, care.world.users["bhc_clinician"])
    ok = post(client, f"/api/care/referrals/{referral.public_id}/status", {"status": "accepted"})
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    conflict = post(
        client, f"/api/care/referrals/{referral.public_id}/status", {"status": "completed"}
    )
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
    no_reason = post(
        client, f"/api/care/referrals/{referral.public_id}/status", {"status": "failed"}
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["message"]


def test_triage_recommends_records_and_refuses_civilians_for_weapon_calls(
    client: Client, care: Any, login_as: Any
) -> None:
    login_as(client, care.world.users["mpd_officer"])
    dry = post(
        client,
        "/api/care/triage/recommend",
        {
            "call_type": "WELFARE",
            "weapon": False,
            "violence": False,
            "medical": False,
            "received_at": "2025-03-03T15:00:00Z",
        },
    )
    assert dry.json()["response"] == "civilian_crisis_team" and not TriageCall.objects.exists()
    recorded = post(
        client,
        "/api/care/triage/calls",
        {"call_type": "EDP", "narrative": "Mr Zebulon with knives shouting", "weapon": False},
    )
    assert recorded.status_code == 201
    body = recorded.json()
    assert body["response"] == "co_responder" and body["rule_id"] == "weapon-or-violence-behavioral"
    conflict = (
        "Conflict: Narrative says 'knive…'; weapon field says no — treated as weapon possibly "
        "present"
    )
    assert body["conflicts"] == [conflict] and body["reasons"][0] == conflict
    assert body["narrative"] == [
        {"groups": ["weapon"], "keyword": "knive…", "reading": "affirmed", "cue": ""}
    ]
    call = TriageCall.objects.get()
    assert call.keyword_groups == ["weapon"]
    assert call.conflicts == [conflict.removeprefix("Conflict: ")]
    # Only the rules' vocabulary is stored: not the narrative's words.
    stored = json.dumps(list(TriageCall.objects.values()), default=str)
    assert "Zebulon" not in stored and "shouting" not in stored and "knives" not in stored
    civilian = post(
        client,
        f"/api/care/triage/calls/{call.public_id}/outcome",
        {"actual_response": "civilian_crisis_team", "outcome": "resolved_on_scene"},
    )
    assert (
        civilian.status_code == 422
        and "never handled by a civilian" in civilian.json()["error"]["message"]
    )
    ok = post(
        client,
        f"/api/care/triage/calls/{call.public_id}/outcome",
        {"actual_response": "co_responder", "outcome": "diverted_from_jail"},
    )
    assert ok.status_code == 200


def test_triage_pages(client: Client, care: Any, login_as: Any) -> None:
    login_as(client, care.world.users["mpd_officer"])
    response = client.post(
        "/care/triage/", {"call_type": "CHKWEL", "weapon": "no", "violence": "no", "medical": "no"}
    )
    call = TriageCall.objects.get()
    assert response["Location"] == f"/care/triage/{call.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert call.get_recommended_response_display() in page and call.rule_id in page
    client.post(
        f"/care/triage/{call.public_id}/",
        {"actual_response": call.recommended_response, "outcome": "resolved_on_scene"},
    )
    call.refresh_from_db()
    assert call.outcome == "resolved_on_scene"


def test_triage_page_shows_a_narrative_field_conflict(
    client: Client, care: Any, login_as: Any
) -> None:
    login_as(client, care.world.users["mpd_officer"])
    response = client.post(
        "/care/triage/",
        {
            "call_type": "SUICTHRT",
            "narrative": "suicidal, no weapon seen",
            "weapon": "yes",
            "violence": "no",
            "medical": "no",
        },
    )
    page = client.get(response["Location"]).content.decode()
    assert 'id="conflicts" role="alert"' in page
    assert (
        "Narrative says &#x27;no weapon&#x27;; weapon field says yes — treated as weapon "
        "possibly present"
    ) in page
    assert "narrative &#x27;no weapon&#x27; read as negated: weapon not counted" in page
    calm = client.post(
        "/care/triage/",
        {"call_type": "CHKWEL", "narrative": "has no weapons", "weapon": "no",
         "violence": "no", "medical": "no"},
    )  # fmt: skip
    calm_page = client.get(calm["Location"]).content.decode()
    assert 'id="conflicts"' not in calm_page


def test_measures_from_recorded_work(client: Client, care: Any, login_as: Any) -> None:

    users = care.world.users
    care.completed("counselling")
    care.declined("housing", "crn_coordinator", "Out of area")
    care.refer("housing")  # still open
    login_as(client, users["phd_manager"])
    rows = {m["key"]: m for m in client.get("/api/care/measures").json()}
    assert (
        rows["referral_completion_rate"]["numerator"],
        rows["referral_completion_rate"]["denominator"],
    ) == (1, 2)
    assert rows["time_to_first_contact_hours"]["denominator"] == 1
    page = client.get("/care/measures/").content.decode()
    assert "Referral completion rate" in page and "50%" in page


def test_measures_per_period_on_the_page_in_csv_and_through_the_api(
    client: Client, care: Any, login_as: Any
) -> None:
    import csv
    import io

    from django.utils import timezone

    from wellbeat.care.measures import MEASURES
    from wellbeat.web.audit.models import AuditEntry

    users = care.world.users
    care.completed("counselling")
    care.declined("housing", "crn_coordinator", "Out of area")
    this_month = timezone.localdate().strftime("%Y-%m")

    login_as(client, users["phd_manager"])
    rows = client.get("/api/care/measures/series?period=month").json()
    assert {r["measure"] for r in rows} == {m.key for m in MEASURES}
    completion = [r for r in rows if r["measure"] == "referral_completion_rate"]
    assert [(r["period"], r["numerator"], r["denominator"]) for r in completion][-1] == (
        this_month,
        1,
        2,
    )

    page = client.get("/care/measures/?period=quarter").content.decode()
    assert 'id="measure-series"' in page and "-Q" in page

    download = client.get("/care/measures/?period=month&format=csv")
    assert download["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(download.content.decode())))
    mine = [r for r in table if r["measure"] == "referral_completion_rate"][-1]
    assert (mine["period"], mine["numerator"], mine["denominator"]) == (this_month, "1", "2")
    assert AuditEntry.objects.filter(action="care.measures_exported").count() == 1

    bad = client.get("/api/care/measures/series?period=fortnight")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_error"
    assert bad.json()["error"]["details"][0]["field"] == "query.period"

    login_as(client, users["mpd_officer"])
    assert client.get("/api/care/measures/series").status_code == 403
