"""Care records: directory entries (HSDS documents), field encounters, referrals with their
status history, notifications, follow-up tasks and triage calls.

A person appears only as the hub pseudonym (``person_token``): no names, no dates of birth, no
free-text notes. The one exception is the referral's contact card (name and how to reach the
person), kept only sealed to the receiving agency's public key (``AgencyKey``); the hub cannot
open it. State changes go through ``wellbeat.web.care.actions``.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from wellbeat.care.fhir import ReferralRecord
from wellbeat.care.hsds import DirectoryService, service_from_hsds
from wellbeat.care.lifecycle import TaskStatus
from wellbeat.care.measures import CallOutcome
from wellbeat.care.sealing import WrappedKey
from wellbeat.care.triage import CONFLICT_PREFIX, Response

STATUS_CHOICES = [(s.value, s.label) for s in TaskStatus]
RESPONSE_CHOICES = [(r.value, r.label) for r in Response]
OUTCOME_CHOICES = [(o.value, o.label) for o in CallOutcome]


class PlaceType(models.TextChoices):
    STREET = "street", "Street or public space"
    RESIDENCE = "residence", "Residence"
    BUSINESS = "business", "Business"
    SHELTER = "shelter", "Shelter or camp"
    TRANSIT = "transit", "Transit"
    HEALTHCARE = "healthcare", "Healthcare facility"
    OTHER = "other", "Other"


class ResponderRole(models.TextChoices):
    OFFICER = "officer", "Officer"
    CO_RESPONDER = "co_responder", "Co-responder clinician"


class DirectoryEntry(models.Model):
    """One HSDS 3.0 service, stored as its document with the fields search and routing use."""

    service_id = models.CharField(max_length=36, unique=True)
    name = models.CharField(max_length=300)
    status = models.CharField(max_length=32)
    organization_name = models.CharField(max_length=300, blank=True, default="")
    agency_code = models.CharField(
        max_length=32, blank=True, default="", help_text="Hub agency code named in the document"
    )
    agency = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="directory_entries",
        help_text="The hub agency that runs the service and works its queue",
    )
    needs = models.JSONField(default=list, blank=True)
    part2_program = models.BooleanField(default=False)
    accepting_referrals = models.BooleanField(default=False)
    first_contact_hours = models.PositiveIntegerField(null=True, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)
    document_json = models.TextField(
        help_text="The HSDS service document as imported, as JSON text (key order kept)"
    )
    position = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "service_id"]
        verbose_name_plural = "directory entries"

    def __str__(self) -> str:
        return f"{self.name} ({self.organization_name})"

    @property
    def document(self) -> dict[str, Any]:
        """The HSDS document. Kept as text rather than a JSON column so that an export returns
        the imported bytes on every database (PostgreSQL's jsonb reorders keys)."""
        cached = getattr(self, "_document_cache", None)
        if cached is None or cached[0] is not self.document_json:
            cached = (self.document_json, json.loads(self.document_json))
            self._document_cache = cached
        return cached[1]

    @document.setter
    def document(self, value: dict[str, Any]) -> None:
        self.document_json = json.dumps(value, ensure_ascii=False)

    def view(self) -> DirectoryService:
        return service_from_hsds(self.document)

    @property
    def takes_referrals(self) -> bool:
        return self.status == "active" and self.accepting_referrals and self.agency_id is not None


class AgencyKey(models.Model):
    """A provider agency's keypair for sealed contact cards (``wellbeat.care.sealing``): the
    public key, and the private key only wrapped under the agency's passphrase, which the hub
    never stores. An agency may have retired keys: cards sealed to them stay readable."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="contact_keys"
    )
    public_key = models.BinaryField()
    wrapped_private_key = models.BinaryField()
    salt = models.BinaryField()
    opslimit = models.PositiveBigIntegerField()
    memlimit = models.PositiveBigIntegerField()
    fingerprint = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agency", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency"],
                condition=models.Q(retired_at__isnull=True),
                name="one_current_contact_key_per_agency",
            )
        ]

    def __str__(self) -> str:
        return f"contact key {self.fingerprint} ({self.agency_id})"

    def wrapped(self) -> WrappedKey:
        return WrappedKey(
            public_key=bytes(self.public_key),
            wrapped_private_key=bytes(self.wrapped_private_key),
            salt=bytes(self.salt),
            opslimit=self.opslimit,
            memlimit=self.memlimit,
        )


class ContactStatus(StrEnum):
    """Whether a referral carries the person's name and contact details."""

    SEALED = "sealed"
    NOT_CONSENTED = "not_consented"
    NOT_GIVEN = "not_given"
    NO_KEY = "no_key"


CONTACT_STATUS_CHOICES = [
    (ContactStatus.SEALED.value, "Sealed for the provider"),
    (ContactStatus.NOT_CONSENTED.value, "The person did not agree to share contact details"),
    (ContactStatus.NOT_GIVEN.value, "No contact details given"),
    (ContactStatus.NO_KEY.value, "The provider has no key for contact details yet"),
]


class Encounter(models.Model):
    """A field contact by an officer or co-responder: place, time, observed needs, crisis,
    and whether the person agreed to be referred."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    responder_role = models.CharField(max_length=16, choices=ResponderRole.choices)
    person_token = models.CharField(max_length=80, db_index=True)
    occurred_at = models.DateTimeField()
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    place_type = models.CharField(max_length=16, choices=PlaceType.choices)
    needs = models.JSONField(default=list)
    crisis = models.BooleanField(default=False)
    consent_to_refer = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]

    def __str__(self) -> str:
        return f"encounter {self.public_id} ({self.agency_id})"


class Referral(models.Model):
    """A closed-loop referral (FHIR ServiceRequest + Task) from an agency to a service."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    person_token = models.CharField(max_length=80, db_index=True)
    entry = models.ForeignKey(
        DirectoryEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    service_id = models.CharField(max_length=36)
    service_name = models.CharField(max_length=300)
    referrer_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="referrals_sent"
    )
    performer_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="referrals_received"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    needs = models.JSONField(default=list)
    part2 = models.BooleanField(default=False)
    consent_code = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    status_reason = models.TextField(blank=True, default="")
    authored_on = models.DateTimeField(default=timezone.now)
    last_modified = models.DateTimeField(default=timezone.now)
    requested_at = models.DateTimeField(null=True, blank=True)
    first_contact_due = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    contact_status = models.CharField(
        max_length=16, choices=CONTACT_STATUS_CHOICES, default=ContactStatus.NOT_GIVEN.value
    )
    contact_sealed = models.BinaryField(
        null=True,
        blank=True,
        help_text="The contact card sealed to contact_key's agency; the hub cannot open it",
    )
    contact_key = models.ForeignKey(
        AgencyKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-authored_on", "-pk"]

    def __str__(self) -> str:
        return f"referral {self.public_id} -> {self.service_name}"

    @property
    def task_status(self) -> TaskStatus:
        return TaskStatus(self.status)

    def to_record(self) -> ReferralRecord:
        return ReferralRecord(
            id=str(self.public_id),
            person_token=self.person_token,
            service_id=self.service_id,
            service_name=self.service_name,
            needs=tuple(self.needs or ()),
            requester_agency=self.referrer_agency.code,
            performer_agency=self.performer_agency.code,
            status=self.task_status,
            status_reason=self.status_reason,
            authored_on=self.authored_on,
            last_modified=self.last_modified,
            first_contact_at=self.first_contact_at,
            closed_at=self.closed_at,
            part2=self.part2,
            consent_id=self.consent_code or None,
        )


class ReferralEvent(models.Model):
    """The referral's history: every status change with who, which side, when and why."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20)
    side = models.CharField(max_length=16)
    reason = models.TextField(blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]


class Notification(models.Model):
    """A message to a user about a referral they made (every status change)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_notifications"
    )
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class FollowUp(models.Model):
    """A task for care coordinators: a referral had no first contact in the promised time."""

    KIND_OVERDUE = "overdue_first_contact"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="followups")
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, default=KIND_OVERDUE)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["resolved_at", "due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "kind"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_followup_per_referral_and_kind",
            )
        ]


