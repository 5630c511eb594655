"""Agencies, users with roles, and agency API tokens."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone

from wellbeat.events.schema import Sector
from wellbeat.web.accounts.encryption import EncryptedTextField

HUB_SECTOR = "hub"
"""Sector of the hub's own agency (hub admins and hub-wide auditors belong to it)."""

SECTOR_CHOICES = [
    (HUB_SECTOR, "Hub operator"),
    (Sector.POLICE.value, "Police"),
    (Sector.FIRE_EMS.value, "Fire / EMS"),
    (Sector.EMERGENCY_DEPT.value, "Emergency department"),
    (Sector.HOSPITAL.value, "Hospital"),
    (Sector.PUBLIC_HEALTH.value, "Public health"),
    (Sector.MEDICAL_EXAMINER.value, "Medical examiner"),
    (Sector.BEHAVIORAL_HEALTH.value, "Behavioural health"),
    (Sector.COMMUNITY.value, "Community organisation"),
]


class Agency(models.Model):
    """An organisation taking part in the hub; every user belongs to exactly one."""

    code = models.CharField(
        max_length=32,
        unique=True,
        help_text="Short agency code used in batches and events, e.g. MPD.",
    )
    name = models.CharField(max_length=200)
    sector = models.CharField(max_length=32, choices=SECTOR_CHOICES)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    @property
    def is_hub(self) -> bool:
        return self.sector == HUB_SECTOR


class Role(StrEnum):
    """What a user may do; a user may hold several roles within their agency.

    Members are plain strings (stored in ``User.roles``); ``Role.choices``, ``Role.values``
    and ``role.label`` work as with Django's TextChoices."""

    ANALYST = "analyst"
    OFFICER = "officer"
    CLINICIAN = "clinician"
    CARE_COORDINATOR = "care_coordinator"
    PROGRAM_MANAGER = "program_manager"
    AGENCY_ADMIN = "agency_admin"
    HUB_ADMIN = "hub_admin"
    AUDITOR = "auditor"

    PERSON_LEVEL: ClassVar[frozenset[str]]
    choices: ClassVar[list[tuple[str, str]]]
    values: ClassVar[list[str]]

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.value]


ROLE_LABELS: dict[str, str] = {
    Role.ANALYST: "Analyst",
    Role.OFFICER: "Officer",
    Role.CLINICIAN: "Co-responder clinician",
    Role.CARE_COORDINATOR: "Care coordinator",
    Role.PROGRAM_MANAGER: "Program manager",
    Role.AGENCY_ADMIN: "Agency admin",
    Role.HUB_ADMIN: "Hub admin",
    Role.AUDITOR: "Auditor",
}
Role.choices = [(role.value, ROLE_LABELS[role.value]) for role in Role]
Role.values = [role.value for role in Role]

# Roles that may see person-level data (pseudonymous rows, care records, audit details naming
# persons). CJIS Security Policy 5.6.2.2 requires multi-factor authentication for them.
Role.PERSON_LEVEL = frozenset(
    {Role.ANALYST, Role.OFFICER, Role.CLINICIAN, Role.CARE_COORDINATOR, Role.AUDITOR}
)

ADMIN_ROLES = frozenset({Role.AGENCY_ADMIN.value, Role.HUB_ADMIN.value})
"""Roles that decide who can see what (create users, grant roles, issue tokens)."""

SECOND_FACTOR_ROLES = frozenset(Role.PERSON_LEVEL | ADMIN_ROLES)
"""Roles whose sessions must pass TOTP: person-level data (CJIS 5.6.2.2) and administrators,
since an admin who grants roles could otherwise reach person-level data with a password only."""

HUB_ONLY_ROLES = frozenset({Role.HUB_ADMIN.value})
"""Roles only members of the hub's own agency may hold."""


def normalise_roles(roles: object) -> list[str]:
    """Sorted, de-duplicated role values; an unknown role is an error naming it."""
    if not isinstance(roles, list | tuple | set | frozenset):
        raise ValueError(f"roles: expected a list of role names, got {type(roles).__name__}")
    valid = set(Role.values)
    unknown = sorted(str(r) for r in roles if str(r) not in valid)
    if unknown:
        raise ValueError(
            f"roles: unknown role(s) {', '.join(unknown)}; expected any of {', '.join(Role.values)}"
        )
    return sorted({str(r) for r in roles})


class User(AbstractUser):
    """A person using the hub, belonging to one agency, with roles and a TOTP second factor."""

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    roles = models.JSONField(default=list, blank=True)
    totp_secret = EncryptedTextField(blank=True, default="")
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    totp_last_step = models.BigIntegerField(default=0)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager[User]] = UserManager()

    class Meta:
        ordering = ["username"]

    def has_role(self, role: str) -> bool:
        """True when the user is active and holds ``role`` (a Role value)."""
        return self.is_active and str(role) in (self.roles or [])

    def has_any_role(self, roles: object) -> bool:
        return any(self.has_role(r) for r in roles)  # type: ignore[attr-defined]

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS.get(r, r) for r in self.roles or []]

    @property
    def sees_person_level(self) -> bool:
        return any(r in Role.PERSON_LEVEL for r in self.roles or [])

    @property
    def requires_second_factor(self) -> bool:
        """TOTP is required for person-level and admin roles, and always once enrolled."""
        return (
            any(r in SECOND_FACTOR_ROLES for r in self.roles or [])
            or self.totp_confirmed_at is not None
        )

    def is_locked(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.locked_until is not None and self.locked_until > moment

    @property
    def agency_code(self) -> str:
        return self.agency.code if self.agency_id else ""


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A scoped, revocable API credential of an agency; only its SHA-256 hash is stored."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, related_name="created_tokens"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="revoked_tokens"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.agency.code}:{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return self.is_active and scope in (self.scopes or [])


class Invitation(models.Model):
    """A single-use, expiring link with which a new user sets their own password and enrols
    their own second factor; only the SHA-256 of the link's token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation of {self.user.username} ({self.created_at:%Y-%m-%d})"

    def is_usable(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and self.expires_at > moment
