"""Every care state change and every read of a person's referral: each ``do_*`` checks who may
act, owns its transaction, and writes the audit row (refusals are audited too).

Privacy rules enforced here: the person is held only by the hub pseudonym (computed from what
the officer types, never stored); officers see a referral's status, never its clinical detail;
a referral into a Part 2 program needs a valid 42 CFR Part 2 consent to be made and to be read,
so a revocation stops sharing at the next read. The person's name and contact details travel
only as a card sealed to the receiving agency's key, only if the person agreed to share them
with that provider, and are opened only for that agency's clinicians and care coordinators who
unlocked the agency key (``wellbeat.care.sealing``); the plaintext is never stored or audited.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from nacl.public import PrivateKey

from wellbeat.care import triage
from wellbeat.care.consent import ConsentDecision, part2_consent
from wellbeat.care.fhir import (
    ConsentRecord,
    FhirError,
    ReferralRecord,
    read_referral_bundle,
    referral_bundle,
)
from wellbeat.care.hsds import (
    ServiceUpdate,
    service_from_hsds,
    update_service_document,
    validate_directory,
)
from wellbeat.care.lifecycle import (
    AWAITING_FIRST_CONTACT,
    CLOSED_STATUSES,
    Side,
    TaskStatus,
    TransitionError,
    check_transition,
    first_contact_due,
    is_overdue,
    parse_status,
)
from wellbeat.care.measures import CallOutcome
from wellbeat.care.needs import NeedError, check_needs
from wellbeat.care.sealing import (
    ContactCard,
    SealingError,
    seal,
    unseal,
    unwrap_private_key,
    wrap_private_key,
)
from wellbeat.care.sealing import new_agency_key as new_wrapped_key
from wellbeat.privacy.pseudonym import Identity, person_token
from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.models import (
    AgencyKey,
    ContactStatus,
    DirectoryEntry,
    Encounter,
    FollowUp,
    Notification,
    PlaceType,
    Referral,
    ReferralEvent,
    ResponderRole,
    TriageCall,
)
from wellbeat.web.governance.models import Consent

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


class CareError(Exception):
    """A refused care action. ``code``: forbidden, not_found, conflict, invalid,
    consent_required."""

    STATUS = {"forbidden": 403, "not_found": 404, "conflict": 409, "invalid": 422}

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def http_status(self) -> int:
        return self.STATUS.get(self.code, 403)


def _roles(user: User, roles: Iterable[str]) -> bool:
    return any(user.has_role(role) for role in roles)


def _require(user: User, roles: frozenset[str], what: str) -> Agency:
    if user.agency is None:
        raise CareError("forbidden", f"user {user.username} belongs to no agency and cannot {what}")
    if not _roles(user, roles):
        raise CareError("forbidden", f"{what} needs one of the roles: {', '.join(sorted(roles))}")
    return user.agency


# --------------------------------------------------------------------------------------------
# Directory


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    unknown_agencies: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "unknown_agencies": list(self.unknown_agencies),
            "warnings": list(self.warnings),
        }


def _entry_fields(document: dict[str, Any]) -> dict[str, Any]:
    view = service_from_hsds(document)
    agency = Agency.objects.filter(code=view.agency).first() if view.agency else None
    return {
        "name": view.name,
        "status": view.status,
        "organization_name": view.organization_name,
        "agency_code": view.agency or "",
        "agency": agency,
        "needs": list(view.needs),
        "part2_program": view.part2_program,
        "accepting_referrals": view.accepting_referrals,
        "first_contact_hours": view.first_contact_hours,
        "last_modified": view.last_modified,
        "document": document,
    }


def do_import_directory(
    documents: Sequence[dict[str, Any]], *, actor: User | None = None, actor_label: str = ""
) -> ImportResult:
    """Insert or replace services by HSDS id (all or nothing). Documents must already be valid
    HSDS 3.0 (``wellbeat.care.hsds.read_directory``); they are stored exactly as given."""
    if actor is not None and not actor.has_role(Role.HUB_ADMIN.value):
        raise CareError("forbidden", "importing the service directory needs the hub_admin role")
    problems = validate_directory(list(documents))
    if problems:
        raise CareError(
            "invalid",
            f"not valid HSDS 3.0: {'; '.join(str(p) for p in problems[:5])}",
            {"problems": [str(p) for p in problems]},
        )
    created = updated = unchanged = 0
    unknown: set[str] = set()
    warnings: list[str] = []
    with transaction.atomic():
        next_position = (DirectoryEntry.objects.aggregate(m=Max("position"))["m"] or 0) + 1
        for document in documents:
            fields = _entry_fields(document)
            if fields["agency_code"] and fields["agency"] is None:
                unknown.add(fields["agency_code"])
            warnings.extend(f"{fields['name']}: {w}" for w in service_from_hsds(document).warnings)
            existing = DirectoryEntry.objects.filter(service_id=document["id"]).first()
            if existing is None:
                DirectoryEntry.objects.create(
                    service_id=document["id"], position=next_position, **fields
                )
                next_position += 1
                created += 1
            elif existing.document == document:
                if existing.agency != fields["agency"]:
                    # The agency joined the hub after the first import: link it now.
                    existing.agency = fields["agency"]
                    existing.save(update_fields=["agency"])
                unchanged += 1
            else:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.updated_at = timezone.now()
                existing.save()
                updated += 1
        result = ImportResult(created, updated, unchanged, tuple(sorted(unknown)), tuple(warnings))
        record(
            "care.directory_imported",
            actor=actor,
            agency=actor.agency if actor else None,
            target="directory",
            details={k: v for k, v in result.as_dict().items() if k != "warnings"},
            actor_label=actor_label,
        )
    return result


def directory_documents() -> list[dict[str, Any]]:
    """Every stored service document, in directory order (what an export writes)."""
    return [entry.document for entry in DirectoryEntry.objects.order_by("position", "service_id")]


def do_update_service(actor: User, entry: DirectoryEntry, update: ServiceUpdate) -> DirectoryEntry:
    """A provider keeps its own entry current (status, accepting referrals, first-contact
    promise, alert); the document records who changed what (HSDS metadata)."""
    agency = _require(actor, DIRECTORY_EDITOR_ROLES, "updating a directory entry")
    if entry.agency_id != agency.pk:
        raise CareError(
            "forbidden",
            f"{entry.name} is run by {entry.agency_code or 'an organisation outside the hub'}; "
            f"only its own staff may update it",
        )
    try:
        document = update_service_document(entry.document, update, actor.username, timezone.now())
    except ValueError as exc:
        raise CareError("invalid", str(exc)) from exc
    with transaction.atomic():
        for name, value in _entry_fields(document).items():
            setattr(entry, name, value)
        entry.updated_at = timezone.now()
        entry.save()
        record(
            "care.service_updated",
            actor=actor,
            agency=agency,
            target=f"service:{entry.service_id}",
            details={
                "fields": [m["field_name"] for m in document["metadata"][-4:]],
            },
        )
    return entry


# --------------------------------------------------------------------------------------------
# Encounters


def hub_person_token(identity: Identity) -> str:
    """The hub pseudonym for what the officer typed (the hub's key; names are not kept)."""
    from wellbeat.web.governance.service import hub_key

    token = person_token(hub_key(), identity)
    if token is None:
        raise CareError(
            "invalid",
            "fields 'first_name', 'last_name', 'date_of_birth': all three are needed to form "
            "the person's pseudonym",
        )
    return token


def do_record_encounter(
    actor: User,
    *,
    identity: Identity,
    occurred_at: datetime,
    place_type: str,
    needs: Iterable[str],
    crisis: bool,
    consent_to_refer: bool,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Encounter:
    """Record a field contact; the person is kept only as the hub pseudonym."""
    agency = _require(actor, ENCOUNTER_ROLES, "recording an encounter")
    try:
        observed = check_needs(needs, "field 'needs'")
    except NeedError as exc:
        raise CareError("invalid", str(exc)) from exc
    if place_type not in PlaceType.values:
        raise CareError(
            "invalid",
            f"field 'place_type': {place_type!r} is not one of {', '.join(PlaceType.values)}",
        )
    if (latitude is None) != (longitude is None):
        raise CareError("invalid", "fields 'latitude'/'longitude': give both or neither")
    if (
        latitude is not None
        and longitude is not None
        and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    ):
        raise CareError(
            "invalid", f"fields 'latitude'/'longitude': ({latitude}, {longitude}) is not WGS84"
        )
    if occurred_at > timezone.now() + timedelta(minutes=5):
        raise CareError("invalid", "field 'occurred_at': an encounter cannot be in the future")
    token = hub_person_token(identity)
    role = (
        ResponderRole.CO_RESPONDER
        if actor.has_role(Role.CLINICIAN.value) and not actor.has_role(Role.OFFICER.value)
        else ResponderRole.OFFICER
    )
    with transaction.atomic():
        encounter = Encounter.objects.create(
            agency=agency,
            recorded_by=actor,
            responder_role=role,
            person_token=token,
            occurred_at=occurred_at,
            latitude=round(latitude, COORDINATE_DECIMALS) if latitude is not None else None,
            longitude=round(longitude, COORDINATE_DECIMALS) if longitude is not None else None,
            place_type=place_type,
            needs=list(observed),
            crisis=crisis,
            consent_to_refer=consent_to_refer,
        )
        record(
            "care.encounter_recorded",
            actor=actor,
            agency=agency,
            target=f"encounter:{encounter.public_id}",
            details={
                "needs": list(observed),
                "crisis": crisis,
                "consent_to_refer": consent_to_refer,
            },
        )
    return encounter


def encounters_for(user: User) -> Any:
    """Encounters the user may see: those recorded by their agency."""
    if user.agency is None or not _roles(user, REFERRER_ROLES):
        return Encounter.objects.none()
    return Encounter.objects.filter(agency=user.agency)


# --------------------------------------------------------------------------------------------
# Consent


def consents_for(person_token: str) -> list[Any]:
    rows = (
        Consent.objects.select_related("disclosing_agency")
        .prefetch_related("recipients")
        .filter(person_token=person_token)
    )
    return [c.to_core() for c in rows]


def part2_decision(referral_token: str, a: Agency, b: Agency) -> ConsentDecision:
    return part2_consent(
        consents_for(referral_token), referral_token, a.code, b.code, timezone.now()
    )


# --------------------------------------------------------------------------------------------
# Referrals


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


# --------------------------------------------------------------------------------------------
# Contact keys and sealed contact cards


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


def sides_of(user: User, referral: Referral) -> set[Side]:
    """The sides of the referral the user acts for (by agency and role)."""
    sides: set[Side] = set()
    if user.agency_id is None:
        return sides
    if user.agency_id == referral.referrer_agency_id and _roles(user, REFERRER_ROLES):
        sides.add(Side.REQUESTER)
    if user.agency_id == referral.performer_agency_id and _roles(user, PERFORMER_ROLES):
        sides.add(Side.PERFORMER)
    return sides


def sees_clinical_detail(user: User, referral: Referral) -> bool:
    """Clinicians and care coordinators of either agency; never officers."""
    return bool(sides_of(user, referral)) and _roles(user, CLINICAL_ROLES)


@dataclass(frozen=True)
class ReferralAccess:
    """What one user may see of one referral right now."""

    referral: Referral
    sides: frozenset[Side]
    clinical: bool
    withheld: str = ""
    """Why the referral's content is withheld (Part 2 consent not in force), else empty."""

    @property
    def readable(self) -> bool:
        return not self.withheld


def access_for(user: User, referral: Referral) -> ReferralAccess | None:
    """The user's access to a referral (None: not a party); no audit (see do_open_referral)."""
    sides = sides_of(user, referral)
    if not sides:
        return None
    withheld = ""
    if referral.part2:
        decision = part2_decision(
            referral.person_token, referral.referrer_agency, referral.performer_agency
        )
        if not decision.allowed:
            withheld = (
                "Withheld under 42 CFR Part 2: the person's consent to share this referral is "
                f"no longer in force ({decision.reason})."
            )
    return ReferralAccess(
        referral, frozenset(sides), sees_clinical_detail(user, referral), withheld
    )


def do_open_referral(actor: User, referral: Referral) -> ReferralAccess:
    """Read one referral: refused to non-parties and, for Part 2 referrals, once the consent
    is no longer in force; the read (or refusal) is audited."""
    access = access_for(actor, referral)
    target = f"referral:{referral.public_id}"
    if access is None:
        record(
            "care.referral_read_refused",
            actor=actor,
            agency=actor.agency,
            target=target,
            details={"reason": "not a party"},
        )
        raise CareError("not_found", f"no referral {referral.public_id} that you may see")
    if access.withheld:
        record(
            "care.referral_read_refused",
            actor=actor,
            agency=actor.agency,
            target=target,
            details={"reason": "part2 consent not in force"},
        )
        raise CareError("consent_required", access.withheld)
    record(
        "care.referral_viewed",
        actor=actor,
        agency=actor.agency,
        target=target,
        details={"clinical": access.clinical, "sides": sorted(access.sides)},
    )
    return access


def record_list_access(actor: User, what: str, referrals: Sequence[Referral]) -> None:
    """Audit a page or API call that listed referrals (their ids, at most 200)."""
    record(
        "care.referrals_listed",
        actor=actor,
        agency=actor.agency,
        target=what,
        details={"count": len(referrals), "referrals": [str(r.public_id) for r in referrals[:200]]},
    )


def record_measures_export(actor: User, period: str, rows: int) -> None:
    """Audit a download of the care measures per period (counts only)."""
    record(
        "care.measures_exported",
        actor=actor,
        agency=actor.agency,
        target=f"care:measures:{period}",
        details={"period": period, "rows": rows},
    )


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


# --------------------------------------------------------------------------------------------
# Follow-ups


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


# --------------------------------------------------------------------------------------------
# Triage


def current_rules() -> triage.RuleSet:
    """The jurisdiction's rules: ``DATA_DIR/triage/rules.yaml`` if present, else Millbrook's."""
    path = Path(settings.DATA_DIR) / TRIAGE_RULES_FILE
    if path.is_file():
        return triage.load_rules(path)
    return triage.packaged_rules()


def do_record_call(
    actor: User, call: triage.Call, *, person_token: str = ""
) -> tuple[TriageCall, triage.Recommendation]:
    """Triage a call: store the facts (not the narrative), the recommendation and its reasons."""
    agency = _require(actor, TRIAGE_ROLES, "triaging a call")
    rules = current_rules()
    received = call.received_at or timezone.now()
    call = triage.Call(**{**call.__dict__, "received_at": received})
    recommendation = triage.recommend(rules, call)
    facts = triage.call_facts(rules, call)
    with transaction.atomic():
        row = TriageCall.objects.create(
            agency=agency,
            recorded_by=actor,
            received_at=received,
            call_type=call.call_type,
            apco_code=recommendation.apco_code or "",
            dispatch_code=call.dispatch_code,
            keyword_groups=list(recommendation.keyword_groups),
            weapon=call.weapon,
            violence=call.violence,
            medical=call.medical,
            area=call.area,
            person_token=person_token,
            recommended_response=recommendation.response.value,
            rule_id=recommendation.rule_id,
            rules_version=recommendation.rules_version,
            reasons=list(recommendation.reasons),
            eligible=recommendation.eligible_for_alternative,
            behavioral_health=facts.behavioral_health,
        )
        record(
            "care.triage_recorded",
            actor=actor,
            agency=agency,
            target=f"call:{row.public_id}",
            details={
                "recommended": row.recommended_response,
                "rule": row.rule_id,
                "rules": row.rules_version,
            },
        )
    return row, recommendation


def do_record_call_response(
    actor: User,
    call: TriageCall,
    actual_response: str,
    outcome: str,
    *,
    at: datetime | None = None,
) -> TriageCall:
    """Record what was actually sent and how the call ended (for every call); ``at`` when the
    outcome was known, if entered after the fact."""
    agency = _require(actor, TRIAGE_ROLES, "recording a call's outcome")
    if call.agency_id != agency.pk:
        raise CareError("not_found", f"no call {call.public_id} of your agency")
    try:
        response = triage.Response(actual_response)
    except ValueError:
        raise CareError(
            "invalid",
            f"field 'actual_response': {actual_response!r} is not one of "
            f"{', '.join(r.value for r in triage.Response)}",
        ) from None
    try:
        ended = CallOutcome(outcome)
    except ValueError:
        raise CareError(
            "invalid",
            f"field 'outcome': {outcome!r} is not one of {', '.join(o.value for o in CallOutcome)}",
        ) from None
    weapon_present = call.weapon is True or "weapon" in (call.keyword_groups or [])
    if weapon_present and response in triage.CIVILIAN_RESPONSES:
        raise CareError(
            "invalid",
            "field 'actual_response': a call with a weapon present is never handled by a "
            "civilian response; record the response actually sent",
        )
    with transaction.atomic():
        call.actual_response = response.value
        call.outcome = ended.value
        call.outcome_recorded_at = _when(at, "at")
        call.save()
        record(
            "care.triage_outcome_recorded",
            actor=actor,
            agency=agency,
            target=f"call:{call.public_id}",
            details={
                "response": response.value,
                "outcome": ended.value,
                "followed_recommendation": response.value == call.recommended_response,
            },
        )
    return call


# --------------------------------------------------------------------------------------------
# FHIR export


@dataclass
class FhirExport:
    bundle: dict[str, Any]
    referrals: int
    consents: int
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        return json.dumps(self.bundle, indent=2, ensure_ascii=False) + "\n"


def do_export_fhir(*, actor: User | None = None, actor_label: str = "") -> FhirExport:
    """Every referral and the Part 2 consents they rely on, as a FHIR R4 Bundle (audited).
    A Part 2 referral whose consent is no longer in force is left out (and counted)."""
    referrals = []
    withheld = 0
    for referral in Referral.objects.select_related("referrer_agency", "performer_agency").order_by(
        "pk"
    ):
        if (
            referral.part2
            and not part2_decision(
                referral.person_token, referral.referrer_agency, referral.performer_agency
            ).allowed
        ):
            withheld += 1
            continue
        referrals.append(referral)
    records: list[ReferralRecord] = [r.to_record() for r in referrals]
    codes = sorted({r.consent_code for r in referrals if r.consent_code})
    consents: list[ConsentRecord] = []
    for consent in (
        Consent.objects.filter(code__in=codes)
        .select_related("disclosing_agency")
        .prefetch_related("recipients")
        .order_by("code")
    ):
        consents.append(
            ConsentRecord(
                id=consent.code,
                person_token=consent.person_token,
                disclosing_agency=consent.disclosing_agency.code,
                recipients=tuple(sorted(a.code for a in consent.recipients.all())),
                purpose=consent.purpose,
                information=consent.information,
                signed_on=consent.signed_on,
                expires_on=consent.expires_on,
                expiry_event=consent.expiry_event,
                revoked_at=consent.revoked_at,
            )
        )
    bundle = referral_bundle(records, consents)
    record(
        "care.referrals_exported",
        actor=actor,
        agency=actor.agency if actor else None,
        target="fhir",
        details={"referrals": len(records), "consents": len(consents), "withheld": withheld},
        actor_label=actor_label,
    )
    warnings = (
        [f"{withheld} Part 2 referral(s) left out: their consent is no longer in force"]
        if withheld
        else []
    )
    return FhirExport(bundle, len(records), len(consents), warnings)


# --------------------------------------------------------------------------------------------
# FHIR import


@dataclass
class FhirImport:
    referrals_created: int = 0
    referrals_updated: int = 0
    referrals_unchanged: int = 0
    consents_created: int = 0
    consents_revoked: int = 0
    consents_unchanged: int = 0


_REQUESTER_STATUSES = frozenset(
    {TaskStatus.DRAFT, TaskStatus.REQUESTED, TaskStatus.CANCELLED, TaskStatus.ENTERED_IN_ERROR}
)


def _import_consent(rec: ConsentRecord, agencies: dict[str, Agency], result: FhirImport) -> None:
    from wellbeat import governance as core

    existing = Consent.objects.filter(code=rec.id).first()
    if existing is not None:
        if rec.revoked_at is not None and existing.revoked_at is None:
            existing.revoked_at = rec.revoked_at
            existing.revocation_reason = "revoked at the source (FHIR import)"
            existing.save(update_fields=["revoked_at", "revocation_reason"])
            result.consents_revoked += 1
        else:
            result.consents_unchanged += 1
        return
    core.Consent(
        id=rec.id,
        person_token=rec.person_token,
        disclosing_agency=rec.disclosing_agency,
        information=rec.information,
        recipients=frozenset(rec.recipients),
        purpose=rec.purpose,
        signed_on=rec.signed_on,
        expires_on=rec.expires_on,
        expiry_event=rec.expiry_event,
    )  # raises AgreementError on a consent missing a Part 2 element
    consent = Consent.objects.create(
        code=rec.id,
        person_token=rec.person_token,
        disclosing_agency=agencies[rec.disclosing_agency],
        information=rec.information,
        purpose=rec.purpose,
        signed_on=rec.signed_on,
        expires_on=rec.expires_on,
        expiry_event=rec.expiry_event,
        revoked_at=rec.revoked_at,
    )
    consent.recipients.set([agencies[code] for code in rec.recipients])
    result.consents_created += 1


def _referral_fields(rec: ReferralRecord, agencies: dict[str, Agency]) -> dict[str, Any]:
    entry = DirectoryEntry.objects.filter(service_id=rec.service_id).first()
    requested = None if rec.status is TaskStatus.DRAFT else rec.authored_on
    promised = entry.first_contact_hours if entry is not None else None
    return {
        "person_token": rec.person_token,
        "entry": entry,
        "service_id": rec.service_id,
        "service_name": rec.service_name,
        "referrer_agency": agencies[rec.requester_agency],
        "performer_agency": agencies[rec.performer_agency],
        "needs": list(rec.needs),
        "part2": rec.part2,
        "consent_code": rec.consent_id or "",
        "status": rec.status.value,
        "status_reason": rec.status_reason,
        "authored_on": rec.authored_on,
        "last_modified": rec.last_modified,
        "requested_at": requested,
        "first_contact_due": first_contact_due(requested, promised) if requested else None,
        "first_contact_at": rec.first_contact_at,
        "closed_at": rec.closed_at,
    }


def do_import_fhir(
    text: str, *, source: str = "bundle", actor: User | None = None, actor_label: str = ""
) -> FhirImport:
    """Bring a FHIR R4 Bundle of referrals (ServiceRequest + Task) and their Part 2 consents
    into the hub, as ``do_export_fhir`` writes them: new referrals are created, known ones
    (same id) take the bundle's state, identical ones are left alone, so importing an export
    changes nothing. All or nothing: any problem (unknown agency, a Part 2 referral without a
    consent in force, a malformed resource) refuses the whole bundle, naming each record."""
    from wellbeat.governance import AgreementError

    try:
        records, consents = read_referral_bundle(text, source)
    except FhirError as exc:
        raise CareError("invalid", str(exc)) from exc
    agencies = {a.code: a for a in Agency.objects.all()}
    problems: list[str] = []
    for c in consents:
        unknown = sorted({c.disclosing_agency, *c.recipients} - set(agencies))
        if unknown:
            problems.append(f"Consent {c.id}: agency {', '.join(unknown)} is not on this hub")
    for r in records:
        unknown = sorted({r.requester_agency, r.performer_agency} - set(agencies))
        if unknown:
            problems.append(f"Task {r.id}: agency {', '.join(unknown)} is not on this hub")
    if problems:
        raise CareError("invalid", f"{source}: " + "; ".join(problems))
    result = FhirImport()
    with transaction.atomic():
        for c in consents:
            try:
                _import_consent(c, agencies, result)
            except AgreementError as exc:
                problems.append(f"Consent {c.id}: {exc}")
        for r in records:
            # The Part 2 gate: a referral into SUD treatment flows only under a consent in
            # force (the bundle's own consents count: they were registered just above).
            if r.part2:
                decision = part2_decision(
                    r.person_token, agencies[r.requester_agency], agencies[r.performer_agency]
                )
                if not decision.allowed:
                    problems.append(f"Task {r.id}: Part 2 referral refused: {decision.reason}")
                    continue
            existing = Referral.objects.filter(public_id=r.id).first()
            if existing is not None and existing.to_record() == r:
                result.referrals_unchanged += 1
                continue
            fields = _referral_fields(r, agencies)
            previous = existing.status if existing is not None else ""
            if existing is None:
                referral = Referral.objects.create(public_id=r.id, **fields)
                result.referrals_created += 1
            else:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.save()
                referral = existing
                result.referrals_updated += 1
            if previous != referral.status:
                side = Side.REQUESTER if r.status in _REQUESTER_STATUSES else Side.PERFORMER
                ReferralEvent.objects.create(
                    referral=referral,
                    from_status=previous,
                    to_status=referral.status,
                    side=side.value,
                    reason=r.status_reason,
                    actor_agency=agencies[
                        r.requester_agency if side is Side.REQUESTER else r.performer_agency
                    ],
                    at=r.last_modified,
                )
        if problems:
            transaction.set_rollback(True)
        else:
            record(
                "care.referrals_imported",
                actor=actor,
                agency=actor.agency if actor else None,
                target="fhir",
                details={
                    "source": source,
                    "created": result.referrals_created,
                    "updated": result.referrals_updated,
                    "unchanged": result.referrals_unchanged,
                    "consents_created": result.consents_created,
                    "consents_revoked": result.consents_revoked,
                },
                actor_label=actor_label,
            )
    if problems:
        raise CareError("invalid", f"{source}: nothing imported: " + "; ".join(problems))
    return result
