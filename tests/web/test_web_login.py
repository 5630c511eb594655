"""Password + TOTP sign-in, lockout, replay protection, idle timeout, audit of every attempt."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from wellbeat.web.accounts import totp
from wellbeat.web.accounts.middleware import LAST_SEEN_KEY
from wellbeat.web.accounts.models import User
from wellbeat.web.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def _password_step(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def _actions(username: str) -> list[str]:
    return list(
        AuditEntry.objects.filter(target=f"user:{username}")
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_password_then_totp_signs_in_and_is_audited(client: Client, world: Any) -> None:
    response = _password_step(client, "mpd_analyst", world.password)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/"
    # Half-signed-in users see nothing yet.
    assert client.get("/").status_code == 302
    response = client.post("/accounts/login/verify/", {"code": world.totp_code("mpd_analyst")})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert b"Hub status" in home.content
    entry = AuditEntry.objects.filter(action="login.succeeded").get()
    assert entry.actor_username == "mpd_analyst"
    assert entry.agency_code == "MPD"
    assert entry.details["second_factor"] == "totp"


def test_wrong_password_is_refused_generically_and_audited(client: Client, world: Any) -> None:
    response = _password_step(client, "mpd_analyst", "not-the-password")
    assert response.status_code == 200
    assert b"Username or password is incorrect" in response.content
    assert _actions("mpd_analyst") == ["login.failed"]
    response = _password_step(client, "nobody-here", "whatever-password")
    assert b"Username or password is incorrect" in response.content
    unknown = AuditEntry.objects.get(target="user:nobody-here")
    assert unknown.action == "login.failed" and unknown.details["reason"] == "unknown user"


def test_wrong_totp_code_is_tied_to_the_field_and_counted(client: Client, world: Any) -> None:
    _password_step(client, "mpd_officer", world.password)
    response = client.post("/accounts/login/verify/", {"code": "000000"})
    html = response.content.decode()
    assert "That code is not valid" in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_code-help id_code-error"' in html
    assert User.objects.get(username="mpd_officer").failed_logins == 1


def test_lockout_after_repeated_failures(client: Client, world: Any, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        _password_step(client, "phd_analyst", "wrong-password-x")
    user = User.objects.get(username="phd_analyst")
    assert user.locked_until is not None and user.locked_until > timezone.now()
    # Even the right password is refused while locked.
    response = _password_step(client, "phd_analyst", world.password)
    assert b"locked after repeated failed attempts" in response.content
    assert client.get("/").status_code == 302
    assert "login.locked" in _actions("phd_analyst")


def _form_errors(response: Any) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_login_messages_do_not_reveal_whether_an_account_exists(
    client: Client, world: Any, settings: Any
) -> None:
    settings.LOGIN_MAX_FAILURES = 2
    unknown = _form_errors(_password_step(client, "no-such-user", "wrong-password-x"))
    wrong = _form_errors(_password_step(client, "mpd_officer", "wrong-password-x"))
    # The second failure locks the account: the answer must still be the same.
    locking = _form_errors(_password_step(client, "mpd_officer", "wrong-password-x"))
    while_locked = _form_errors(_password_step(client, "mpd_officer", "wrong-password-x"))
    locked_right_password = _form_errors(_password_step(client, "mpd_officer", world.password))
    deactivated = world.users["mfd_analyst"]
    deactivated.is_active = False
    deactivated.save()
    inactive = _form_errors(_password_step(client, "mfd_analyst", world.password))
    assert User.objects.get(username="mpd_officer").is_locked()
    assert unknown == wrong == locking == while_locked == locked_right_password == inactive
    assert len(unknown) == 1


def test_a_totp_code_cannot_be_replayed(client: Client, world: Any) -> None:
    code = world.totp_code("bhc_clinician")
    _password_step(client, "bhc_clinician", world.password)
    assert client.post("/accounts/login/verify/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    other = Client()
    _password_step(other, "bhc_clinician", world.password)
    response = other.post("/accounts/login/verify/", {"code": code})
    assert response.status_code == 200
    assert b"already used" in response.content


def test_first_sign_in_of_a_person_level_role_enrols_totp(client: Client, world: Any) -> None:
    user = world.users["gen_analyst"]
    user.totp_secret = ""
    user.totp_confirmed_at = None
    user.save()
    response = _password_step(client, "gen_analyst", world.password)
    assert response["Location"] == "/accounts/login/enrol/"
    page = client.get("/accounts/login/enrol/")
    secret = page.context["secret"].replace(" ", "")
    assert page.context["otpauth_uri"].startswith("otpauth://totp/")
    response = client.post("/accounts/login/enrol/", {"code": totp.current_code(secret)})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.totp_secret == secret and user.totp_confirmed_at is not None
    assert client.get("/").status_code == 200
    assert _actions("gen_analyst")[-2:] == ["totp.enrolled", "login.succeeded"]


def test_roles_without_person_level_data_sign_in_with_password(client: Client, world: Any) -> None:
    response = _password_step(client, "phd_manager", world.password)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_idle_session_is_signed_out(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mpd_analyst"])
    assert client.get("/").status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 3600
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302
    assert "session.expired" in [e.action for e in AuditEntry.objects.all()]


def test_gaining_a_person_level_role_requires_a_second_factor(client: Client, world: Any) -> None:
    _password_step(client, "crn_manager", world.password)
    assert client.get("/").status_code == 200
    manager = world.users["crn_manager"]
    manager.roles = ["analyst", "program_manager"]
    manager.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_deactivated_user_loses_the_session(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mfd_analyst"])
    assert client.get("/").status_code == 200
    User.objects.filter(username="mfd_analyst").update(is_active=False)
    assert client.get("/").status_code == 302


def test_security_headers_and_secure_cookies(client: Client, world: Any) -> None:
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    _password_step(client, "phd_manager", world.password)
    assert client.cookies["sessionid"]["secure"]
    assert client.cookies["sessionid"]["httponly"]


def test_login_requires_csrf(world: Any) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "phd_manager", "password": "x"})
    assert response.status_code == 403