class TriageCall(models.Model):
    """A 911 call with the triage recommendation, the response actually sent and the outcome.
    Only the keyword groups the narrative matched are kept, never the narrative itself; the
    reasons quote the rules' keywords and cues ("no weapon"), not the narrative's words."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField()
    call_type = models.CharField(max_length=32, blank=True, default="")
    apco_code = models.CharField(max_length=16, blank=True, default="")
    dispatch_code = models.CharField(max_length=16, blank=True, default="")
    keyword_groups = models.JSONField(default=list, blank=True)
    weapon = models.BooleanField(null=True, blank=True)
    violence = models.BooleanField(null=True, blank=True)
    medical = models.BooleanField(null=True, blank=True)
    area = models.CharField(max_length=64, blank=True, default="")
    person_token = models.CharField(max_length=80, blank=True, default="", db_index=True)
    recommended_response = models.CharField(max_length=32, choices=RESPONSE_CHOICES)
    rule_id = models.CharField(max_length=64)
    rules_version = models.CharField(max_length=120)
    reasons = models.JSONField(default=list)
    eligible = models.BooleanField(default=False)
    behavioral_health = models.BooleanField(default=False)
    actual_response = models.CharField(
        max_length=32, choices=RESPONSE_CHOICES, blank=True, default=""
    )
    outcome = models.CharField(max_length=32, choices=OUTCOME_CHOICES, blank=True, default="")
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    @property
    def conflicts(self) -> list[str]:
        """The narrative / field disagreements among the reasons (shown apart, first)."""
        return [
            r.removeprefix(CONFLICT_PREFIX) for r in self.reasons if r.startswith(CONFLICT_PREFIX)
        ]

    @property
    def other_reasons(self) -> list[str]:
        return [r for r in self.reasons if not r.startswith(CONFLICT_PREFIX)]
