"""The encounter and status forms through the pages, and the FHIR export of the hub's
referrals (validated, lossless, Part 2 referrals without a consent in force left out)."""

from __future__ import annotations

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
    assert response["Location"] == f"/care/encounters/{encounter.public_id}/refer/"
    page = client.get(response["Location"]).content.decode()
    assert "Refer to Housing navigation" in page
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
