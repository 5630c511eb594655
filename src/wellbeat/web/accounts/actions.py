"""State changes on agencies, users and tokens. Each action checks who may do it, owns its
transaction and writes the audit row; views and API endpoints only parse and call these."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from wellbeat.web.accounts import totp
from wellbeat.web.accounts.models import (
    HUB_ONLY_ROLES,
    SECOND_FACTOR_ROLES,
    SECTOR_CHOICES,
    Agency,
    ApiToken,
    Invitation,
    Role,
    User,
    normalise_roles,
)
from wellbeat.web.accounts.tokens import hash_token, new_token, validate_scopes
from wellbeat.web.audit import actions as audit
from wellbeat.web.errors import ActionError


class AccountError(ActionError, ValueError):
    """A request about accounts that cannot be carried out as asked (bad input): code
    ``invalid``."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid", message)


class NotAllowed(ActionError, PermissionDenied):
    """The acting user may not do this (e.g. manage another agency's users): code
    ``forbidden``; Django answers a page with 403."""

    def __init__(self, message: str) -> None:
        super().__init__("forbidden", message)


def can_manage_users_of(admin: User, agency: Agency | None) -> bool:
    """Agency admins manage their own agency's users, and nobody else's."""
    return (
        admin.is_active
        and admin.has_role(Role.AGENCY_ADMIN)
        and agency is not None
        and admin.agency_id == agency.pk
    )


def _require_manager(admin: User, target: User, what: str) -> None:
    if not can_manage_users_of(admin, target.agency):
        raise NotAllowed(
            f"{admin.username} may not {what} {target.username}: only an agency admin of "
            f"{target.agency_code or 'that agency'} may"
        )


def _check_roles_for_agency(roles: list[str], agency: Agency) -> None:
    hub_only = sorted(set(roles) & HUB_ONLY_ROLES)
    if hub_only and not agency.is_hub:
        raise AccountError(
            f"role(s) {', '.join(hub_only)} are for the hub's own agency only, not {agency.code}"
        )


def do_create_agency(
    code: str, name: str, sector: str, *, actor: User | None, actor_label: str = ""
) -> Agency:
    """Register an agency. Only hub admins (or a command-line operator) may."""
    if actor is not None and not actor.has_role(Role.HUB_ADMIN):
        raise NotAllowed(f"{actor.username} may not create agencies: hub admins only")
    code = code.strip()
    if not code or not code.replace("-", "").replace("_", "").isalnum() or len(code) > 32:
        raise AccountError(
            f"agency code {code!r}: expected 1-32 letters, digits, '-' or '_' (e.g. MPD)"
        )
    sectors = [value for value, _ in SECTOR_CHOICES]
    if sector not in sectors:
        raise AccountError(f"sector {sector!r}: expected one of {', '.join(sectors)}")
    if Agency.objects.filter(code=code).exists():
        raise AccountError(f"agency code {code!r} is already taken")
    with transaction.atomic():
        agency = Agency.objects.create(code=code, name=name.strip(), sector=sector)
        audit.record(
            audit.AGENCY_CREATED,
            actor=actor,
            agency=agency,
            target=f"agency:{code}",
            details={"name": agency.name, "sector": sector},
            actor_label=actor_label,
        )
    return agency


def _check_new_user(
    actor: User | None, agency: Agency, username: str, roles: list[str]
) -> tuple[str, list[str]]:
    if actor is not None and not can_manage_users_of(actor, agency):
        raise NotAllowed(
            f"{actor.username} may not create users in {agency.code}: "
            f"only an agency admin of {agency.code} may"
        )
    clean_roles = normalise_roles(roles)
    _check_roles_for_agency(clean_roles, agency)
    username = username.strip()
    if not username:
        raise AccountError("username: required")
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(f"username {username!r} is already taken")
    return username, clean_roles


