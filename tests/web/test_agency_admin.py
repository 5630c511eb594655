"""Agency admins manage their own agency's users, and nobody manages another agency's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from wellbeat.web.accounts import actions
from wellbeat.web.accounts.models import User
from wellbeat.web.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_admin_invites_a_user_in_their_agency(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mpd_admin"])
    response = client.post(
        "/accounts/agency/users/new/",
        {
            "username": "mpd_new_officer",
            "full_name": "Pat Doe",
            "email": "pat@example.org",
            # A password sent by the admin is ignored: the form has no such field.
            "password": "a-long-enough-passphrase",
            "roles": ["officer"],
        },
    )
    assert response.status_code == 200
    link = response.context["link"]
    assert "/accounts/invitation/" in link
    created = User.objects.get(username="mpd_new_officer")
    assert created.agency.code == "MPD" and created.roles == ["officer"]
    assert not created.has_usable_password()
    assert not created.check_password("a-long-enough-passphrase")
    assert created.requires_second_factor and created.totp_confirmed_at is None
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.action for e in entries] == ["user.created", "user.invitation_issued"]
    assert {e.actor_username for e in entries} == {"mpd_admin"}
    assert entries[0].details == {"roles": ["officer"], "via": "invitation"}


def test_create_form_reports_errors_on_the_field(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mpd_admin"])
    response = client.post(
        "/accounts/agency/users/new/", {"username": "mpd_analyst", "roles": ["analyst"]}
    )
    assert response.status_code == 200
    assert "username &#x27;mpd_analyst&#x27; is already taken" in response.content.decode()


def test_role_change_is_audited_with_before_and_after(
    client: Client, world: Any, login_as: Any
) -> None:
    target = world.users["mpd_officer"]
    login_as(client, world.users["mpd_admin"])
    response = client.post(
        f"/accounts/agency/users/{target.pk}/",
        {"operation": "roles", "roles": ["officer", "analyst"]},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.roles == ["analyst", "officer"]
    entry = AuditEntry.objects.get(action="user.roles_changed")
    assert entry.details["before"] == ["officer"]
    assert entry.details["added"] == ["analyst"]
    assert entry.target == "user:mpd_officer"


def test_deactivate_and_reset_totp(client: Client, world: Any, login_as: Any) -> None:
    target = world.users["bhc_clinician"]
    login_as(client, world.users["bhc_admin"])
    client.post(f"/accounts/agency/users/{target.pk}/", {"operation": "reset_totp"})
    target.refresh_from_db()
    assert target.totp_secret == "" and target.totp_confirmed_at is None
    client.post(
        f"/accounts/agency/users/{target.pk}/", {"operation": "deactivate", "reason": "left"}
    )
    target.refresh_from_db()
    assert not target.is_active
    assert [e.action for e in AuditEntry.objects.order_by("seq")] == [
        "totp.reset",
        "user.deactivated",
    ]


def test_outsider_admin_cannot_see_or_change_another_agencys_users(
    client: Client, world: Any, login_as: Any
) -> None:
    target = world.users["mpd_officer"]
    login_as(client, world.outsider)
    listing = client.get("/accounts/agency/users/")
    assert b"mpd_officer" not in listing.content
    for operation in ({"operation": "roles", "roles": ["analyst"]}, {"operation": "deactivate"}):
        response = client.post(f"/accounts/agency/users/{target.pk}/", operation)
        assert response.status_code == 404
    target.refresh_from_db()
    assert target.roles == ["officer"] and target.is_active
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "operation",
    [
        lambda admin, target: actions.do_set_roles(admin, target, ["analyst"]),
        lambda admin, target: actions.do_deactivate_user(admin, target),
        lambda admin, target: actions.do_reset_totp(admin, target),
    ],
    ids=["roles", "deactivate", "reset_totp"],
)
def test_actions_refuse_managers_of_other_agencies(world: Any, operation: Any) -> None:
    target = world.users["mpd_officer"]
    for intruder in ("xpd_admin", "hub_admin", "mpd_analyst"):
        with pytest.raises(actions.NotAllowed, match="only an agency admin of MPD"):
            operation(world.users[intruder], target)


def test_non_admins_cannot_open_admin_pages(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mpd_analyst"])
    response = client.get("/accounts/agency/users/")
    assert response.status_code == 403
    assert b"Agency admin" in response.content


def test_hub_admin_role_is_only_for_the_hub_agency(world: Any) -> None:
    with pytest.raises(actions.AccountError, match="for the hub's own agency only"):
        actions.do_set_roles(world.users["mpd_admin"], world.users["mpd_officer"], ["hub_admin"])


def test_admin_cannot_remove_own_admin_role_or_deactivate_self(world: Any) -> None:
    admin = world.users["phd_admin"]
    with pytest.raises(actions.AccountError, match="cannot remove your own agency admin role"):
        actions.do_set_roles(admin, admin, ["analyst"])
    with pytest.raises(actions.AccountError, match="cannot deactivate yourself"):
        actions.do_deactivate_user(admin, admin)
