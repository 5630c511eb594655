"""Referrals say whom they are for, and the hub cannot read it: an officer refers a person with
their name and phone; the provider's clinician, after unlocking the agency key, reads them on
the queue and the referral page; nobody else can; and neither the hub's database (every table,
every column) nor anything logged during the whole exchange contains the name or the phone."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.care import actions
from wellbeat.web.care.actions import CareError
from wellbeat.web.care.models import AgencyKey, ContactStatus, Referral

pytestmark = pytest.mark.django_db

PASSPHRASE = "bhc-kestrel-meadow-7731"
NAME = "Quillon Abernathy-Vasquez"
PHONE = "+1 515 555 0199"
ADDRESS = "44 Larkspur Court"
SECRETS = (NAME, "Quillon", "Abernathy", PHONE, "555 0199", ADDRESS, PASSPHRASE)


def hub_database_dump() -> list[tuple[str, str, str]]:
    """(table, column, text) for every value of every column of every table of the hub's
    database; binary values as bytes decoded leniently, sessions also decoded."""
    found: list[tuple[str, str, str]] = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {quote(table)}")
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes):
                        found.append((table, column, value.decode("utf-8", "replace")))
                        found.append((table, column, value.decode("latin-1")))
                    elif value is not None:
                        found.append((table, column, str(value)))
    for session in Session.objects.all():  # signed and compressed: decode to search it
        found.append(("django_session", "decoded", repr(session.get_decoded())))
    return found


def leaks(texts: list[tuple[str, str, str]], needles: tuple[str, ...]) -> list[str]:
    return [
        f"{table}.{column} contains {needle!r}"
        for table, column, text in texts
        for needle in needles
        if needle.lower() in text.lower()
    ]


@pytest.fixture
def keyed(care: Any, client: Client, login_as: Any) -> Any:
    """BHC's agency admin created the contact key on the keys page."""
    login_as(client, care.world.users["bhc_admin"])
    response = client.post(
        "/care/keys/", {"action": "create", "passphrase": PASSPHRASE, "confirm": PASSPHRASE}
    )
    assert response.status_code == 302
    client.logout()
    return care


