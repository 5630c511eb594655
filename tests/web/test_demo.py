"""Demo logins: every role covered, known credentials, idempotent, demo mode only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.demo_logins import DemoModeRequired, seed_demo

pytestmark = pytest.mark.django_db

AGENCIES = [
    ("MPD", "Metro Police", "police"),
    ("MFD", "Metro Fire & EMS", "fire_ems"),
    ("GEN", "General Hospital ED", "emergency_dept"),
    ("PHD", "Public Health", "public_health"),
    ("BHC", "Behavioral Health Center", "behavioral_health"),
    ("CRN", "Community Resource Network", "community"),
]


def test_demo_refuses_outside_demo_mode(hub_data_dir: Path, settings: Any) -> None:
    settings.WELLBEAT_DEMO = False
    with pytest.raises(DemoModeRequired, match="WELLBEAT_DEMO=1"):
        seed_demo(hub_data_dir, AGENCIES)
    assert not User.objects.exists()


def test_demo_covers_every_role_and_is_idempotent(hub_data_dir: Path, settings: Any) -> None:
    settings.WELLBEAT_DEMO = True
    first = seed_demo(hub_data_dir, AGENCIES)
    assert {role for login in first for role in login.roles} == set(Role.values)
    assert Agency.objects.count() == len(AGENCIES) + 1
    users = User.objects.count()
    second = seed_demo(hub_data_dir, AGENCIES)
    assert second == first
    assert User.objects.count() == users


def test_a_demo_login_signs_in_with_its_code(hub_data_dir: Path, settings: Any) -> None:
    settings.WELLBEAT_DEMO = True
    logins = {login.username: login for login in seed_demo(hub_data_dir, AGENCIES)}
    analyst = logins["mpd-analyst"]
    assert analyst.totp_secret and len(analyst.current_code()) == 6
    assert "mpd-analyst" in analyst.describe()
    client = Client()
    client.post("/accounts/login/", {"username": analyst.username, "password": analyst.password})
    client.post("/accounts/login/verify/", {"code": analyst.current_code()})
    assert client.get("/").status_code == 200


def test_demo_codes_gives_a_fresh_code_without_a_phone(hub_data_dir: Path, settings: Any) -> None:
    import time

    import pyotp
    from click.testing import CliRunner

    from wellbeat.cli import cli
    from wellbeat.web.accounts.totp import current_code
    from wellbeat.web.demo_logins import demo_codes

    settings.WELLBEAT_DEMO = True
    seeded = {login.username: login for login in seed_demo(hub_data_dir, AGENCIES)}
    # A real (non-demo) user with a second factor is never listed.
    real = User.objects.get(username="mpd-auditor")
    real.totp_secret = "JBSWY3DPEHPK3PXP"
    real.save(update_fields=["totp_secret"])
    listed = {login.username for login in demo_codes(hub_data_dir)}
    assert "mpd-analyst" in listed and "mpd-auditor" not in listed
    assert listed == {n for n, s in seeded.items() if s.totp_secret} - {"mpd-auditor"}

    runner = CliRunner()
    done = runner.invoke(cli, ["demo-codes", "--data-dir", str(hub_data_dir), "mpd-analyst"])
    assert done.exit_code == 0, done.output
    secret = seeded["mpd-analyst"].totp_secret
    now = time.time()
    valid = {pyotp.TOTP(secret).at(now - 30), current_code(secret)}  # a 30 s step may tick
    assert done.stdout.split()[0] == "mpd-analyst" and done.stdout.split()[1] in valid
    # The code signs in.
    client = Client()
    client.post(
        "/accounts/login/", {"username": "mpd-analyst", "password": seeded["mpd-analyst"].password}
    )
    client.post("/accounts/login/verify/", {"code": done.stdout.split()[1]})
    assert client.get("/").status_code == 200
    unknown = runner.invoke(cli, ["demo-codes", "--data-dir", str(hub_data_dir), "mpd-auditor"])
    assert unknown.exit_code != 0 and "mpd-auditor" in unknown.output
