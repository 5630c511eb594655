"""Every governance state change: each ``do_*`` owns its transaction, checks who may act,
records the agreement's history and writes the audit row (Zulip-style actions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from wellbeat import governance as core
from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.audit.actions import record
from wellbeat.web.errors import ActionError
from wellbeat.web.governance.models import (
    Agreement,
    AgreementEvent,
    AgreementSide,
    Approval,
    Consent,
)

AGREEMENT_DRAFTED = "agreement.drafted"
AGREEMENT_APPROVED = "agreement.approved"
AGREEMENT_ACTIVATED = "agreement.activated"
AGREEMENT_REVOKED = "agreement.revoked"
AGREEMENT_EXPIRED = "agreement.expired"
CONSENT_RECORDED = "consent.recorded"
CONSENT_REVOKED = "consent.revoked"

CONSENT_ROLES = frozenset(
    {Role.AGENCY_ADMIN.value, Role.CLINICIAN.value, Role.CARE_COORDINATOR.value}
)
"""Roles of the disclosing agency that may record or revoke a patient's consent."""


class GovernanceError(ActionError):
    """A governance action that was refused: ``code`` is forbidden, conflict or invalid."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def _is_admin_of(user: User, agency_id: int | None) -> bool:
    return user.has_role(Role.AGENCY_ADMIN) and user.agency_id == agency_id


def _next_code(model: type[Agreement] | type[Consent], prefix: str) -> str:
    highest = model.objects.aggregate(top=Max("id"))["top"] or 0
    return f"{prefix}-{highest + 1:04d}"


def _event(
    agreement: Agreement, action: str, actor: User | None, reason: str = "", **details: Any
) -> None:
    AgreementEvent.objects.create(
        agreement=agreement,
        action=action.removeprefix("agreement."),
        actor=actor,
        reason=reason,
        details=details,
    )
    record(
        action,
        actor=actor,
        agency=actor.agency if actor is not None else None,
        target=f"agreement:{agreement.code}",
        details={"reason": reason, **details} if reason or details else None,
    )


def do_draft_agreement(
    actor: User,
    *,
    title: str,
    provider: Agency,
    recipient: Agency,
    purpose: str,
    granularity: str,
    finest_layer: str | None,
    finest_period: str | None,
    min_cell: int,
    valid_from: date,
    valid_to: date | None = None,
    recipient_roles: Iterable[str] = (),
    sectors: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    syndromes: Iterable[str] | None = None,
    fields: Iterable[str] = (),
    reason: str = "",
) -> Agreement:
    """Draft an agreement; an admin of either agency (or a hub admin) may draft it. It takes
    effect only once an admin of each side approves it."""
    if not (
        _is_admin_of(actor, provider.pk)
        or _is_admin_of(actor, recipient.pk)
        or actor.has_role(Role.HUB_ADMIN)
    ):
        raise GovernanceError(
            "forbidden",
            f"only an agency admin of {provider.code} or {recipient.code} (or a hub admin) "
            "may draft an agreement between them",
        )
    values = {
        "title": title.strip() or f"{provider.code} to {recipient.code}: {purpose}",
        "provider": provider,
        "recipient": recipient,
        "purpose": purpose,
        "granularity": granularity,
        "finest_layer": finest_layer or "",
        "finest_period": finest_period or "",
        "min_cell": min_cell,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "recipient_roles": sorted(set(recipient_roles)),
        "sectors": None if sectors is None else sorted(set(sectors)),
        "kinds": None if kinds is None else sorted(set(kinds)),
        "syndromes": None if syndromes is None else sorted(set(syndromes)),
        "fields": sorted(set(fields)),
    }
    with transaction.atomic():
        agreement = Agreement(code=_next_code(Agreement, "DSA"), created_by=actor, **values)
        try:
            agreement.to_core()
        except core.AgreementError as exc:
            raise GovernanceError("invalid", str(exc)) from exc
        agreement.save()
        _event(agreement, AGREEMENT_DRAFTED, actor, reason, title=agreement.title)
    return agreement


def do_approve_agreement(actor: User, agreement: Agreement, reason: str = "") -> Agreement:
    """Approve for the actor's side; when both sides have approved, the agreement is active."""
    side = agreement.side_of(actor.agency_id)
    if side is None or not actor.has_role(Role.AGENCY_ADMIN):
        raise GovernanceError(
            "forbidden",
            f"only an agency admin of {agreement.provider.code} or {agreement.recipient.code} "
            f"may approve agreement {agreement.code}",
        )
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != core.AgreementStatus.DRAFT:
            raise GovernanceError(
                "conflict", f"agreement {locked.code} is {locked.status}; only a draft is approved"
            )
        if locked.approvals.filter(side=side).exists():
            raise GovernanceError(
                "conflict", f"agreement {locked.code} is already approved by the {side} side"
            )
        Approval.objects.create(agreement=locked, side=side, agency=actor.agency, approved_by=actor)
        _event(locked, AGREEMENT_APPROVED, actor, reason, side=side)
        if locked.approvals.count() == len(AgreementSide.values):
            core.check_transition(core.AgreementStatus.DRAFT, core.AgreementStatus.ACTIVE)
            locked.status = core.AgreementStatus.ACTIVE.value
            locked.save(update_fields=["status"])
            _event(locked, AGREEMENT_ACTIVATED, actor, "approved by both agencies")
    return locked


