"""Referrals: making one (the Part 2 gate, the sealed contact card), moving it along the
FHIR Task lifecycle, and the lists each side works from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from wellbeat.care.lifecycle import (
    AWAITING_FIRST_CONTACT,
    CLOSED_STATUSES,
    Side,
    TaskStatus,
    TransitionError,
    check_transition,
    first_contact_due,
    parse_status,
)
from wellbeat.care.sealing import (
    ContactCard,
    seal,
)
from wellbeat.web.accounts.models import Agency, User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.access import access_for
from wellbeat.web.care.actions.common import (
    PERFORMER_ROLES,
    REFERRER_ROLES,
    CareError,
    _notify,
    _require,
    _roles,
    _when,
)
from wellbeat.web.care.actions.consent import part2_decision
from wellbeat.web.care.actions.contact_keys import current_key
from wellbeat.web.care.models import (
    AgencyKey,
    ContactStatus,
    DirectoryEntry,
    Encounter,
    FollowUp,
    Notification,
    Referral,
    ReferralEvent,
)


def do_refer(
    actor: User,
    encounter: Encounter,
    entry: DirectoryEntry,
    *,
    at: datetime | None = None,
    contact: ContactCard | None = None,
    contact_consent: bool = False,
) -> Referral:
    """Refer the person met in ``encounter`` to a service; sent at once (status requested),
    or at ``at`` when the referral is entered after the fact.

    ``contact``: the person's name and how to reach them. It is sealed to the receiving
    agency's current key, and only if ``contact_consent`` (the person agreed to share their
    contact details with this provider); otherwise it is dropped and the referral says why."""
    agency = _require(actor, REFERRER_ROLES, "making a referral")
    if encounter.agency_id != agency.pk:
        raise CareError(
            "forbidden", "only the agency that recorded the encounter may refer from it"
        )

    def refuse(code: str, message: str, details: dict[str, Any] | None = None) -> CareError:
        record(
            "care.referral_refused",
            actor=actor,
            agency=agency,
            target=f"encounter:{encounter.public_id}",
            details={"service": entry.service_id, "code": code, "reason": message},
        )
        return CareError(code, message, details)

    if not encounter.consent_to_refer:
        raise refuse(
            "conflict",
            "the person did not agree to be referred at this encounter; record their consent first",
        )
    if not entry.takes_referrals or entry.agency is None:
        why = (
            "is not active"
            if entry.status != "active"
            else "is not accepting referrals"
            if not entry.accepting_referrals
            else "is not run by a hub agency that could work the referral"
        )
        raise refuse("conflict", f"{entry.name} {why}")
    consent_code = ""
    if entry.part2_program:
        decision = part2_decision(encounter.person_token, agency, entry.agency)
        if not decision.allowed:
            raise refuse(
                "consent_required",
                f"Referral to {entry.name} refused: it is a substance-use-disorder treatment "
                f"program under 42 CFR Part 2, and the referral {decision.reason}.",
                {"person_token": encounter.person_token},
            )
        consent_code = decision.consent_id or ""
    now = _when(at, "at")
    contact_status, sealed, key = _seal_contact(entry.agency, contact, contact_consent)
    with transaction.atomic():
        referral = Referral.objects.create(
            encounter=encounter,
            person_token=encounter.person_token,
            entry=entry,
            service_id=entry.service_id,
            service_name=entry.name,
            referrer_agency=agency,
            performer_agency=entry.agency,
            requested_by=actor,
            needs=[n for n in encounter.needs if n in set(entry.needs)] or list(encounter.needs),
            part2=entry.part2_program,
            consent_code=consent_code,
            status=TaskStatus.REQUESTED.value,
            authored_on=now,
            last_modified=now,
            requested_at=now,
            first_contact_due=first_contact_due(now, entry.first_contact_hours),
            contact_status=contact_status,
            contact_sealed=sealed,
            contact_key=key,
        )
        ReferralEvent.objects.create(
            referral=referral,
            from_status="",
            to_status=TaskStatus.REQUESTED.value,
            side=Side.REQUESTER.value,
            actor=actor,
            actor_agency=agency,
            at=now,
        )
        record(
            "care.referral_requested",
            actor=actor,
            agency=agency,
            target=f"referral:{referral.public_id}",
            details={
                "service": entry.service_id,
                "performer": entry.agency.code,
                "part2": entry.part2_program,
                "consent": consent_code,
                "contact": contact_status,
                "contact_key": key.fingerprint if key else None,
            },
        )
    return referral


def _seal_contact(
    performer: Agency, contact: ContactCard | None, consented: bool
) -> tuple[str, bytes | None, AgencyKey | None]:
    """What the referral carries of the person's identity: (status, sealed card, key)."""
    if not consented:
        return ContactStatus.NOT_CONSENTED.value, None, None
    if contact is None:
        return ContactStatus.NOT_GIVEN.value, None, None
    key = current_key(performer)
    if key is None:
        return ContactStatus.NO_KEY.value, None, None
    return ContactStatus.SEALED.value, seal(contact, bytes(key.public_key)), key