def do_create_user(
    *,
    actor: User | None,
    agency: Agency,
    username: str,
    password: str,
    roles: list[str],
    email: str = "",
    full_name: str = "",
    actor_label: str = "",
) -> User:
    """Create a user with a preset password: demo mode only (``WELLBEAT_DEMO=1``), where the
    demo logins are public anyway. Real accounts are created with ``do_invite_user``, so no
    admin ever knows another user's password."""
    if not settings.WELLBEAT_DEMO:
        raise NotAllowed(
            "users with a password chosen by someone else exist only in demo mode; "
            "invite the user instead (they set their own password and second factor)"
        )
    username, clean_roles = _check_new_user(actor, agency, username, roles)
    candidate = User(username=username, email=email, agency=agency)
    try:
        validate_password(password, candidate)
    except DjangoValidationError as exc:
        raise AccountError("password: " + " ".join(exc.messages)) from None
    first, _, last = full_name.strip().partition(" ")
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            password=password,
            email=email,
            agency=agency,
            roles=clean_roles,
            first_name=first,
            last_name=last,
        )
        audit.record(
            audit.USER_CREATED,
            actor=actor,
            agency=agency,
            target=f"user:{username}",
            details={"roles": clean_roles, "via": "demo"},
            actor_label=actor_label,
        )
    return user


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation: ``token`` goes in the link, is shown once and never stored."""

    invitation: Invitation
    token: str

    @property
    def user(self) -> User:
        return self.invitation.user

    def path(self) -> str:
        from django.urls import reverse

        return reverse("accounts:invitation", kwargs={"token": self.token})


def do_invite_user(
    *,
    actor: User | None,
    agency: Agency,
    username: str,
    roles: list[str],
    email: str = "",
    full_name: str = "",
    actor_label: str = "",
) -> IssuedInvitation:
    """Create a user who cannot sign in yet and a single-use, expiring invitation with which
    they set their own password (and enrol their own authenticator when their roles need
    one). Agency admins invite into their own agency; ``actor=None`` is the command-line
    operator (``wellbeat users invite``), named by ``actor_label``."""
    username, clean_roles = _check_new_user(actor, agency, username, roles)
    first, _, last = full_name.strip().partition(" ")
    with transaction.atomic():
        user = User(
            username=username,
            email=email,
            agency=agency,
            roles=clean_roles,
            first_name=first,
            last_name=last,
        )
        user.set_unusable_password()
        user.save()
        audit.record(
            audit.USER_CREATED,
            actor=actor,
            agency=agency,
            target=f"user:{username}",
            details={"roles": clean_roles, "via": "invitation"},
            actor_label=actor_label,
        )
        issued = _issue_invitation(actor, user, actor_label)
    return issued


def do_reissue_invitation(
    actor: User | None, target: User, *, actor_label: str = ""
) -> IssuedInvitation:
    """A fresh link for a user who has not accepted theirs (lost or expired); earlier links
    stop working. Never for an account already in use: that would let an admin take it over."""
    if actor is not None:
        _require_manager(actor, target, "re-invite")
    if target.has_usable_password():
        raise AccountError(
            f"{target.username} has already set a password; to help them sign in again, "
            "reset their second factor or ask them to change their password"
        )
    with transaction.atomic():
        return _issue_invitation(actor, target, actor_label)


def _issue_invitation(actor: User | None, user: User, actor_label: str) -> IssuedInvitation:
    now = timezone.now()
    Invitation.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user,
        token_hash=hash_token(token),
        created_by=actor,
        created_by_label="" if actor is not None else actor_label,
        created_at=now,
        expires_at=now + timedelta(hours=settings.INVITATION_VALID_HOURS),
    )
    audit.record(
        audit.INVITATION_ISSUED,
        actor=actor,
        agency=user.agency,
        target=f"user:{user.username}",
        details={"expires_at": invitation.expires_at.isoformat()},
        actor_label=actor_label,
    )
    return IssuedInvitation(invitation=invitation, token=token)


def find_invitation(token: str) -> Invitation | None:
    """The usable invitation behind ``token`` (unused, not replaced, not expired), or None."""
    invitation = (
        Invitation.objects.select_related("user", "user__agency")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None or not invitation.is_usable() or not invitation.user.is_active:
        return None
    return invitation


def invitation_needs_totp(user: User) -> bool:
    return any(r in SECOND_FACTOR_ROLES for r in user.roles or [])


def do_accept_invitation(
    token: str,
    password: str,
    *,
    totp_secret: str = "",
    totp_step: int = 0,
    remote_addr: str = "",
) -> User:
    """The invitee sets their password (Django's validators) and, when their roles need a
    second factor, the authenticator they just proved with a code; the link is then spent."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().filter(token_hash=hash_token(token)).first()
        )
        if invitation is None or not invitation.is_usable():
            raise AccountError(
                "invitation: this link is not valid (used, expired or replaced); "
                "ask your agency admin for a new one"
            )
        user = User.objects.select_for_update().get(pk=invitation.user_id)
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            raise AccountError("password: " + " ".join(exc.messages)) from None
        if invitation_needs_totp(user) and not totp_secret:
            raise AccountError("code: your roles need a second factor; enrol an authenticator")
        user.set_password(password)
        fields = ["password"]
        if totp_secret:
            user.totp_secret = totp_secret
            user.totp_confirmed_at = timezone.now()
            user.totp_last_step = totp_step
            fields += ["totp_secret", "totp_confirmed_at", "totp_last_step"]
        user.save(update_fields=fields)
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        audit.record(
            audit.INVITATION_ACCEPTED,
            actor=user,
            agency=user.agency,
            target=f"user:{user.username}",
            details={"second_factor": bool(totp_secret), "remote_addr": remote_addr},
        )
        if totp_secret:
            audit.record(
                audit.TOTP_ENROLLED,
                actor=user,
                agency=user.agency,
                target=f"user:{user.username}",
            )
    return user


