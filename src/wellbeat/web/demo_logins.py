"""Demo logins: the hub agency, each demo agency and a user per role where it makes sense,
with known passwords and TOTP secrets. Only in demo mode (``WELLBEAT_DEMO=1``).

The demo data itself comes from ``wellbeat.demo_pipeline``; each app's ``demo.py`` seeds its own
records; ``wellbeat.cli.demo`` runs them all."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from wellbeat.web.bootstrap import setup_django

DEMO_PASSWORD = "wellbeat-demo-password"
"""Password of every demo user (demo mode only; never use on real data)."""

HUB_AGENCY = ("HUB", "Health & Safety Data Hub", "hub")

# Roles per sector: who works with the hub in each kind of agency.
ROLES_BY_SECTOR: dict[str, list[str]] = {
    "hub": ["hub_admin", "auditor"],
    "police": ["agency_admin", "analyst", "officer", "auditor"],
    "fire_ems": ["agency_admin", "analyst"],
    "emergency_dept": ["agency_admin", "analyst"],
    "hospital": ["agency_admin", "analyst"],
    "public_health": ["agency_admin", "analyst", "program_manager", "auditor"],
    "medical_examiner": ["agency_admin", "analyst"],
    "behavioral_health": ["agency_admin", "clinician", "care_coordinator"],
    "community": ["agency_admin", "care_coordinator", "program_manager"],
}


class DemoModeRequired(RuntimeError):
    """seed_demo was called without WELLBEAT_DEMO=1."""


@dataclass(frozen=True)
class DemoLogin:
    """A demo user's credentials; ``current_code()`` gives the TOTP code to type now."""

    username: str
    password: str
    roles: tuple[str, ...]
    agency: str
    totp_secret: str

    def current_code(self) -> str:
        from wellbeat.web.accounts.totp import current_code

        return current_code(self.totp_secret) if self.totp_secret else ""

    def describe(self) -> str:
        """One line for the console: who, agency, roles, password and the current code."""
        code = f"  TOTP now: {self.current_code()}" if self.totp_secret else ""
        return (
            f"{self.username:<24} {self.agency:<6} {', '.join(self.roles):<32} "
            f"password: {self.password}{code}"
        )


def demo_totp_secret(username: str) -> str:
    """Deterministic base32 secret per demo user, so a rerun keeps authenticators working."""
    digest = hashlib.sha256(f"wellbeat-demo-totp:{username}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def demo_username(code: str, role: str) -> str:
    return f"{code.lower()}-{role.replace('_', '-')}"


def seed_demo(data_dir: Path, agencies: list[tuple[str, str, str]]) -> list[DemoLogin]:
    """Create (or reuse) the hub agency, ``agencies`` as (code, name, sector) and one user per
    role that fits each sector; returns their logins. Idempotent; demo mode only."""
    setup_django(data_dir, migrate=True)
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from wellbeat.web.accounts import actions
    from wellbeat.web.accounts.models import Agency, User

    if not settings.WELLBEAT_DEMO:
        raise DemoModeRequired(
            "demo users have known passwords: set WELLBEAT_DEMO=1 to create them"
        )
    logins: list[DemoLogin] = []
    wanted = [HUB_AGENCY, *[a for a in agencies if a[0] != HUB_AGENCY[0]]]
    label = "wellbeat demo"
    for code, name, sector in wanted:
        if sector not in ROLES_BY_SECTOR:
            raise ValueError(
                f"demo agency {code}: sector {sector!r} unknown; expected one of "
                f"{', '.join(ROLES_BY_SECTOR)}"
            )
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            agency = actions.do_create_agency(code, name, sector, actor=None, actor_label=label)
        for role in ROLES_BY_SECTOR[sector]:
            username = demo_username(code, role)
            roles = [role, "agency_admin"] if role == "hub_admin" else [role]
            user = User.objects.filter(username=username).first()
            if user is None:
                user = actions.do_create_user(
                    actor=None,
                    agency=agency,
                    username=username,
                    password=DEMO_PASSWORD,
                    roles=roles,
                    email=f"{username}@demo.wellbeat.invalid",
                    actor_label=label,
                )
            secret = ""
            if user.requires_second_factor:
                secret = demo_totp_secret(username)
                if user.totp_secret != secret or user.totp_confirmed_at is None:
                    with transaction.atomic():
                        user.totp_secret = secret
                        user.totp_confirmed_at = timezone.now()
                        user.save(update_fields=["totp_secret", "totp_confirmed_at"])
            logins.append(
                DemoLogin(
                    username=username,
                    password=DEMO_PASSWORD,
                    roles=tuple(user.roles),
                    agency=code,
                    totp_secret=secret,
                )
            )
    return logins


def demo_codes(data_dir: Path, usernames: list[str] | None = None) -> list[DemoLogin]:
    """The demo users that have a second factor, each with its secret (for ``current_code()``):
    a fresh TOTP code without a phone. Only users whose secret is the demo's own are listed, so
    a real user's secret is never shown; ``usernames`` narrows the list."""
    setup_django(data_dir, create=False)
    from wellbeat.web.accounts.models import User

    found = User.objects.exclude(totp_secret="").select_related("agency").order_by("username")
    if usernames:
        found = found.filter(username__in=usernames)
    return [
        DemoLogin(
            username=user.username,
            password=DEMO_PASSWORD,
            roles=tuple(user.roles),
            agency=user.agency.code if user.agency else "",
            totp_secret=user.totp_secret,
        )
        for user in found
        if user.totp_secret == demo_totp_secret(user.username)
    ]
