"""Closed-loop referrals end to end through the actions: the lifecycle on both sides, what
officers may and may not see, notifications, overdue follow-ups, the Part 2 gate and
revocation, and the audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from wellbeat.care.lifecycle import TaskStatus
from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.care import actions
from wellbeat.web.care.actions import CareError
from wellbeat.web.care.models import Encounter, FollowUp, Notification, Referral

pytestmark = pytest.mark.django_db


def test_the_loop_closes_and_the_referrer_hears_of_every_change(care: Any) -> None:
    users = care.world.users
    referral = care.refer("counselling")
    assert referral.status == "requested" and referral.performer_agency.code == "BHC"
    assert referral.first_contact_due == referral.requested_at + timedelta(hours=48)
    for status in ("accepted", "in-progress", "completed"):
        actions.do_change_status(users["bhc_clinician"], referral, status)
    referral.refresh_from_db()
    assert referral.task_status is TaskStatus.COMPLETED
    assert referral.first_contact_at is not None and referral.closed_at is not None
    messages = list(
        Notification.objects.filter(user=users["mpd_officer"]).values_list("message", flat=True)
    )
    assert len(messages) == 3
    assert any("Completed" in m for m in messages)
    history = [(e.from_status, e.to_status, e.side) for e in referral.events.all()]
    assert history == [
        ("", "requested", "requester"),
        ("requested", "accepted", "performer"),
        ("accepted", "in-progress", "performer"),
        ("in-progress", "completed", "performer"),
    ]


def test_each_side_makes_only_its_own_moves(care: Any) -> None:
    users = care.world.users
    referral = care.refer("counselling")
    with pytest.raises(CareError, match="only the performer") as caught:
        actions.do_change_status(users["mpd_officer"], referral, "accepted")
    assert caught.value.code == "forbidden"
    with pytest.raises(CareError, match="field 'reason'"):
        actions.do_change_status(users["bhc_clinician"], referral, "rejected", " ")
    with pytest.raises(CareError, match="cannot go from requested to completed"):
        actions.do_change_status(users["bhc_clinician"], referral, "completed")
    with pytest.raises(CareError, match="no referral") as outsider:
        actions.do_change_status(users["crn_coordinator"], referral, "accepted")
    assert outsider.value.code == "not_found"
    actions.do_change_status(users["mpd_officer"], referral, "cancelled", "Person moved away")
    referral.refresh_from_db()
    assert referral.status == "cancelled" and referral.status_reason == "Person moved away"


def test_an_unknown_status_is_refused_as_the_lifecycle_parses_it(care: Any) -> None:
    from wellbeat.care.lifecycle import TransitionError, parse_status

    referral = care.refer("counselling")
    with pytest.raises(TransitionError) as parsed:
        parse_status("in_progress")
    with pytest.raises(CareError) as refused:
        actions.do_change_status(care.world.users["bhc_clinician"], referral, "in_progress")
    # One parser: the same code and message (naming the FHIR codes) in the web app.
    assert (refused.value.code, refused.value.message) == (parsed.value.code, str(parsed.value))
    assert "in-progress" in refused.value.message


def test_officers_see_status_never_clinical_detail(
    client: Client, care: Any, login_as: Any
) -> None:
    users = care.world.users
    referral = care.refer("counselling")
    actions.do_change_status(
        users["bhc_clinician"], referral, "rejected", "Active psychosis: needs inpatient care"
    )
    login_as(client, users["mpd_officer"])
    page = client.get(f"/care/referrals/{referral.public_id}/").content.decode()
    assert "Declined by the provider" in page
    assert "psychosis" not in page and referral.person_token not in page
    listing = client.get("/care/referrals/mine/").content.decode()
    assert "Declined by the provider" in listing and "psychosis" not in listing
    api = client.get(f"/api/care/referrals/{referral.public_id}").json()
    assert api["status"] == "rejected"
    assert "status_reason" not in api and "person_token" not in api and "history" not in api
    login_as(client, users["bhc_coordinator"])
    clinical = client.get(f"/api/care/referrals/{referral.public_id}").json()
    assert clinical["status_reason"] == "Active psychosis: needs inpatient care"
    assert clinical["person_token"] == referral.person_token


def test_names_are_never_stored(care: Any) -> None:
    encounter = care.encounter()
    assert encounter.person_token.startswith("p1:")
    stored = str(list(Encounter.objects.values())) + str(list(AuditEntry.objects.values()))
    assert "Rivera" not in stored and "Jordan" not in stored and "1988-04-12" not in stored
    again = care.encounter()
    assert again.person_token == encounter.person_token  # same person, same pseudonym


def test_encounter_without_consent_cannot_be_referred(care: Any) -> None:
    encounter = care.encounter(consent_to_refer=False)
    with pytest.raises(CareError, match="did not agree to be referred"):
        care.refer("counselling", encounter=encounter)
    assert AuditEntry.objects.filter(action="care.referral_refused").count() == 1


def test_services_that_take_no_referrals_are_refused(care: Any) -> None:
    with pytest.raises(CareError, match="Night shelter is not accepting referrals"):
        care.refer("shelter")


def test_sud_referral_without_consent_is_refused_with_a_clear_reason(care: Any) -> None:
    with pytest.raises(CareError) as caught:
        care.refer("detox")
    error = caught.value
    assert error.code == "consent_required"
    assert error.message.startswith("Referral to Withdrawal management refused")
    assert "substance-use-disorder treatment program under 42 CFR Part 2" in error.message
    assert "none is on file" in error.message
    assert not Referral.objects.exists()
    refusal = AuditEntry.objects.get(action="care.referral_refused")
    assert refusal.details["code"] == "consent_required"


def test_with_consent_the_provider_reads_until_revocation(
    client: Client, care: Any, login_as: Any
) -> None:
    from wellbeat.web.governance import actions as governance

    users = care.world.users
    consent = care.part2_consent()
    referral = care.refer("detox")
    assert referral.part2 and referral.consent_code == consent.code
    actions.do_change_status(users["bhc_clinician"], referral, "accepted")
    login_as(client, users["bhc_clinician"])
    assert client.get(f"/care/referrals/{referral.public_id}/").status_code == 200

    governance.do_revoke_consent(users["bhc_clinician"], consent, "Person withdrew consent")

    page = client.get(f"/care/referrals/{referral.public_id}/")
    assert page.status_code == 403
    assert "consent to share this referral is no longer in force" in page.content.decode()
    api = client.get(f"/api/care/referrals/{referral.public_id}")
    assert api.status_code == 403 and api.json()["error"]["code"] == "consent_required"
    queue = client.get("/care/provider/").content.decode()
    assert "Withheld (Part 2 consent not in force)" in queue
    with pytest.raises(CareError, match="no longer in force"):
        actions.do_change_status(users["bhc_clinician"], referral, "in-progress")
    login_as(client, users["mpd_officer"])
    assert "Withheld" in client.get("/care/referrals/mine/").content.decode()
    refused = AuditEntry.objects.filter(action="care.referral_read_refused")
    assert refused.filter(actor_username="bhc_clinician").exists()


def test_every_read_is_audited(client: Client, care: Any, login_as: Any) -> None:
    referral = care.refer("counselling")
    login_as(client, care.world.users["bhc_coordinator"])
    client.get(f"/care/referrals/{referral.public_id}/")
    client.get("/care/provider/")
    viewed = AuditEntry.objects.get(action="care.referral_viewed")
    assert viewed.target == f"referral:{referral.public_id}"
    assert viewed.actor_username == "bhc_coordinator"
    listed = AuditEntry.objects.filter(action="care.referrals_listed").last()
    assert listed.details["referrals"] == [str(referral.public_id)]
    login_as(client, care.world.users["xpd_admin"])
    assert client.get(f"/care/referrals/{referral.public_id}/").status_code == 404
    assert AuditEntry.objects.filter(
        action="care.referral_read_refused", actor_username="xpd_admin"
    ).exists()


def test_overdue_referrals_raise_one_follow_up_each(
    client: Client, care: Any, login_as: Any
) -> None:
    users = care.world.users
    late = care.refer("housing")  # CRN promises first contact within 72 h
    contacted = care.refer("counselling")  # BHC promises 48 h and makes contact
    actions.do_change_status(users["bhc_clinician"], contacted, "accepted")
    actions.do_change_status(users["bhc_clinician"], contacted, "in-progress")
    not_yet = care.refer("housing")
    assert actions.do_raise_overdue_followups(timezone.now() + timedelta(hours=71)) == []
    later = timezone.now() + timedelta(hours=73)
    raised = actions.do_raise_overdue_followups(later)
    assert sorted(f.referral_id for f in raised) == sorted([late.pk, not_yet.pk])
    assert all(f.agency.code == "CRN" for f in raised)
    assert actions.do_raise_overdue_followups(later) == []  # idempotent
    assert Notification.objects.filter(referral=late, message__contains="no first contact").exists()
    login_as(client, users["crn_coordinator"])
    page = client.get("/care/coordinator/").content.decode()
    assert "Housing navigation" in page
    actions.do_change_status(users["crn_coordinator"], late, "accepted")
    actions.do_change_status(users["crn_coordinator"], late, "in-progress")
    assert not FollowUp.objects.filter(referral=late, resolved_at__isnull=True).exists()


def test_coordinator_resolves_a_follow_up(care: Any) -> None:
    users = care.world.users
    referral = care.refer("housing")
    [followup] = actions.do_raise_overdue_followups(timezone.now() + timedelta(hours=80))
    with pytest.raises(CareError, match="no open follow-up"):
        actions.do_resolve_followup(users["bhc_coordinator"], followup, "called")
    with pytest.raises(CareError, match="field 'resolution'"):
        actions.do_resolve_followup(users["crn_coordinator"], followup, "")
    actions.do_resolve_followup(users["crn_coordinator"], followup, "Reached the person by phone")
    followup.refresh_from_db()
    assert followup.resolved_by == users["crn_coordinator"]
    assert referral.pk == followup.referral_id


def test_changes_entered_after_the_fact_keep_their_own_times(care: Any) -> None:
    users = care.world.users
    met = timezone.now() - timedelta(days=3)
    encounter = care.encounter(occurred_at=met)
    sent = met + timedelta(minutes=20)
    referral = actions.do_refer(
        users["mpd_officer"], encounter, care.services["counselling"], at=sent
    )
    assert referral.requested_at == sent == referral.authored_on
    assert referral.first_contact_due == sent + timedelta(hours=48)
    contacted = sent + timedelta(hours=5)
    actions.do_change_status(
        users["bhc_clinician"], referral, "accepted", at=sent + timedelta(1 / 24)
    )
    actions.do_change_status(users["bhc_clinician"], referral, "in-progress", at=contacted)
    referral.refresh_from_db()
    assert referral.first_contact_at == contacted
    # Not before the last change, and never in the future.
    with pytest.raises(CareError, match="before the referral's last change"):
        actions.do_change_status(users["bhc_clinician"], referral, "completed", at=sent)
    with pytest.raises(CareError, match="in the future"):
        actions.do_change_status(
            users["bhc_clinician"], referral, "completed", at=timezone.now() + timedelta(days=1)
        )
    assert Referral.objects.get(pk=referral.pk).status == "in-progress"
