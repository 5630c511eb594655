"""What every care action shares: who may do what (the role sets), the refusal error,
the actor check, the time of a change entered after the fact and the referrer's notices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.care.models import (
    Notification,
    Referral,
)
from wellbeat.web.errors import ActionError

ENCOUNTER_ROLES = frozenset({Role.OFFICER.value, Role.CLINICIAN.value})
REFERRER_ROLES = frozenset(
    {Role.OFFICER.value, Role.CLINICIAN.value, Role.CARE_COORDINATOR.value, Role.AGENCY_ADMIN.value}
)
PERFORMER_ROLES = frozenset(
    {Role.CLINICIAN.value, Role.CARE_COORDINATOR.value, Role.AGENCY_ADMIN.value}
)
CLINICAL_ROLES = frozenset({Role.CLINICIAN.value, Role.CARE_COORDINATOR.value})
"""Roles that may see a referral's clinical detail (reasons, history), within its agencies."""
CONTACT_READER_ROLES = CLINICAL_ROLES
"""Roles of the receiving agency that may open a referral's sealed contact card."""
KEY_ADMIN_ROLES = frozenset({Role.AGENCY_ADMIN.value})
"""Who creates an agency's contact key and changes its passphrase."""
DIRECTORY_EDITOR_ROLES = PERFORMER_ROLES
TRIAGE_ROLES = frozenset({Role.OFFICER.value, Role.CLINICIAN.value, Role.PROGRAM_MANAGER.value})
MEASURE_ROLES = frozenset(
    {Role.PROGRAM_MANAGER.value, Role.CARE_COORDINATOR.value, Role.HUB_ADMIN.value}
)

TRIAGE_RULES_FILE = Path("triage") / "rules.yaml"
"""A jurisdiction's own rules in the data directory; the packaged Millbrook rules otherwise."""

COORDINATE_DECIMALS = 3
"""Encounter places are kept to ~100 m (minimum necessary for finding nearby services)."""


class CareError(ActionError):
    """A refused care action. ``code``: forbidden, not_found, conflict, invalid,
    consent_required (any other code answers 403)."""

    DEFAULT_STATUS = 403

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(code, message, details)


def _roles(user: User, roles: Iterable[str]) -> bool:
    return any(user.has_role(role) for role in roles)


def _require(user: User, roles: frozenset[str], what: str) -> Agency:
    if user.agency is None:
        raise CareError("forbidden", f"user {user.username} belongs to no agency and cannot {what}")
    if not _roles(user, roles):
        raise CareError("forbidden", f"{what} needs one of the roles: {', '.join(sorted(roles))}")
    return user.agency


def _notify(referral: Referral, message: str, exclude: User | None = None) -> None:
    if referral.requested_by_id and (exclude is None or referral.requested_by_id != exclude.pk):
        Notification.objects.create(
            user_id=referral.requested_by_id, referral=referral, message=message
        )


def _when(at: datetime | None, field_name: str) -> datetime:
    """``at`` (a change entered after the fact: an offline device syncing, a replay) or now;
    never in the future."""
    now = timezone.now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise CareError("invalid", f"field {field_name!r}: expected a timezone-aware time")
    if at > now + timedelta(minutes=5):
        raise CareError("invalid", f"field {field_name!r}: {at.isoformat()} is in the future")
    return at