def do_set_roles(actor: User, target: User, roles: list[str]) -> User:
    """Replace ``target``'s roles; audited with the before and after."""
    _require_manager(actor, target, "change the roles of")
    clean_roles = normalise_roles(roles)
    assert target.agency is not None
    _check_roles_for_agency(clean_roles, target.agency)
    if (
        actor.pk == target.pk
        and Role.AGENCY_ADMIN in actor.roles
        and Role.AGENCY_ADMIN not in clean_roles
    ):
        raise AccountError(
            "you cannot remove your own agency admin role; ask another admin of your agency"
        )
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=target.pk)
        before = list(locked.roles)
        if before == clean_roles:
            return locked
        locked.roles = clean_roles
        locked.save(update_fields=["roles"])
        audit.record(
            audit.ROLES_CHANGED,
            actor=actor,
            agency=locked.agency,
            target=f"user:{locked.username}",
            details={
                "before": before,
                "after": clean_roles,
                "added": sorted(set(clean_roles) - set(before)),
                "removed": sorted(set(before) - set(clean_roles)),
            },
        )
    return locked


def do_deactivate_user(actor: User, target: User, reason: str = "") -> User:
    """Stop ``target`` from signing in; their sessions end at their next request."""
    _require_manager(actor, target, "deactivate")
    if actor.pk == target.pk:
        raise AccountError("you cannot deactivate yourself; ask another admin of your agency")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=target.pk)
        if not locked.is_active:
            return locked
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        audit.record(
            audit.USER_DEACTIVATED,
            actor=actor,
            agency=locked.agency,
            target=f"user:{locked.username}",
            details={"reason": reason},
        )
    return locked


def do_reactivate_user(actor: User, target: User) -> User:
    """Allow a deactivated user to sign in again (also clears a lockout)."""
    _require_manager(actor, target, "reactivate")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=target.pk)
        locked.is_active = True
        locked.failed_logins = 0
        locked.locked_until = None
        locked.save(update_fields=["is_active", "failed_logins", "locked_until"])
        audit.record(
            audit.USER_REACTIVATED,
            actor=actor,
            agency=locked.agency,
            target=f"user:{locked.username}",
        )
    return locked


def do_reset_totp(actor: User, target: User) -> User:
    """Forget ``target``'s authenticator and clear a lockout: they enrol again at next sign-in."""
    _require_manager(actor, target, "reset the second factor of")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=target.pk)
        locked.totp_secret = ""
        locked.totp_confirmed_at = None
        locked.totp_last_step = 0
        locked.failed_logins = 0
        locked.locked_until = None
        locked.save(
            update_fields=[
                "totp_secret",
                "totp_confirmed_at",
                "totp_last_step",
                "failed_logins",
                "locked_until",
            ]
        )
        audit.record(
            audit.TOTP_RESET,
            actor=actor,
            agency=locked.agency,
            target=f"user:{locked.username}",
        )
    return locked


# --- Sign-in ---------------------------------------------------------------------------


