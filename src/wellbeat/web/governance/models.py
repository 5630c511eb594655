"""Agreements (with per-side approvals and a full history) and Part 2 consents, as records.

The decisions themselves live in the framework-free ``wellbeat.governance``; ``to_core`` turns
a record into the frozen value those pure functions take.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from wellbeat import governance as core
from wellbeat.governance.agreements import PURPOSES
from wellbeat.governance.resolution import PERIODS

PURPOSE_CHOICES = [(key, label) for key, label in PURPOSES.items()]
STATUS_CHOICES = [(s.value, s.value.capitalize()) for s in core.AgreementStatus]
GRANULARITY_CHOICES = [
    (core.Granularity.AGGREGATE.value, "Aggregates only (suppressed counts)"),
    (core.Granularity.PERSON_LEVEL.value, "Person-level pseudonymous rows (re-keyed)"),
]
PERIOD_CHOICES = [(p, p.replace("_", " ")) for p in PERIODS]


class AgreementSide(models.TextChoices):
    PROVIDER = "provider", "Provider"
    RECIPIENT = "recipient", "Recipient"


class Agreement(models.Model):
    """A data-sharing agreement between a provider agency and a recipient agency.

    JSON list fields hold agency-independent codes; ``sectors``/``kinds``/``syndromes`` are
    null for "any". ``status`` moves only through ``wellbeat.web.governance.actions``."""

    code = models.CharField(max_length=32, unique=True, help_text="e.g. DSA-0003")
    title = models.CharField(max_length=200)
    provider = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="agreements_provided"
    )
    recipient = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="agreements_received"
    )
    recipient_roles = models.JSONField(default=list, blank=True)
    sectors = models.JSONField(null=True, blank=True)
    kinds = models.JSONField(null=True, blank=True)
    syndromes = models.JSONField(null=True, blank=True)
    fields = models.JSONField(default=list, blank=True)
    granularity = models.CharField(max_length=16, choices=GRANULARITY_CHOICES)
    finest_layer = models.CharField(max_length=64, blank=True, default="")
    finest_period = models.CharField(max_length=16, blank=True, default="", choices=PERIOD_CHOICES)
    min_cell = models.PositiveIntegerField(default=10)
    purpose = models.CharField(max_length=64, choices=PURPOSE_CHOICES)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default="draft")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    def to_core(self) -> core.Agreement:
        return core.Agreement(
            id=self.code,
            provider=self.provider.code,
            recipient=self.recipient.code,
            purpose=self.purpose,
            granularity=core.Granularity(self.granularity),
            finest_layer=self.finest_layer or None,
            finest_period=self.finest_period or None,
            min_cell=self.min_cell,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            status=core.AgreementStatus(self.status),
            recipient_roles=frozenset(self.recipient_roles or []),
            sectors=None if self.sectors is None else frozenset(self.sectors),
            kinds=None if self.kinds is None else frozenset(self.kinds),
            syndromes=None if self.syndromes is None else frozenset(self.syndromes),
            fields=frozenset(self.fields or []),
        )

    def effective_status(self, today: date | None = None) -> str:
        """The status in force today (an active agreement past valid_to reads as expired)."""
        return core.effective_status(self.to_core(), today or timezone.localdate()).value

    def side_of(self, agency_id: int | None) -> str | None:
        """ "provider" or "recipient" for an agency on this agreement; None for any other."""
        if agency_id == self.provider_id:
            return "provider"
        if agency_id == self.recipient_id:
            return "recipient"
        return None

    def approved_sides(self) -> set[str]:
        return {a.side for a in self.approvals.all()}


def visible_agreements(user: Any) -> models.QuerySet[Agreement]:
    """Agreements ``user`` may see: their agency's; every one for hub admins and hub auditors."""
    rows = Agreement.objects.select_related("provider", "recipient").prefetch_related("approvals")
    hub_member = user.agency is not None and user.agency.is_hub
    if user.has_role("hub_admin") or (hub_member and user.has_role("auditor")):
        return rows
    return rows.filter(models.Q(provider_id=user.agency_id) | models.Q(recipient_id=user.agency_id))


class Approval(models.Model):
    """One side's approval of an agreement, by an admin of that side's agency."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="approvals")
    side = models.CharField(max_length=16, choices=AgreementSide.choices)
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "side"], name="one_approval_per_side")
        ]


class AgreementEvent(models.Model):
    """The agreement's history: every transition with who, when and why (append-only)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]


class Consent(models.Model):
    """A 42 CFR Part 2 consent (2.31 elements). The patient is named by the disclosing
    agency's pseudonym; the signed form stays with the disclosing program."""

    code = models.CharField(max_length=32, unique=True)
    person_token = models.CharField(max_length=128, db_index=True)
    disclosing_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="consents_given"
    )
    information = models.TextField(help_text="Specific description of the information disclosed")
    recipients = models.ManyToManyField("accounts.Agency", related_name="consents_received")
    purpose = models.CharField(max_length=64, choices=PURPOSE_CHOICES)
    signed_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    expiry_event = models.CharField(max_length=200, blank=True, default="")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.disclosing_agency.code})"

    def to_core(self) -> core.Consent:
        return core.Consent(
            id=self.code,
            person_token=self.person_token,
            disclosing_agency=self.disclosing_agency.code,
            information=self.information,
            recipients=frozenset(a.code for a in self.recipients.all()),
            purpose=self.purpose,
            signed_on=self.signed_on,
            expires_on=self.expires_on,
            expiry_event=self.expiry_event,
            revoked_at=self.revoked_at,
        )

    def state(self, now=None) -> str:
        moment = now or timezone.now()
        if self.revoked_at is not None and self.revoked_at <= moment:
            return "revoked"
        if self.expires_on is not None and moment.date() > self.expires_on:
            return "expired"
        if self.signed_on > moment.date():
            return "not yet signed"
        return "valid"