def do_revoke_agreement(actor: User, agreement: Agreement, reason: str) -> Agreement:
    """Revoke (or withdraw a draft); either side's admin or a hub admin, with a reason.
    Reads stop at once: every governed read re-checks the agreement's status."""
    if not reason.strip():
        raise GovernanceError("invalid", "field 'reason': say why the agreement is revoked")
    if agreement.side_of(actor.agency_id) is None and not actor.has_role(Role.HUB_ADMIN):
        raise GovernanceError(
            "forbidden",
            f"only an agency admin of {agreement.provider.code} or {agreement.recipient.code} "
            f"(or a hub admin) may revoke agreement {agreement.code}",
        )
    if not (actor.has_role(Role.AGENCY_ADMIN) or actor.has_role(Role.HUB_ADMIN)):
        raise GovernanceError("forbidden", "revoking an agreement needs the agency admin role")
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        current = core.AgreementStatus(locked.effective_status())
        try:
            core.check_transition(current, core.AgreementStatus.REVOKED)
        except core.AgreementError as exc:
            raise GovernanceError("conflict", f"agreement {locked.code}: {exc}") from exc
        locked.status = core.AgreementStatus.REVOKED.value
        locked.save(update_fields=["status"])
        _event(locked, AGREEMENT_REVOKED, actor, reason.strip(), previous=current.value)
    return locked


def do_expire_agreements(today: date | None = None) -> list[str]:
    """Mark active agreements past their end date as expired (history + audit); returns codes.
    Decisions already treat them as expired; this makes the stored status say so too."""
    day = today or timezone.localdate()
    expired: list[str] = []
    with transaction.atomic():
        for agreement in Agreement.objects.select_for_update().filter(
            status=core.AgreementStatus.ACTIVE.value, valid_to__lt=day
        ):
            agreement.status = core.AgreementStatus.EXPIRED.value
            agreement.save(update_fields=["status"])
            _event(agreement, AGREEMENT_EXPIRED, None, f"valid_to {agreement.valid_to} passed")
            expired.append(agreement.code)
    return expired


def _check_consent_actor(actor: User, agency: Agency) -> None:
    if actor.agency_id != agency.pk or not any(actor.has_role(r) for r in CONSENT_ROLES):
        raise GovernanceError(
            "forbidden",
            f"only staff of {agency.code} with one of the roles "
            f"{', '.join(sorted(CONSENT_ROLES))} may record or revoke its patients' consents",
        )


def do_record_consent(
    actor: User,
    *,
    person_token: str,
    information: str,
    recipients: Iterable[Agency],
    purpose: str,
    signed_on: date,
    expires_on: date | None = None,
    expiry_event: str = "",
) -> Consent:
    """Register a signed Part 2 consent for a patient of the actor's own agency."""
    if actor.agency is None:
        raise GovernanceError("forbidden", f"user {actor.username} belongs to no agency")
    agency = actor.agency
    _check_consent_actor(actor, agency)
    recipient_list = list(recipients)
    with transaction.atomic():
        consent = Consent(
            code=_next_code(Consent, "CON"),
            person_token=person_token.strip(),
            disclosing_agency=agency,
            information=information.strip(),
            purpose=purpose,
            signed_on=signed_on,
            expires_on=expires_on,
            expiry_event=expiry_event.strip(),
            recorded_by=actor,
        )
        try:
            core.Consent(
                id=consent.code,
                person_token=consent.person_token,
                disclosing_agency=agency.code,
                information=consent.information,
                recipients=frozenset(a.code for a in recipient_list),
                purpose=purpose,
                signed_on=signed_on,
                expires_on=expires_on,
                expiry_event=consent.expiry_event,
            )
        except core.AgreementError as exc:
            raise GovernanceError("invalid", str(exc)) from exc
        consent.save()
        consent.recipients.set(recipient_list)
        record(
            CONSENT_RECORDED,
            actor=actor,
            agency=agency,
            target=f"consent:{consent.code}",
            details={
                "recipients": sorted(a.code for a in recipient_list),
                "purpose": purpose,
                "expires_on": expires_on.isoformat() if expires_on else None,
            },
        )
    return consent


def do_revoke_consent(actor: User, consent: Consent, reason: str) -> Consent:
    """Revoke a consent from now on; the next governed read already excludes the patient."""
    _check_consent_actor(actor, consent.disclosing_agency)
    if not reason.strip():
        raise GovernanceError("invalid", "field 'reason': say why the consent is revoked")
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(pk=consent.pk)
        if locked.revoked_at is not None:
            raise GovernanceError("conflict", f"consent {locked.code} is already revoked")
        locked.revoked_at = timezone.now()
        locked.revocation_reason = reason.strip()
        locked.save(update_fields=["revoked_at", "revocation_reason"])
        record(
            CONSENT_REVOKED,
            actor=actor,
            agency=actor.agency,
            target=f"consent:{locked.code}",
            details={"reason": locked.revocation_reason},
        )
    return locked