def do_record_login_failure(
    user: User | None,
    username: str,
    reason: str,
    *,
    remote_addr: str = "",
    count: bool = True,
) -> User | None:
    """Audit a failed sign-in step; when ``count``, add it to the user's consecutive failures
    and lock the account after ``LOGIN_MAX_FAILURES`` in a row."""
    details: dict[str, Any] = {"reason": reason, "remote_addr": remote_addr}
    with transaction.atomic():
        if user is None:
            audit.record(
                audit.LOGIN_FAILED,
                actor=None,
                agency=None,
                target=f"user:{username[:100]}",
                details=details,
                actor_label="anonymous",
            )
            return None
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not count:
            audit.record(
                audit.LOGIN_FAILED,
                actor=locked,
                agency=locked.agency,
                target=f"user:{locked.username}",
                details=details,
            )
            return locked
        locked.failed_logins += 1
        details["consecutive_failures"] = locked.failed_logins
        fields = ["failed_logins"]
        just_locked = False
        if locked.failed_logins >= settings.LOGIN_MAX_FAILURES:
            locked.locked_until = timezone.now() + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
            locked.failed_logins = 0
            fields.append("locked_until")
            just_locked = True
        locked.save(update_fields=fields)
        audit.record(
            audit.LOGIN_FAILED,
            actor=locked,
            agency=locked.agency,
            target=f"user:{locked.username}",
            details=details,
        )
        if just_locked:
            audit.record(
                audit.LOGIN_LOCKED,
                actor=locked,
                agency=locked.agency,
                target=f"user:{locked.username}",
                details={
                    "until": locked.locked_until.isoformat() if locked.locked_until else "",
                    "after_failures": settings.LOGIN_MAX_FAILURES,
                },
            )
    return locked


def do_record_login_success(user: User, *, second_factor: str, remote_addr: str = "") -> User:
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.failed_logins = 0
        locked.locked_until = None
        locked.last_login = timezone.now()
        locked.save(update_fields=["failed_logins", "locked_until", "last_login"])
        audit.record(
            audit.LOGIN_SUCCEEDED,
            actor=locked,
            agency=locked.agency,
            target=f"user:{locked.username}",
            details={"second_factor": second_factor, "remote_addr": remote_addr},
        )
    return locked


def do_confirm_totp(user: User, secret: str, step: int) -> User:
    """Store a newly enrolled authenticator once the user has typed a valid code from it."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.totp_secret = secret
        locked.totp_confirmed_at = timezone.now()
        locked.totp_last_step = step
        locked.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        audit.record(
            audit.TOTP_ENROLLED,
            actor=locked,
            agency=locked.agency,
            target=f"user:{locked.username}",
        )
    return locked


def use_totp_code(user: User, code: str) -> bool:
    """Check a TOTP code and burn its time step so it cannot be replayed."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        step = totp.matching_step(locked.totp_secret, code, locked.totp_last_step)
        if step is None:
            return False
        locked.totp_last_step = step
        locked.save(update_fields=["totp_last_step"])
    return True


def do_record_logout(user: User, *, reason: str = "user") -> None:
    action = audit.SESSION_EXPIRED if reason == "idle" else audit.LOGOUT
    with transaction.atomic():
        audit.record(
            action,
            actor=user,
            agency=user.agency,
            target=f"user:{user.username}",
            details={"reason": reason},
        )


# --- API tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def do_create_api_token(actor: User, name: str, scopes: list[str]) -> IssuedToken:
    """An agency admin issues a scoped token for their own agency."""
    if not can_manage_users_of(actor, actor.agency):
        raise NotAllowed(f"{actor.username} may not create API tokens: agency admins only")
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("token name: expected 1-100 characters, e.g. 'CAD nightly upload'")
    try:
        clean_scopes = validate_scopes(scopes)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    secret, prefix = new_token()
    assert actor.agency is not None
    with transaction.atomic():
        token = ApiToken.objects.create(
            agency=actor.agency,
            name=name,
            prefix=prefix,
            token_hash=hash_token(secret),
            scopes=clean_scopes,
            created_by=actor,
        )
        audit.record(
            audit.TOKEN_CREATED,
            actor=actor,
            agency=actor.agency,
            target=f"token:{prefix}",
            details={"name": name, "scopes": clean_scopes},
        )
    return IssuedToken(token=token, secret=secret)


def do_revoke_api_token(actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token of the admin's own agency; it stops working at once."""
    if not can_manage_users_of(actor, token.agency):
        raise NotAllowed(
            f"{actor.username} may not revoke tokens of {token.agency.code}: "
            "only an agency admin of that agency may"
        )
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(
            audit.TOKEN_REVOKED,
            actor=actor,
            agency=locked.agency,
            target=f"token:{locked.prefix}",
            details={"name": locked.name},
        )
    return locked