def refer_with_contact(client: Client, care: Any, login_as: Any, **changes: str) -> Referral:
    login_as(client, care.world.users["mpd_officer"])
    encounter = care.encounter()
    fields = {
        "service_id": care.services["counselling"].service_id,
        "share_contact": "on",
        "contact_name": NAME,
        "contact_phone": PHONE,
        "contact_method": "text",
        "contact_time": "after 5 pm",
        "contact_address": ADDRESS,
        **changes,
    }
    response = client.post(f"/care/encounters/{encounter.public_id}/refer/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    return Referral.objects.get(encounter=encounter)


def test_the_provider_clinician_reads_the_name_and_the_hub_keeps_only_ciphertext(
    keyed: Any, client: Client, login_as: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "wellbeat"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True  # every SQL statement and its parameters is logged
    try:
        referral = refer_with_contact(client, keyed, login_as)
        users = keyed.world.users
        assert referral.contact_status == ContactStatus.SEALED
        assert referral.contact_key == AgencyKey.objects.get(agency__code="BHC")

        login_as(client, users["bhc_clinician"])
        queue = client.get("/care/provider/").content.decode()
        assert NAME not in queue and "Sealed for BHC" in queue and "Unlock" in queue
        wrong = client.post("/care/provider/unlock/", {"passphrase": "not-the-passphrase"})
        assert "does not open" in wrong.content.decode()
        unlocked = client.post(
            "/care/provider/unlock/", {"passphrase": PASSPHRASE, "next": "/care/provider/"}
        )
        assert unlocked.status_code == 302 and unlocked.cookies["wellbeat_contact_key"]["httponly"]
        queue = client.get("/care/provider/").content.decode()
        assert NAME in queue
        row = queue.split(f'id="referral-{referral.public_id}"')[1].split("</tr>")[0]
        assert "mental-health" in row and "Crisis" in row and "just now" in row
        detail = client.get(f"/care/referrals/{referral.public_id}/").content.decode()
        assert NAME in detail and PHONE in detail and ADDRESS in detail and "after 5 pm" in detail
        client.post("/care/provider/lock/")
        assert NAME not in client.get("/care/provider/").content.decode()
        client.logout()

        login_as(client, users["bhc_coordinator"])  # coordinators too, after their own unlock
        client.post("/care/provider/unlock/", {"passphrase": PASSPHRASE})
        assert NAME in client.get("/care/coordinator/").content.decode()
        client.logout()

        login_as(client, users["mpd_officer"])  # the referrer's side: sealed, even to them
        mine = client.get("/care/referrals/mine/").content.decode()
        assert NAME not in mine and "Sealed for BHC" in mine
        client.logout()

        logged = "\n".join(
            f"{r.name} {r.getMessage()} {r.args!r} {getattr(r, 'params', '')}"
            for r in caplog.records
        )
        assert "care_referral" in logged  # the SQL log was on: the search below can fail
        assert not [s for s in SECRETS if s.lower() in logged.lower()]
        assert not [s for s in SECRETS if s.lower() in caplog.text.lower()]
    finally:
        connection.force_debug_cursor = False
    dump = hub_database_dump()
    assert leaks(dump, ("Crisis counselling",))  # the search finds what is there
    assert leaks(dump, SECRETS) == []
    events = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"care.contact_key_created", "care.contact_keys_unlocked"} <= events
    assert {"care.contacts_revealed", "care.contact_keys_unlock_refused"} <= events


def test_nobody_else_opens_the_card(keyed: Any, client: Client, login_as: Any) -> None:
    referral = refer_with_contact(client, keyed, login_as)
    users = keyed.world.users
    bhc_keys = actions.do_unlock_contact_keys(users["bhc_clinician"], PASSPHRASE)
    # The agency admin holds the passphrase but is neither clinician nor coordinator.
    assert actions.do_reveal_contacts(users["bhc_admin"], [referral], bhc_keys, "t") == {}
    login_as(client, users["bhc_admin"])
    assert client.get("/care/provider/unlock/").status_code == 403
    client.logout()
    # Another agency's clinician-side staff and the referrer's agency, even given BHC's keys.
    for username in ("crn_coordinator", "mpd_officer", "mpd_admin"):
        assert actions.do_reveal_contacts(users[username], [referral], bhc_keys, "t") == {}
    with pytest.raises(CareError, match="no contact key"):
        actions.do_unlock_contact_keys(users["crn_coordinator"], PASSPHRASE)
    # BHC's own clinician reads it.
    cards = actions.do_reveal_contacts(users["bhc_clinician"], [referral], bhc_keys, "t")
    assert cards[referral.pk].name == NAME


def test_without_the_persons_agreement_no_identity_is_sent(
    keyed: Any, client: Client, login_as: Any
) -> None:
    referral = refer_with_contact(client, keyed, login_as, share_contact="")
    assert referral.contact_status == ContactStatus.NOT_CONSENTED
    assert referral.contact_sealed is None and referral.contact_key is None
    login_as(client, keyed.world.users["bhc_clinician"])
    client.post("/care/provider/unlock/", {"passphrase": PASSPHRASE})
    queue = client.get("/care/provider/").content.decode()
    assert "No contact details (not agreed)" in queue and NAME not in queue
    assert leaks(hub_database_dump(), SECRETS) == []


def test_a_provider_without_a_key_gets_no_identity(
    care: Any, client: Client, login_as: Any
) -> None:
    referral = refer_with_contact(client, care, login_as)
    assert referral.contact_status == ContactStatus.NO_KEY and referral.contact_sealed is None
    assert leaks(hub_database_dump(), SECRETS) == []


def test_key_replacement_and_passphrase_change_keep_old_cards_readable(
    keyed: Any, client: Client, login_as: Any
) -> None:
    users = keyed.world.users
    first = refer_with_contact(client, keyed, login_as)
    with pytest.raises(CareError, match="current passphrase"):
        actions.do_create_agency_key(users["bhc_admin"], "a-different-passphrase")
    actions.do_create_agency_key(users["bhc_admin"], PASSPHRASE)
    second = refer_with_contact(client, keyed, login_as)
    assert first.contact_key_id != second.contact_key_id
    assert actions.do_change_key_passphrase(users["bhc_admin"], PASSPHRASE, "new-bhc-phrase-2") == 2
    with pytest.raises(CareError):
        actions.do_unlock_contact_keys(users["bhc_clinician"], PASSPHRASE)
    keys = actions.do_unlock_contact_keys(users["bhc_clinician"], "new-bhc-phrase-2")
    cards = actions.do_reveal_contacts(users["bhc_clinician"], [first, second], keys, "t")
    assert {c.name for c in cards.values()} == {NAME} and len(cards) == 2


def test_the_name_is_required_when_the_person_agrees(
    keyed: Any, client: Client, login_as: Any
) -> None:
    login_as(client, keyed.world.users["mpd_officer"])
    encounter = keyed.encounter()
    response = client.post(
        f"/care/encounters/{encounter.public_id}/refer/",
        {"service_id": keyed.services["counselling"].service_id, "share_contact": "on"},
    )
    assert response.status_code == 200 and "Give the person" in response.content.decode()
    assert not Referral.objects.exists()


def test_the_api_seals_the_card_and_never_returns_it(
    keyed: Any, client: Client, login_as: Any
) -> None:
    from tests.web.care.test_api_and_triage import post

    login_as(client, keyed.world.users["mpd_officer"])
    encounter = keyed.encounter()
    body = {
        "encounter_id": str(encounter.public_id),
        "service_id": keyed.services["counselling"].service_id,
        "share_contact": True,
        "contact": {"name": NAME, "phone": PHONE, "contact_method": "phone"},
    }
    bad = post(
        client,
        "/api/care/referrals",
        {**body, "contact": {"name": NAME, "contact_method": "pigeon"}},
    )
    assert bad.status_code == 422 and NAME not in bad.content.decode()
    created = post(client, "/api/care/referrals", body)
    assert created.status_code == 201 and created.json()["contact_status"] == "sealed"
    assert NAME not in created.content.decode()
    login_as(client, keyed.world.users["bhc_clinician"])
    listed = client.get("/api/care/referrals?box=incoming").content.decode()
    assert '"contact_status": "sealed"' in listed.replace('":"', '": "') and NAME not in listed
    assert leaks(hub_database_dump(), SECRETS) == []


def test_passphrase_guessing_is_throttled(keyed: Any) -> None:
    clinician = keyed.world.users["bhc_clinician"]
    for _ in range(actions.UNLOCK_ATTEMPTS):
        with pytest.raises(CareError, match="does not open"):
            actions.do_unlock_contact_keys(clinician, "a-wrong-guess-here")
    with pytest.raises(CareError, match="wait before trying again"):
        actions.do_unlock_contact_keys(clinician, PASSPHRASE)
    # Another user of the agency is not locked out by the guesser.
    assert actions.do_unlock_contact_keys(keyed.world.users["bhc_coordinator"], PASSPHRASE)
