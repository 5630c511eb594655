"""Follow-ups: a coordinator's task for a referral with no first contact by the promised
time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from wellbeat.care.lifecycle import (
    AWAITING_FIRST_CONTACT,
    is_overdue,
)
from wellbeat.web.accounts.models import Role, User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.common import CareError, _notify
from wellbeat.web.care.models import (
    FollowUp,
    Referral,
)


def do_raise_overdue_followups(now: datetime | None = None) -> list[FollowUp]:
    """Open a follow-up task for each referral with no first contact by the service's promised
    time (once per referral); the referrer is told. Idempotent."""
    moment = now or timezone.now()
    raised = []
    candidates = Referral.objects.filter(
        status__in=[s.value for s in AWAITING_FIRST_CONTACT],
        first_contact_at__isnull=True,
        first_contact_due__lt=moment,
    ).exclude(followups__kind=FollowUp.KIND_OVERDUE, followups__resolved_at__isnull=True)
    for referral in candidates.select_related("performer_agency"):
        hours = referral.entry.first_contact_hours if referral.entry_id else None
        if not is_overdue(referral.task_status, referral.requested_at, None, hours, moment):
            continue
        with transaction.atomic():
            followup = FollowUp.objects.create(
                referral=referral,
                agency=referral.performer_agency,
                due_at=referral.first_contact_due,
            )
            _notify(
                referral,
                f"Referral to {referral.service_name}: no first contact yet; a "
                "care coordinator will follow up.",
            )
            record(
                "care.followup_raised",
                actor=None,
                agency=referral.performer_agency,
                target=f"referral:{referral.public_id}",
                details={
                    "due": referral.first_contact_due.isoformat()
                    if referral.first_contact_due
                    else None
                },
                actor_label="care.overdue_check",
            )
        raised.append(followup)
    return raised


def followups_for(user: User) -> Any:
    """Open follow-ups a coordinator works: for their agency's services or referrals."""
    if user.agency is None or not user.has_role(Role.CARE_COORDINATOR.value):
        return FollowUp.objects.none()
    return FollowUp.objects.filter(
        Q(agency=user.agency) | Q(referral__referrer_agency=user.agency), resolved_at__isnull=True
    ).select_related("referral", "agency")


def do_resolve_followup(actor: User, followup: FollowUp, resolution: str) -> FollowUp:
    """A coordinator closes a follow-up, saying what was done."""
    if not followups_for(actor).filter(pk=followup.pk).exists():
        raise CareError("not_found", f"no open follow-up {followup.pk} in your queue")
    if not resolution.strip():
        raise CareError("invalid", "field 'resolution': say what was done")
    with transaction.atomic():
        followup.resolved_at = timezone.now()
        followup.resolved_by = actor
        followup.resolution = resolution.strip()
        followup.save()
        record(
            "care.followup_resolved",
            actor=actor,
            agency=actor.agency,
            target=f"referral:{followup.referral.public_id}",
            details={"followup": followup.pk},
        )
    return followup
