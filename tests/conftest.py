"""Fixtures shared by every test package: Django settings and a small world of agencies and
users, one per role, plus an outsider agency, that encodes the hub's access model.

Use ``world`` (needs the database) and ``login_as(client, user)``::

    def test_x(client, world, login_as):
        login_as(client, world.users["mpd_analyst"])
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeat.web.settings")
# pytest-django sets Django up in its pytest_configure only when the settings are already
# loaded; touching them here makes that work without --ds (the ini option also works).
from django.conf import settings as _django_settings

_django_settings.INSTALLED_APPS  # noqa: B018

# TOTP secrets are stored encrypted; outside demo mode the hub refuses to start without a key.
# pytest-django loads the settings before this file: set it there and for subprocesses.
os.environ.setdefault("WELLBEAT_FIELD_KEY", "test-only-field-key-" + "x" * 32)
if not _django_settings.FIELD_ENCRYPTION_KEY:
    _django_settings.FIELD_ENCRYPTION_KEY = os.environ["WELLBEAT_FIELD_KEY"]

WORLD_PASSWORD = "correct-horse-battery-staple"
"""Password of every user in the test world."""

# (code, name, sector) of the test world's agencies; XPD is the outsider: a real agency of the
# hub that no agreement in any test involves.
WORLD_AGENCIES: list[tuple[str, str, str]] = [
    ("HUB", "Metro Health Data Hub", "hub"),
    ("MPD", "Metro Police Department", "police"),
    ("MFD", "Metro Fire & EMS", "fire_ems"),
    ("GEN", "General Hospital Emergency Department", "emergency_dept"),
    ("PHD", "Metro Public Health Department", "public_health"),
    ("OME", "Office of the Medical Examiner", "medical_examiner"),
    ("BHC", "Metro Behavioral Health Center", "behavioral_health"),
    ("CRN", "Community Resource Network", "community"),
    ("XPD", "Outside Police Department", "police"),
]

# username -> (agency code, roles)
WORLD_USERS: dict[str, tuple[str, list[str]]] = {
    "hub_admin": ("HUB", ["hub_admin", "agency_admin"]),
    "hub_auditor": ("HUB", ["auditor"]),
    "mpd_admin": ("MPD", ["agency_admin"]),
    "mpd_analyst": ("MPD", ["analyst"]),
    "mpd_officer": ("MPD", ["officer"]),
    "mpd_auditor": ("MPD", ["auditor"]),
    "mfd_admin": ("MFD", ["agency_admin"]),
    "mfd_analyst": ("MFD", ["analyst"]),
    "gen_admin": ("GEN", ["agency_admin"]),
    "gen_analyst": ("GEN", ["analyst"]),
    "phd_admin": ("PHD", ["agency_admin"]),
    "phd_analyst": ("PHD", ["analyst"]),
    "phd_manager": ("PHD", ["program_manager"]),
    "ome_analyst": ("OME", ["analyst"]),
    "bhc_admin": ("BHC", ["agency_admin"]),
    "bhc_clinician": ("BHC", ["clinician"]),
    "bhc_coordinator": ("BHC", ["care_coordinator"]),
    "crn_coordinator": ("CRN", ["care_coordinator"]),
    "crn_manager": ("CRN", ["program_manager"]),
    "xpd_admin": ("XPD", ["agency_admin"]),
    "xpd_analyst": ("XPD", ["analyst"]),
}


def world_totp_secret(username: str) -> str:
    """A fixed base32 TOTP secret per test user, so tests can compute codes."""
    import base64
    import hashlib

    digest = hashlib.sha256(f"wellbeat-test-totp:{username}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


@dataclass
class World:
    """The test world: ``agencies[code]`` and ``users[username]``; ``outsider`` is XPD."""

    agencies: dict[str, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    password: str = WORLD_PASSWORD

    @property
    def outsider(self) -> Any:
        return self.users["xpd_admin"]

    def totp_code(self, username: str, at: float | None = None) -> str:
        from wellbeat.web.accounts.totp import current_code

        return current_code(self.users[username].totp_secret, at)


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest) -> None:
    """PBKDF2 at production strength costs ~0.3 s per user; tests use a fast hasher."""
    if "settings" in request.fixturenames or _django_configured():
        from django.conf import settings

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """The API's rate-limit counts live in the local-memory cache, which outlives a test (and
    user ids repeat across tests): every test starts with none."""
    if _django_configured():
        from django.core.cache import cache

        cache.clear()


def _django_configured() -> bool:
    try:
        from django.conf import settings

        return bool(settings.configured)
    except ImportError:
        return False


@pytest.fixture
def hub_data_dir(settings: Any, tmp_path: Path) -> Path:
    """An empty hub data directory that the web app uses for this test."""
    data_dir = tmp_path / "hub-data"
    data_dir.mkdir()
    settings.DATA_DIR = data_dir
    return data_dir


@pytest.fixture
def world(db: None) -> World:
    """Agencies of every sector, one user per role (TOTP enrolled where the role needs it),
    and the outsider agency XPD."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from wellbeat.web.accounts.models import Agency, User

    built = World()
    for code, name, sector in WORLD_AGENCIES:
        built.agencies[code] = Agency.objects.create(code=code, name=name, sector=sector)
    password_hash = make_password(WORLD_PASSWORD)
    for username, (code, roles) in WORLD_USERS.items():
        user = User(
            username=username,
            agency=built.agencies[code],
            roles=sorted(roles),
            password=password_hash,
            email=f"{username}@example.org",
        )
        if user.requires_second_factor:
            user.totp_secret = world_totp_secret(username)
            user.totp_confirmed_at = timezone.now()
        user.save()
        built.users[username] = user
    return built


@pytest.fixture
def login_as() -> Callable[[Any, Any], Any]:
    """Sign a Django test client in as ``user`` with the second factor already passed."""

    def sign_in(client: Any, user: Any) -> Any:
        from wellbeat.web.accounts.middleware import LAST_SEEN_KEY, SECOND_FACTOR_KEY

        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        session = client.session
        session[SECOND_FACTOR_KEY] = True
        session[LAST_SEEN_KEY] = time.time()
        session.save()
        return client

    return sign_in
