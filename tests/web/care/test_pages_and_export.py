"""The encounter and status forms through the pages, and the FHIR export of the hub's
referrals (validated, lossless, Part 2 referrals without a consent in force left out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from wellbeat.care.fhir import parse_referral_bundle
from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.care import actions
from wellbeat.web.care.models import Encounter, Referral

pytestmark = pytest.mark.django_db


def test_encounter_form_records_and_offers_matching_services(
    client: Client, care: Any, login_as: Any
) -> None:
    login_as(client, care.world.users["mpd_officer"])
    response = client.post(
        "/care/encounters/new/",
        {
            "first_name": "Jordan",
            "last_name": "Rivera",
            "date_of_birth": "1988-04-12",
            "occurred_at": "2025-07-01T10:30",
            "place_type": "street",
            "needs": ["homelessness"],
            "consent_to_refer": "on",
            "latitude": "41.59",
            "longitude": "-93.62",
        },
    )
    encounter = Encounter.objects.get()
    # The refer page comes straight back (no redirect), the name just typed ready for the
    # contact card, and posts to the encounter's refer address.
    inline = response.content.decode()
    refer_url = f"/care/encounters/{encounter.public_id}/refer/"
    assert response.status_code == 200 and f'action="{refer_url}"' in inline
    assert 'value="Jordan Rivera"' in inline and "no-store" in response["Cache-Control"]
    page = client.get(refer_url).content.decode()
    assert "Refer to Housing navigation" in page and "Jordan" not in page
    assert "Night shelter" not in page  # takes no referrals
    bad = client.post("/care/encounters/new/", {"first_name": "J", "needs": ["homelessness"]})
    assert bad.status_code == 200 and "This field is required" in bad.content.decode()
    assert Encounter.objects.count() == 1


def test_status_form_needs_a_reason_to_decline(client: Client, care: Any, login_as: Any) -> None:
    referral = care.refer("counselling")
    login_as(client, care.world.users["bhc_clinician"])
    client.post(f"/care/referrals/{referral.public_id}/status/", {"status": "rejected"})
    referral.refresh_from_db()
    assert referral.status == "requested"
    client.post(
        f"/care/referrals/{referral.public_id}/status/",
        {"status": "rejected", "reason": "No capacity this month", "next": "/care/provider/"},
    )
    referral.refresh_from_db()
    assert referral.status == "rejected" and referral.status_reason == "No capacity this month"


def test_fhir_export_of_the_hub_is_lossless_and_respects_revocation(care: Any) -> None:
    from wellbeat.web.governance import actions as governance

    users = care.world.users
    plain = care.refer("counselling")
    actions.do_change_status(users["bhc_clinician"], plain, "accepted")
    consent = care.part2_consent()
    sud = care.refer("detox")
    export = actions.do_export_fhir(actor_label="test")
    records, consents = parse_referral_bundle(export.bundle)
    by_id = {r.id: r for r in records}
    for referral in (plain, sud):
        referral.refresh_from_db()
        assert by_id[str(referral.public_id)] == referral.to_record()
    assert [c.id for c in consents] == [consent.code]
    assert by_id[str(sud.public_id)].consent_id == consent.code

    governance.do_revoke_consent(users["bhc_clinician"], consent, "withdrawn")
    after = actions.do_export_fhir(actor_label="test")
    records, consents = parse_referral_bundle(after.bundle)
    assert [r.id for r in records] == [str(plain.public_id)] and consents == []
    assert after.warnings == ["1 Part 2 referral(s) left out: their consent is no longer in force"]
    assert AuditEntry.objects.filter(action="care.referrals_exported").count() == 2
    assert Referral.objects.count() == 2


def _clear_referrals_and_consents() -> None:
    from wellbeat.web.care.models import FollowUp, Notification, ReferralEvent
    from wellbeat.web.governance.models import Consent

    Notification.objects.all().delete()
    FollowUp.objects.all().delete()
    ReferralEvent.objects.all().delete()
    Referral.objects.all().delete()
    Consent.objects.all().delete()


def test_fhir_import_of_an_export_changes_nothing_and_rebuilds_an_empty_hub(care: Any) -> None:
    done = care.completed("counselling")
    care.declined("counselling", "bhc_clinician", "No capacity")
    care.part2_consent()
    care.refer("detox")
    export = actions.do_export_fhir(actor_label="test")
    text = export.text()
    before = sorted((r.to_record() for r in Referral.objects.all()), key=lambda r: r.id)

    same = actions.do_import_fhir(text, actor_label="test")
    assert (same.referrals_unchanged, same.referrals_created, same.referrals_updated) == (3, 0, 0)
    assert same.consents_unchanged == 1 and same.consents_created == 0

    _clear_referrals_and_consents()
    rebuilt = actions.do_import_fhir(text, actor_label="test")
    assert rebuilt.referrals_created == 3 and rebuilt.consents_created == 1
    after = sorted((r.to_record() for r in Referral.objects.all()), key=lambda r: r.id)
    assert after == before
    again = actions.do_export_fhir(actor_label="test")
    assert parse_referral_bundle(again.bundle) == parse_referral_bundle(export.bundle)
    # An imported referral still awaiting the provider is watched for overdue first contact.
    awaiting = Referral.objects.get(status="requested")
    promised = timedelta(hours=awaiting.entry.first_contact_hours)
    assert awaiting.first_contact_due == awaiting.requested_at + promised
    history = Referral.objects.get(public_id=done.public_id).events.get()
    assert (history.from_status, history.to_status, history.side) == ("", "completed", "performer")
    assert AuditEntry.objects.filter(action="care.referrals_imported").count() == 2


def test_fhir_import_takes_the_bundles_state_and_refuses_whole_bundles(care: Any) -> None:
    import json

    users = care.world.users
    referral = care.refer("counselling")
    actions.do_change_status(users["bhc_clinician"], referral, "accepted")
    bundle = actions.do_export_fhir(actor_label="test").bundle
    # The provider's own system moved the referral on: the hub takes that state.
    task = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task")
    task["status"] = "in-progress"
    moved = actions.do_import_fhir(json.dumps(bundle), actor_label="test")
    assert moved.referrals_updated == 1
    referral.refresh_from_db()
    assert referral.status == "in-progress"

    # An agency the hub does not know refuses the whole bundle, naming the record.
    for entry in bundle["entry"]:
        text = json.dumps(entry["resource"]).replace('"BHC"', '"ZZZ"')
        entry["resource"] = json.loads(text)
    with pytest.raises(actions.CareError, match="agency ZZZ is not on this hub"):
        actions.do_import_fhir(json.dumps(bundle), source="their.json")
    with pytest.raises(actions.CareError, match="not JSON"):
        actions.do_import_fhir("{", source="their.json")


def test_fhir_import_of_a_part2_referral_needs_its_consent(care: Any) -> None:
    care.part2_consent()
    sud = care.refer("detox")
    bundle = actions.do_export_fhir(actor_label="test").bundle
    _clear_referrals_and_consents()
    # Without its Consent resource the SUD referral cannot come in: nothing is imported.
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Consent"]
    import json

    with pytest.raises(actions.CareError, match=f"Task {sud.public_id}: Part 2 referral refused"):
        actions.do_import_fhir(json.dumps(bundle), actor_label="test")
    assert not Referral.objects.exists()


def test_fhir_import_through_the_api_is_for_hub_admins(
    client: Client, care: Any, login_as: Any
) -> None:
    care.refer("counselling")
    text = actions.do_export_fhir(actor_label="test").text()
    login_as(client, care.world.users["mpd_officer"])
    refused = client.post("/api/care/fhir", data=text, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    login_as(client, care.world.users["hub_admin"])
    ok = client.post("/api/care/fhir", data=text, content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["referrals_unchanged"] == 1
    bad = client.post("/api/care/fhir", data="{", content_type="application/json")
    assert bad.status_code == 422 and "not JSON" in bad.json()["error"]["message"]


def test_encounter_form_lists_the_common_needs_first(
    client: Client, care: Any, login_as: Any
) -> None:
    import re

    login_as(client, care.world.users["mpd_officer"])
    page = client.get("/care/encounters/new/").content.decode()
    ticked = re.findall(r'name="needs" value="([^"]+)"', page)
    assert ticked[:5] == [
        "mental-health",
        "substance-use",
        "homelessness",
        "housing-instability",
        "inadequate-housing",
    ]
    assert len(ticked) == len(set(ticked)) > 5  # every other need still offered, once
    # The rest fold under "N more", closed until one of them is ticked.
    assert f"<summary>{len(ticked) - 5} more</summary>" in page
    assert '<details class="more-choices">' in page
    again = client.post("/care/encounters/new/", {"needs": ["stress"]}).content.decode()
    assert '<details class="more-choices" open>' in again