def do_change_status(
    actor: User,
    referral: Referral,
    new: TaskStatus | str,
    reason: str = "",
    *,
    at: datetime | None = None,
) -> Referral:
    """Move a referral along the FHIR Task lifecycle; the referrer is notified of every change.
    ``at``: when the change happened, if it is entered after the fact (not before the last)."""
    try:
        target_status = parse_status(new)
    except TransitionError as exc:
        raise CareError(exc.code, str(exc)) from None
    with transaction.atomic():
        locked = (
            Referral.objects.select_for_update()
            .select_related("referrer_agency", "performer_agency")
            .get(pk=referral.pk)
        )
        access = access_for(actor, locked)
        if access is None:
            raise CareError("not_found", f"no referral {locked.public_id} that you may change")
        if access.withheld:
            raise CareError("consent_required", access.withheld)
        current = locked.task_status
        errors = []
        chosen: Side | None = None
        for side in sorted(access.sides, key=lambda s: s != Side.PERFORMER):
            try:
                check_transition(current, target_status, side, reason)
            except TransitionError as exc:
                errors.append(exc)
                continue
            chosen = side
            break
        if chosen is None:
            first = errors[0]
            raise CareError(first.code, str(first))
        now = _when(at, "at")
        if now < locked.last_modified:
            raise CareError(
                "invalid",
                f"field 'at': {now.isoformat()} is before the referral's last change "
                f"({locked.last_modified.isoformat()})",
            )
        locked.status = target_status.value
        locked.status_reason = reason.strip()
        locked.last_modified = now
        if target_status is TaskStatus.IN_PROGRESS and locked.first_contact_at is None:
            locked.first_contact_at = now
        if target_status in CLOSED_STATUSES and locked.closed_at is None:
            locked.closed_at = now
        locked.save()
        ReferralEvent.objects.create(
            referral=locked,
            from_status=current.value,
            to_status=target_status.value,
            side=chosen.value,
            reason=reason.strip(),
            actor=actor,
            actor_agency=actor.agency,
            at=now,
        )
        if target_status not in AWAITING_FIRST_CONTACT:
            FollowUp.objects.filter(referral=locked, resolved_at__isnull=True).update(
                resolved_at=now, resolution=f"referral moved to {target_status.value}"
            )
        _notify(
            locked,
            f"Referral to {locked.service_name}: {target_status.label} "
            f"(was {current.label.lower()}).",
            exclude=actor,
        )
        record(
            "care.referral_status_changed",
            actor=actor,
            agency=actor.agency,
            target=f"referral:{locked.public_id}",
            details={"from": current.value, "to": target_status.value, "side": chosen.value},
        )
    return locked


def referrals_sent_by(user: User) -> Any:
    return Referral.objects.filter(requested_by=user).select_related(
        "referrer_agency", "performer_agency", "encounter"
    )


def incoming_referrals(user: User) -> Any:
    """The provider's queue: referrals to services the user's agency runs."""
    if user.agency is None or not _roles(user, PERFORMER_ROLES):
        return Referral.objects.none()
    return Referral.objects.filter(performer_agency=user.agency).select_related(
        "referrer_agency", "performer_agency", "encounter"
    )


def agency_referrals(user: User) -> Any:
    """Referrals the user's agency sent or receives (coordinators' case list)."""
    if user.agency is None:
        return Referral.objects.none()
    return Referral.objects.filter(
        Q(referrer_agency=user.agency) | Q(performer_agency=user.agency)
    ).select_related("referrer_agency", "performer_agency")


def do_mark_notifications_read(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
