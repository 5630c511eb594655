"""Every care page answers for the role it is for, and refuses the others."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = [
    ("/care/", "mpd_officer", 200),
    ("/care/encounters/new/", "mpd_officer", 200),
    ("/care/encounters/new/", "phd_analyst", 403),
    ("/care/referrals/mine/", "mpd_officer", 200),
    ("/care/provider/", "bhc_clinician", 200),
    ("/care/provider/", "mpd_officer", 403),
    ("/care/coordinator/", "bhc_coordinator", 200),
    ("/care/coordinator/", "mpd_officer", 403),
    ("/care/measures/", "phd_manager", 200),
    ("/care/measures/", "mpd_officer", 403),
    ("/care/directory/", "mpd_analyst", 200),
    ("/care/triage/", "mpd_officer", 200),
    ("/care/triage/", "mpd_analyst", 403),
    ("/care/co-responder/", "bhc_clinician", 200),
    ("/care/encounters/", "mpd_officer", 200),
]


@pytest.mark.parametrize(("path", "username", "status"), PAGES)
def test_pages_by_role(
    client: Client, care: Any, login_as: Any, path: str, username: str, status: int
) -> None:
    login_as(client, care.world.users[username])
    assert client.get(path).status_code == status


def test_pages_need_sign_in(client: Client, care: Any) -> None:
    response = client.get("/care/encounters/new/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_home_offers_the_provider_queue_only_to_roles_that_may_open_it(
    client: Client, care: Any, login_as: Any
) -> None:
    from wellbeat.web.care.models import DirectoryEntry

    # CRN runs services in the directory, but its program manager may not work referrals.
    assert DirectoryEntry.objects.filter(agency=care.world.users["crn_manager"].agency).exists()
    login_as(client, care.world.users["crn_manager"])
    assert 'href="/care/provider/"' not in client.get("/care/").content.decode()
    assert client.get("/care/provider/").status_code == 403
    login_as(client, care.world.users["bhc_clinician"])
    assert 'href="/care/provider/"' in client.get("/care/").content.decode()


def test_a_single_check_box_sits_before_its_label(client: Client, care: Any, login_as: Any) -> None:
    login_as(client, care.world.users["mpd_officer"])
    page = client.get("/care/directory/").content.decode()
    box = page.index('id="id_open_now"')
    assert box < page.index('<label for="id_open_now">') < box + 200
