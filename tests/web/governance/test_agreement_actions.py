"""Agreement lifecycle and consent actions: who may act, history and audit."""

from __future__ import annotations

from datetime import date

import pytest

from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.governance import actions
from wellbeat.web.governance.models import Agreement


def draft(world, actor="mfd_admin", **kw) -> Agreement:
    values = dict(
        title="EMS overdoses",
        provider=world.agencies["MFD"],
        recipient=world.agencies["PHD"],
        purpose="overdose_response",
        granularity="aggregate",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=10,
        valid_from=date(2024, 1, 1),
        syndromes=["overdose"],
    )
    values.update(kw)
    return actions.do_draft_agreement(world.users[actor], **values)


@pytest.mark.django_db
def test_agreement_takes_effect_after_an_admin_of_each_side_approves(world) -> None:
    agreement = draft(world)
    assert agreement.status == "draft" and agreement.code == "DSA-0001"
    agreement = actions.do_approve_agreement(world.users["mfd_admin"], agreement, "ok by EMS")
    assert agreement.status == "draft"
    agreement = actions.do_approve_agreement(world.users["phd_admin"], agreement)
    assert agreement.status == "active"
    history = list(agreement.events.values_list("action", "actor__username"))
    assert history == [
        ("drafted", "mfd_admin"),
        ("approved", "mfd_admin"),
        ("approved", "phd_admin"),
        ("activated", "phd_admin"),
    ]
    audited = list(
        AuditEntry.objects.filter(target="agreement:DSA-0001").values_list("action", flat=True)
    )
    assert audited == [
        "agreement.drafted",
        "agreement.approved",
        "agreement.approved",
        "agreement.activated",
    ]


@pytest.mark.django_db
def test_only_admins_of_the_two_agencies_may_draft_approve_and_revoke(world) -> None:
    with pytest.raises(actions.GovernanceError, match="only an agency admin of MFD or PHD"):
        draft(world, actor="mfd_analyst")
    with pytest.raises(actions.GovernanceError, match="only an agency admin"):
        draft(world, actor="xpd_admin")
    agreement = draft(world)
    for outsider in ("xpd_admin", "phd_analyst", "gen_admin"):
        with pytest.raises(actions.GovernanceError) as refused:
            actions.do_approve_agreement(world.users[outsider], agreement)
        assert refused.value.code == "forbidden"
    actions.do_approve_agreement(world.users["mfd_admin"], agreement)
    with pytest.raises(actions.GovernanceError, match="already approved by the provider side"):
        actions.do_approve_agreement(world.users["mfd_admin"], agreement)
    with pytest.raises(actions.GovernanceError, match="may revoke"):
        actions.do_revoke_agreement(world.users["xpd_admin"], agreement, "no")


@pytest.mark.django_db
def test_revocation_needs_a_reason_and_is_final(world) -> None:
    agreement = draft(world)
    with pytest.raises(actions.GovernanceError, match="field 'reason'"):
        actions.do_revoke_agreement(world.users["phd_admin"], agreement, "  ")
    revoked = actions.do_revoke_agreement(world.users["phd_admin"], agreement, "no longer needed")
    assert revoked.status == "revoked"
    assert revoked.events.last().reason == "no longer needed"
    with pytest.raises(actions.GovernanceError) as again:
        actions.do_approve_agreement(world.users["mfd_admin"], revoked)
    assert again.value.code == "conflict"


@pytest.mark.django_db
def test_invalid_agreements_are_refused_with_the_field(world) -> None:
    with pytest.raises(actions.GovernanceError, match="field 'min_cell': must be >= 1"):
        draft(world, min_cell=0)
    with pytest.raises(actions.GovernanceError, match="field 'purpose'"):
        draft(world, purpose="curiosity")
    with pytest.raises(actions.GovernanceError, match="linkage_code never leaves the hub"):
        draft(world, fields=["linkage_code"], granularity="person_level")


@pytest.mark.django_db
def test_consents_are_recorded_and_revoked_by_the_disclosing_agency(world) -> None:
    consent = actions.do_record_consent(
        world.users["bhc_clinician"],
        person_token="p1:abc",
        information="SUD treatment episodes 2025",
        recipients=[world.agencies["CRN"]],
        purpose="care_coordination",
        signed_on=date(2025, 1, 5),
        expires_on=date(2026, 1, 5),
    )
    assert consent.to_core().recipients == frozenset({"CRN"})
    with pytest.raises(actions.GovernanceError, match="only staff of BHC"):
        actions.do_revoke_consent(world.users["crn_coordinator"], consent, "x")
    with pytest.raises(actions.GovernanceError, match="expiry date or event"):
        actions.do_record_consent(
            world.users["bhc_clinician"],
            person_token="p1:abc",
            information="x",
            recipients=[world.agencies["CRN"]],
            purpose="care_coordination",
            signed_on=date(2025, 1, 5),
        )
    revoked = actions.do_revoke_consent(world.users["bhc_admin"], consent, "patient asked")
    assert revoked.revoked_at is not None
    actions_logged = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"consent.recorded", "consent.revoked"} <= actions_logged
