"""Data-sharing agreements and 42 CFR Part 2 consents as plain, typed data.

The web app stores them in its database and hands these frozen values to the pure decision
functions in :mod:`wellbeat.governance.decision`; nothing here knows about Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from wellbeat.events.schema import Kind, Sector
from wellbeat.governance.resolution import PERIODS
from wellbeat.lake.query import ATTRIBUTE_BY_PREFIX, valid_attribute_dimension

PURPOSES: dict[str, str] = {
    "public_health_surveillance": "Public-health surveillance of injuries, overdoses and crises",
    "overdose_response": "Overdose spike detection and response (ODMAP-style)",
    "violence_prevention": "Violence prevention (Cardiff Model information sharing)",
    "crisis_response": "Planning and evaluating behavioural-health crisis response",
    "care_coordination": "Coordinating care for people known to several agencies",
    "program_evaluation": "Evaluating a program's effect",
    "research": "Research approved by an institutional review board",
}
"""The purposes an agreement or a request may name (one controlled vocabulary, shown in pages)."""

AGGREGATE_DIMENSIONS = ("agency", "sector", "kind", "syndrome", "sex", "age_band")
"""Dimensions an aggregate request may break counts down by (besides area and period)."""

SCOPED_DIMENSIONS = ("agency", "sector", "kind", "syndrome")
"""Breakdowns governed by an agreement's scope (provider, sectors, kinds, syndromes), not by its
``fields``. ``sex`` and ``age_band`` are quasi-identifiers: they need to be named in ``fields``,
as does every event attribute a recipient may filter or break counts down by
(``attribute:<name>``, e.g. ``attribute:race``)."""


def is_aggregate_dimension(dimension: str) -> bool:
    """One of ``AGGREGATE_DIMENSIONS`` or ``attribute:<name>`` with a valid name."""
    return dimension in AGGREGATE_DIMENSIONS or valid_attribute_dimension(dimension)


NEVER_RELEASED_COLUMNS = frozenset({"linkage_code"})
"""Lake columns no recipient ever receives from another agency: Bloom-filter linkage encodings
stay inside the hub, where only the linkage service compares them."""


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Granularity(StrEnum):
    AGGREGATE = "aggregate"
    """Counts only (suppressed, at or above the agreement's geography and time resolution)."""
    PERSON_LEVEL = "person_level"
    """Pseudonymous rows (re-keyed per agreement) as well as counts."""


class AgreementError(ValueError):
    """An agreement or consent whose fields are inconsistent; the message names the field."""


def _frozen(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


@dataclass(frozen=True)
class Agreement:
    """One signed data-sharing agreement: what a provider agency shares with a recipient.

    ``sectors``, ``kinds`` and ``syndromes`` are ``None`` for "any" and a set otherwise (an empty
    set allows nothing). ``finest_layer`` / ``finest_period`` of ``None`` allow no breakdown by
    place / time at all. ``recipient_roles`` empty means every role of the recipient agency.
    """

    id: str
    provider: str
    recipient: str
    purpose: str
    granularity: Granularity
    finest_layer: str | None
    finest_period: str | None
    min_cell: int
    valid_from: date
    valid_to: date | None = None
    status: AgreementStatus = AgreementStatus.DRAFT
    recipient_roles: frozenset[str] = field(default_factory=frozenset)
    sectors: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    syndromes: frozenset[str] | None = None
    fields: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in ("recipient_roles", "fields"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        for name in ("sectors", "kinds", "syndromes"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "granularity", Granularity(self.granularity))
        object.__setattr__(self, "status", AgreementStatus(self.status))
        for problem in agreement_problems(self):
            raise AgreementError(f"agreement {self.id}: {problem}")

    def in_force(self, today: date) -> bool:
        """Active and inside its validity window (both ends inclusive) on ``today``."""
        return effective_status(self, today) is AgreementStatus.ACTIVE

    def label(self) -> str:
        return f"{self.id} ({self.provider} -> {self.recipient}, {self.purpose})"


def agreement_problems(agreement: Agreement) -> list[str]:
    """Every inconsistency in an agreement's fields, each naming the field and what is expected."""
    problems: list[str] = []
    if not agreement.provider or not agreement.recipient:
        problems.append("field 'provider'/'recipient': both agency codes are required")
    elif agreement.provider == agreement.recipient:
        problems.append(
            f"field 'recipient': an agency does not need an agreement with itself "
            f"({agreement.provider} always sees its own data in full)"
        )
    if agreement.purpose not in PURPOSES:
        problems.append(
            f"field 'purpose': {agreement.purpose!r} is not one of {', '.join(sorted(PURPOSES))}"
        )
    if agreement.min_cell < 1:
        problems.append(f"field 'min_cell': must be >= 1, got {agreement.min_cell}")
    if agreement.finest_period is not None and agreement.finest_period not in PERIODS:
        problems.append(
            f"field 'finest_period': {agreement.finest_period!r} is not one of {', '.join(PERIODS)}"
        )
    if agreement.valid_to is not None and agreement.valid_to < agreement.valid_from:
        problems.append(
            f"field 'valid_to': {agreement.valid_to} is before valid_from {agreement.valid_from}"
        )
    known_sectors = {s.value for s in Sector}
    if agreement.sectors is not None and not agreement.sectors <= known_sectors:
        unknown = sorted(agreement.sectors - known_sectors)
        problems.append(f"field 'sectors': unknown sector(s) {', '.join(unknown)}")
    known_kinds = {k.value for k in Kind}
    if agreement.kinds is not None and not agreement.kinds <= known_kinds:
        unknown = sorted(agreement.kinds - known_kinds)
        problems.append(f"field 'kinds': unknown kind(s) {', '.join(unknown)}")
    bad_attributes = sorted(
        f
        for f in agreement.fields
        if f.startswith(ATTRIBUTE_BY_PREFIX) and not valid_attribute_dimension(f)
    )
    if bad_attributes:
        problems.append(
            f"field 'fields': {', '.join(bad_attributes)} is not attribute:<name> with a name "
            "matching [a-z][a-z0-9_]*"
        )
    blocked = agreement.fields & NEVER_RELEASED_COLUMNS
    if blocked:
        problems.append(
            f"field 'fields': {', '.join(sorted(blocked))} never leaves the hub "
            "(linkage runs inside the hub)"
        )
    return problems


def effective_status(agreement: Agreement, today: date) -> AgreementStatus:
    """The status that applies on ``today``: an active agreement past ``valid_to`` is expired,
    and one whose ``valid_from`` is still ahead is not yet in force (reported as draft)."""
    if agreement.status is not AgreementStatus.ACTIVE:
        return agreement.status
    if agreement.valid_to is not None and today > agreement.valid_to:
        return AgreementStatus.EXPIRED
    if today < agreement.valid_from:
        return AgreementStatus.DRAFT
    return AgreementStatus.ACTIVE


ALLOWED_TRANSITIONS: dict[AgreementStatus, frozenset[AgreementStatus]] = {
    AgreementStatus.DRAFT: frozenset({AgreementStatus.ACTIVE, AgreementStatus.REVOKED}),
    AgreementStatus.ACTIVE: frozenset({AgreementStatus.REVOKED, AgreementStatus.EXPIRED}),
    AgreementStatus.EXPIRED: frozenset(),
    AgreementStatus.REVOKED: frozenset(),
}
"""The lifecycle: a draft becomes active once an admin of each side approves it; a draft can be
withdrawn (revoked); an active agreement is revoked by either side or expires. Revoked and
expired are final: sharing again needs a new agreement, so history stays readable."""


def check_transition(current: AgreementStatus, new: AgreementStatus) -> None:
    """Raise AgreementError unless the lifecycle allows ``current -> new``."""
    if new not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "none (final)"
        raise AgreementError(
            f"an agreement cannot go from {current} to {new} (allowed from {current}: {allowed})"
        )


@dataclass(frozen=True)
class Consent:
    """A patient's written consent to disclose SUD treatment records (42 CFR 2.31 elements).

    The hub never holds names: the patient is identified by the disclosing agency's pseudonym
    (``person_token``); the signed form itself stays with the disclosing program. ``recipients``
    are agency codes. The consent ends on ``expires_on`` (inclusive) or on the ``expiry_event``
    (recorded as a revocation when it happens), whichever the form names.
    """

    id: str
    person_token: str
    disclosing_agency: str
    information: str
    recipients: frozenset[str]
    purpose: str
    signed_on: date
    expires_on: date | None = None
    expiry_event: str = ""
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipients", frozenset(self.recipients))
        for problem in consent_problems(self):
            raise AgreementError(f"consent {self.id}: {problem}")

    def permits(self, provider: str, recipient: str, purpose: str, now: datetime) -> bool:
        """True when this consent lets ``provider`` disclose to ``recipient`` for ``purpose``
        at ``now``: signed, not expired, not revoked (a revocation applies from its instant)."""
        today = now.date()
        return (
            self.disclosing_agency == provider
            and recipient in self.recipients
            and self.purpose == purpose
            and self.signed_on <= today
            and (self.expires_on is None or today <= self.expires_on)
            and (self.revoked_at is None or now < self.revoked_at)
        )


def consent_problems(consent: Consent) -> list[str]:
    """Missing or inconsistent Part 2 elements, each naming the field."""
    problems: list[str] = []
    if not consent.person_token:
        problems.append("field 'person_token': the patient's pseudonym is required")
    if not consent.disclosing_agency:
        problems.append("field 'disclosing_agency': who may disclose is required")
    if not consent.information.strip():
        problems.append(
            "field 'information': a specific description of the information is required"
        )
    if not consent.recipients:
        problems.append("field 'recipients': at least one recipient agency is required")
    if consent.purpose not in PURPOSES:
        problems.append(
            f"field 'purpose': {consent.purpose!r} is not one of {', '.join(sorted(PURPOSES))}"
        )
    if consent.expires_on is None and not consent.expiry_event.strip():
        problems.append(
            "field 'expires_on'/'expiry_event': Part 2 requires an expiry date or event"
        )
    if consent.expires_on is not None and consent.expires_on < consent.signed_on:
        problems.append(
            f"field 'expires_on': {consent.expires_on} is before the signature date "
            f"{consent.signed_on}"
        )
    return problems
