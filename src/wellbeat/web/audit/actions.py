"""Writing audit entries. Every state change and every governed read calls ``record`` inside
its own transaction, so the change and its audit row commit or roll back together."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from wellbeat.web.audit.chain import GENESIS_HASH, canonical_details, entry_digest
from wellbeat.web.audit.checkpoints import checkpoint_after_commit
from wellbeat.web.audit.models import AuditEntry, AuditHead

if TYPE_CHECKING:
    from wellbeat.web.accounts.models import Agency, User

# Action names used by the hub core; other apps use their own dotted names
# (e.g. "agreement.approved", "governed.read", "export").
LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
LOGIN_LOCKED = "login.locked"
LOGOUT = "logout"
SESSION_EXPIRED = "session.expired"
TOTP_ENROLLED = "totp.enrolled"
TOTP_RESET = "totp.reset"
USER_CREATED = "user.created"
ROLES_CHANGED = "user.roles_changed"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
INVITATION_ISSUED = "user.invitation_issued"
INVITATION_ACCEPTED = "user.invitation_accepted"
AGENCY_CREATED = "agency.created"
TOKEN_CREATED = "token.created"
TOKEN_REVOKED = "token.revoked"
BATCH_UPLOADED = "batch.uploaded"
BATCH_REJECTED = "batch.rejected"
AUDIT_EXPORTED = "audit.exported"
AUDIT_VERIFIED = "audit.verified"

_ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def record(
    action: str,
    *,
    actor: User | None,
    agency: Agency | None,
    target: str = "",
    details: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Append one entry to the chain. ``actor_label`` names a non-user actor (an API token,
    a CLI command) when ``actor`` is None."""
    if not _ACTION_PATTERN.match(action):
        raise ValueError(
            f"audit action {action!r}: expected lower-case dotted words, e.g. 'agreement.approved'"
        )
    if len(target) > 300:
        raise ValueError(f"audit target is {len(target)} characters; at most 300 allowed")
    clean_details = canonical_details(details)
    target = target.replace("\x00", "\ufffd")
    actor_username = actor.get_username() if actor is not None else actor_label
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_seq": 0, "last_hash": GENESIS_HASH}
        )
        seq = head.last_seq + 1
        at = timezone.now()
        agency_id = agency.pk if agency is not None else None
        agency_code = agency.code if agency is not None else ""
        actor_id = actor.pk if actor is not None else None
        digest = entry_digest(
            seq=seq,
            at=at,
            action=action,
            actor_id=actor_id,
            actor_username=actor_username,
            agency_id=agency_id,
            agency_code=agency_code,
            target=target,
            details=clean_details,
            prev_hash=head.last_hash,
        )
        entry = AuditEntry.objects.create(
            seq=seq,
            at=at,
            action=action,
            actor_id=actor_id,
            actor_username=actor_username,
            agency_id=agency_id,
            agency_code=agency_code,
            target=target,
            details=clean_details,
            prev_hash=head.last_hash,
            entry_hash=digest,
        )
        head.last_seq = seq
        head.last_hash = digest
        head.save(update_fields=["last_seq", "last_hash"])
        checkpoint_after_commit(seq)
    return entry
