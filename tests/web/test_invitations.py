"""Second factors that cannot be skipped: admins act only from sessions that passed TOTP, and
new users set their own password and enrol their own authenticator through a single-use,
expiring invitation; no admin ever chooses a password for someone else."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.utils import timezone

from wellbeat.web.accounts import actions, totp
from wellbeat.web.accounts.middleware import LAST_SEEN_KEY, SECOND_FACTOR_KEY
from wellbeat.web.accounts.models import Invitation, User
from wellbeat.web.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "my-own-long-passphrase-42"


def _password_only_session(client: Client, user: User) -> Client:
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SECOND_FACTOR_KEY] = False
    session[LAST_SEEN_KEY] = time.time()
    session.save()
    return client


def test_admins_must_pass_a_second_factor_to_sign_in(client: Client, world: Any) -> None:
    admin = world.users["mpd_admin"]
    admin.totp_secret = ""
    admin.totp_confirmed_at = None
    admin.save()
    response = client.post(
        "/accounts/login/", {"username": "mpd_admin", "password": world.password}
    )
    # No password-only admin session: the password step leads to enrolment.
    assert response["Location"] == "/accounts/login/enrol/"
    assert client.get("/accounts/agency/users/").status_code == 302


def test_a_password_only_admin_session_is_signed_out(client: Client, world: Any) -> None:
    _password_only_session(client, world.users["mpd_admin"])
    response = client.post(
        "/accounts/agency/users/new/", {"username": "sneaky", "roles": ["analyst"]}
    )
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not User.objects.filter(username="sneaky").exists()


def test_a_password_only_admin_session_cannot_issue_api_tokens(client: Client, world: Any) -> None:
    _password_only_session(client, world.users["mpd_admin"])
    response = client.post(
        "/api/tokens",
        {"name": "t", "scopes": ["batches:write"]},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"
    assert not AuditEntry.objects.filter(action="token.created").exists()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/agency/users/new/", {"username": "sneaky", "roles": ["analyst"]}),
        ("USER", {"operation": "roles", "roles": ["analyst", "officer"]}),
        ("/accounts/agency/tokens/", {"name": "t", "scopes": ["batches:write"]}),
    ],
    ids=["create", "roles", "tokens"],
)
def test_admin_pages_refuse_a_session_without_second_factor(
    client: Client, world: Any, settings: Any, path: str, data: dict[str, Any]
) -> None:
    # Even if the session policy did not sign such a session out, the pages refuse it.
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith("SessionPolicyMiddleware")
    ]
    target = world.users["mpd_officer"]
    _password_only_session(client, world.users["mpd_admin"])
    url = f"/accounts/agency/users/{target.pk}/" if path == "USER" else path
    response = client.post(url, data)
    assert response.status_code == 403
    assert b"needs a session that passed the second factor" in response.content
    target.refresh_from_db()
    assert target.roles == ["officer"]
    assert not User.objects.filter(username="sneaky").exists()
    assert not AuditEntry.objects.exists()


def test_preset_passwords_exist_only_in_demo_mode(world: Any, settings: Any) -> None:
    settings.WELLBEAT_DEMO = False
    with pytest.raises(actions.NotAllowed, match="only in demo mode"):
        actions.do_create_user(
            actor=world.users["mpd_admin"],
            agency=world.agencies["MPD"],
            username="known-password",
            password=NEW_PASSWORD,
            roles=["analyst"],
        )
    assert not User.objects.filter(username="known-password").exists()


def _invite(world: Any, username: str = "newbie", roles: list[str] | None = None) -> Any:
    return actions.do_invite_user(
        actor=world.users["mpd_admin"],
        agency=world.agencies["MPD"],
        username=username,
        roles=roles or ["analyst"],
    )


def test_invitee_sets_own_password_and_enrols_own_authenticator(world: Any) -> None:
    issued = _invite(world)
    client = Client()
    page = client.get(issued.path())
    assert page.status_code == 200
    secret = page.context["secret"].replace(" ", "")
    response = client.post(
        issued.path(),
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "code": totp.current_code(secret),
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    user = User.objects.get(username="newbie")
    assert user.check_password(NEW_PASSWORD)
    assert user.totp_secret == secret and user.totp_confirmed_at is not None
    accepted = AuditEntry.objects.get(action="user.invitation_accepted")
    assert accepted.actor_username == "newbie" and accepted.details["second_factor"] is True
    # Single use: the link is spent.
    again = Client().get(issued.path())
    assert again.status_code == 404
    assert b"not valid" in again.content
    with pytest.raises(actions.AccountError, match="not valid"):
        actions.do_accept_invitation(issued.token, "another-long-passphrase")
    # And the new user signs in with their own password and their own authenticator.
    signin = Client()
    signin.post("/accounts/login/", {"username": "newbie", "password": NEW_PASSWORD})
    verify = signin.post(
        "/accounts/login/verify/", {"code": totp.current_code(secret, time.time() + 30)}
    )
    assert verify.status_code == 302 and signin.get("/").status_code == 200


def test_an_invited_account_cannot_sign_in_before_accepting(client: Client, world: Any) -> None:
    _invite(world)
    response = client.post("/accounts/login/", {"username": "newbie", "password": ""})
    assert response.status_code == 200
    user = User.objects.get(username="newbie")
    assert not user.has_usable_password()


def test_invitation_needs_a_valid_code_and_a_strong_password(world: Any) -> None:
    issued = _invite(world)
    client = Client()
    client.get(issued.path())
    weak = client.post(
        issued.path(), {"new_password1": "password", "new_password2": "password", "code": "1"}
    )
    assert weak.status_code == 200
    wrong_code = client.post(
        issued.path(),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "code": "000000"},
    )
    assert "That code does not match" in wrong_code.content.decode()
    secret = wrong_code.context["secret"].replace(" ", "")
    short = client.post(
        issued.path(),
        {"new_password1": "short", "new_password2": "short", "code": totp.current_code(secret)},
    )
    assert "too short" in short.content.decode()
    assert not User.objects.get(username="newbie").has_usable_password()
    with pytest.raises(actions.AccountError, match="roles need a second factor"):
        actions.do_accept_invitation(issued.token, NEW_PASSWORD)


def test_an_expired_or_replaced_invitation_does_not_work(world: Any) -> None:
    first = _invite(world)
    Invitation.objects.filter(pk=first.invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client().get(first.path()).status_code == 404
    second = actions.do_reissue_invitation(world.users["mpd_admin"], first.user)
    third = actions.do_reissue_invitation(world.users["mpd_admin"], first.user)
    assert Client().get(second.path()).status_code == 404
    assert Client().get(third.path()).status_code == 200
    # The token is stored only hashed.
    stored = Invitation.objects.get(pk=third.invitation.pk)
    assert third.token not in stored.token_hash


def test_an_account_in_use_cannot_be_reinvited(world: Any) -> None:
    with pytest.raises(actions.AccountError, match="already set a password"):
        actions.do_reissue_invitation(world.users["mpd_admin"], world.users["mpd_analyst"])
    with pytest.raises(actions.NotAllowed):
        actions.do_reissue_invitation(world.users["xpd_admin"], _invite(world).user)


def test_roles_without_second_factor_only_set_a_password(world: Any) -> None:
    issued = actions.do_invite_user(
        actor=world.users["phd_admin"],
        agency=world.agencies["PHD"],
        username="phd-new-manager",
        roles=["program_manager"],
    )
    client = Client()
    page = client.get(issued.path())
    assert "code" not in page.context["form"].fields
    client.post(issued.path(), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    user = User.objects.get(username="phd-new-manager")
    assert user.check_password(NEW_PASSWORD) and user.totp_confirmed_at is None


def test_cli_invites_the_first_hub_admin(settings: Any) -> None:
    from wellbeat.cli import cli

    runner = CliRunner()
    data_dir = str(settings.DATA_DIR)
    added = runner.invoke(
        cli,
        ["users", "add-agency", "--data-dir", data_dir, "HUB", "--name", "Hub", "--sector", "hub"],
    )
    assert added.exit_code == 0, added.output
    result = runner.invoke(
        cli,
        [
            "users",
            "invite",
            "--data-dir",
            data_dir,
            "alice",
            "--agency",
            "HUB",
            "--role",
            "hub_admin",
            "--role",
            "agency_admin",
            "--base-url",
            "https://hub.example",
        ],
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("https://hub.example/accounts/invitation/")
    alice = User.objects.get(username="alice")
    assert not alice.has_usable_password() and alice.roles == ["agency_admin", "hub_admin"]
    created = AuditEntry.objects.get(action="user.created", target="user:alice")
    assert created.actor_id is None and created.actor_username.startswith("cli:")
    path = link.removeprefix("https://hub.example")
    page = Client().get(path)
    assert page.status_code == 200 and page.context["needs_code"] is True
