"""Agency contact keys and sealed contact cards: creating and re-wrapping keys, unlocking
them for a session (throttled, audited) and opening the cards a user may read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from nacl.public import PrivateKey

from wellbeat.care.lifecycle import (
    Side,
)
from wellbeat.care.sealing import (
    ContactCard,
    SealingError,
    unseal,
    unwrap_private_key,
    wrap_private_key,
)
from wellbeat.care.sealing import new_agency_key as new_wrapped_key
from wellbeat.web.accounts.models import Agency, User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.access import access_for
from wellbeat.web.care.actions.common import (
    CONTACT_READER_ROLES,
    KEY_ADMIN_ROLES,
    CareError,
    _require,
    _roles,
)
from wellbeat.web.care.models import (
    AgencyKey,
    ContactStatus,
    Referral,
)


def current_key(agency: Agency | int | None) -> AgencyKey | None:
    """The agency's key that new contact cards are sealed to (None: it has none yet)."""
    if agency is None:
        return None
    return AgencyKey.objects.filter(agency=agency, retired_at__isnull=True).first()


def do_create_agency_key(actor: User, passphrase: str) -> AgencyKey:
    """The agency admin creates the agency's contact key (retiring the current one, whose
    cards stay readable with the same passphrase). The passphrase is not stored."""
    agency = _require(actor, KEY_ADMIN_ROLES, "creating the agency's contact key")
    others = list(AgencyKey.objects.filter(agency=agency))
    for other in others:  # one passphrase opens all of the agency's keys
        try:
            unwrap_private_key(other.wrapped(), passphrase)
        except SealingError:
            raise CareError(
                "invalid",
                "field 'passphrase': use the agency's current passphrase, so that one "
                "passphrase keeps opening the cards sealed to the earlier keys",
            ) from None
    try:
        wrapped = new_wrapped_key(passphrase)
    except SealingError as exc:
        raise CareError("invalid", str(exc)) from exc
    now = timezone.now()
    with transaction.atomic():
        AgencyKey.objects.filter(agency=agency, retired_at__isnull=True).update(retired_at=now)
        key = AgencyKey.objects.create(
            agency=agency,
            public_key=wrapped.public_key,
            wrapped_private_key=wrapped.wrapped_private_key,
            salt=wrapped.salt,
            opslimit=wrapped.opslimit,
            memlimit=wrapped.memlimit,
            fingerprint=wrapped.fingerprint,
            created_at=now,
            created_by=actor,
        )
        record(
            "care.contact_key_created",
            actor=actor,
            agency=agency,
            target=f"contact_key:{key.fingerprint}",
            details={"retired": [k.fingerprint for k in others if k.retired_at is None]},
        )
    return key


def do_change_key_passphrase(actor: User, old: str, new: str) -> int:
    """Re-wrap every key of the agency under a new passphrase (the old one must open them)."""
    agency = _require(actor, KEY_ADMIN_ROLES, "changing the agency's key passphrase")
    keys = list(AgencyKey.objects.filter(agency=agency))
    if not keys:
        raise CareError("conflict", f"{agency.code} has no contact key yet: create one first")
    try:
        rewrapped = [
            (key, wrap_private_key(unwrap_private_key(key.wrapped(), old), new)) for key in keys
        ]
    except SealingError as exc:
        record(
            "care.contact_key_passphrase_refused",
            actor=actor,
            agency=agency,
            target=f"agency:{agency.code}",
            details={"reason": "passphrase did not open the keys or new one too short"},
        )
        raise CareError("invalid", str(exc)) from exc
    with transaction.atomic():
        for key, wrapped in rewrapped:
            key.wrapped_private_key = wrapped.wrapped_private_key
            key.salt = wrapped.salt
            key.opslimit = wrapped.opslimit
            key.memlimit = wrapped.memlimit
            key.save(update_fields=["wrapped_private_key", "salt", "opslimit", "memlimit"])
        record(
            "care.contact_key_passphrase_changed",
            actor=actor,
            agency=agency,
            target=f"agency:{agency.code}",
            details={"keys": [k.fingerprint for k in keys]},
        )
    return len(keys)


def may_read_contacts(user: User) -> bool:
    """Clinicians and care coordinators of an agency (the receiving side of its referrals)."""
    return user.agency_id is not None and _roles(user, CONTACT_READER_ROLES)


UNLOCK_ATTEMPTS = 5
UNLOCK_WINDOW = timedelta(minutes=15)
"""At most this many refused unlocks per user in the window: passphrase guessing through the
hub is slow, and each attempt's Argon2id cost cannot be turned against the server."""


def do_unlock_contact_keys(actor: User, passphrase: str) -> dict[int, PrivateKey]:
    """Open the actor's agency keys with the agency passphrase, for this session only (the
    caller keeps them; see ``wellbeat.web.care.unlock``). Attempts are audited, and refused
    ones throttled (``UNLOCK_ATTEMPTS`` per ``UNLOCK_WINDOW``)."""
    from wellbeat.web.audit.models import AuditEntry

    agency = _require(actor, CONTACT_READER_ROLES, "unlocking contact details")
    keys = list(AgencyKey.objects.filter(agency=agency))
    if not keys:
        raise CareError("conflict", f"{agency.code} has no contact key: ask your agency admin")
    refused = AuditEntry.objects.filter(
        action="care.contact_keys_unlock_refused",
        actor=actor,
        at__gte=timezone.now() - UNLOCK_WINDOW,
    ).count()
    if refused >= UNLOCK_ATTEMPTS:
        raise CareError(
            "conflict",
            f"{refused} wrong passphrases in the last {UNLOCK_WINDOW.seconds // 60} minutes: "
            "wait before trying again",
        )
    opened: dict[int, PrivateKey] = {}
    for key in keys:
        try:
            opened[key.pk] = unwrap_private_key(key.wrapped(), passphrase)
        except SealingError:
            continue
    record(
        "care.contact_keys_unlocked" if opened else "care.contact_keys_unlock_refused",
        actor=actor,
        agency=agency,
        target=f"agency:{agency.code}",
        details={"keys": [k.fingerprint for k in keys if k.pk in opened]},
    )
    if not opened:
        raise CareError("forbidden", "that passphrase does not open your agency's contact key")
    return opened


def do_reveal_contacts(
    actor: User, referrals: Sequence[Referral], keys: dict[int, PrivateKey], where: str
) -> dict[int, ContactCard]:
    """Open the sealed contact cards of ``referrals`` that ``actor`` may read: a clinician or
    coordinator of the receiving agency, the referral readable now (Part 2 consent in force),
    its card sealed to a key unlocked in this session. One audit row names the referrals
    opened (never what the cards say)."""
    if not keys or not may_read_contacts(actor):
        return {}
    cards: dict[int, ContactCard] = {}
    for referral in referrals:
        if (
            referral.contact_status != ContactStatus.SEALED.value
            or referral.performer_agency_id != actor.agency_id
            or referral.contact_key_id not in keys
            or referral.contact_sealed is None
        ):
            continue
        access = access_for(actor, referral)
        if access is None or not access.readable or Side.PERFORMER not in access.sides:
            continue
        try:
            cards[referral.pk] = unseal(
                bytes(referral.contact_sealed), keys[referral.contact_key_id]
            )
        except SealingError:
            continue
    if cards:
        record(
            "care.contacts_revealed",
            actor=actor,
            agency=actor.agency,
            target=where,
            details={"referrals": [str(r.public_id) for r in referrals if r.pk in cards]},
        )
    return cards
