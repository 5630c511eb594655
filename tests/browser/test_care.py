"""In a real browser: an officer records an encounter on a phone-sized screen and refers; a
referral into SUD treatment without consent is refused with a clear reason; the provider
accepts and completes the other referral; the officer sees the status change; the coordinator
sees it closed; and after the person revokes their Part 2 consent the provider can no longer
read the SUD referral."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from tests.browser.conftest import follow, page_settled
from tests.care.builders import service_doc

from wellbeat.care.hsds import WeeklyHours

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALL_WEEK = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


CONTACT_PASSPHRASE = "bhc-browser-test-passphrase"


def _directory() -> None:
    from wellbeat.web.care.actions import do_import_directory

    always = (WeeklyHours(ALL_WEEK, "00:00", "23:59"),)
    do_import_directory(
        [
            service_doc("Crisis counselling", hours=always),
            service_doc(
                "Withdrawal management", needs=("substance-use",), part2=True, hours=always
            ),
        ],
        actor_label="test",
    )


def _sign_in(driver: Any, hub_url: Any, world: Any, username: str) -> None:
    """Sign in through the real pages, waiting for each step (the TOTP step is reset first, so
    a user may sign in again within one 30-second code window)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from wellbeat.web.accounts.models import User

    User.objects.filter(username=username).update(totp_last_step=0)
    driver.delete_all_cookies()
    driver.get(hub_url("/accounts/login/"))
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(world.password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: "/accounts/login/verify/" in d.current_url)
    driver.find_element(By.ID, "id_code").send_keys(world.totp_code(username))
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: "/accounts/login/" not in d.current_url)
    page_settled(driver)


def _button(driver: Any, text: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.XPATH, f"//button[normalize-space()='{text}']")


def test_encounter_referral_loop_consent_refusal_and_revocation(
    driver: Any, hub_url: Any, world: Any
) -> None:
    from selenium.webdriver.common.by import By

    from wellbeat.web.care.actions import do_create_agency_key

    _directory()
    do_create_agency_key(world.users["bhc_admin"], CONTACT_PASSPHRASE)
    driver.set_window_size(390, 844)  # a phone

    # The officer records an encounter and refers.
    _sign_in(driver, hub_url, world, "mpd_officer")
    driver.get(hub_url("/care/"))
    follow(driver, driver.find_element(By.LINK_TEXT, "New encounter"))
    driver.find_element(By.ID, "id_first_name").send_keys("Jordan")
    driver.find_element(By.ID, "id_last_name").send_keys("Rivera")
    driver.execute_script(
        "arguments[0].value = '1988-04-12'", driver.find_element(By.ID, "id_date_of_birth")
    )
    driver.find_element(By.CSS_SELECTOR, "input[name=needs][value=mental-health]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=needs][value=substance-use]").click()
    driver.find_element(By.ID, "id_crisis").click()
    driver.find_element(By.ID, "id_consent_to_refer").click()
    form = driver.find_element(By.CSS_SELECTOR, "form.phone-form")
    assert form.size["width"] <= 390
    follow(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Refer to a service"

    follow(driver, _button(driver, "Refer to Withdrawal management"))
    refusal = driver.find_element(By.CSS_SELECTOR, ".messages").text
    assert "Referral to Withdrawal management refused" in refusal
    assert "42 CFR Part 2" in refusal and "none is on file" in refusal

    # The person agrees that the service may contact them: the name typed on the encounter
    # form is already on the contact card.
    assert driver.find_element(By.ID, "id_contact_name").get_attribute("value") == "Jordan Rivera"
    driver.find_element(By.ID, "id_share_contact").click()
    driver.find_element(By.ID, "id_contact_phone").send_keys("+1 515 555 0142")
    follow(driver, _button(driver, "Refer to Crisis counselling"))
    assert "sealed for Metro Behavioral Health Center only" in (
        driver.find_element(By.CSS_SELECTOR, ".messages").text
    )
    row = driver.find_element(By.CSS_SELECTOR, "table tbody tr")
    assert "Crisis counselling" in row.text and "Sent, awaiting the provider" in row.text
    assert "Sealed for BHC" in row.text and "Jordan" not in row.text

    # The provider accepts, records first contact and completes.
    _sign_in(driver, hub_url, world, "bhc_clinician")
    driver.get(hub_url("/care/provider/"))
    follow(driver, driver.find_element(By.LINK_TEXT, "Unlock with the agency passphrase"))
    driver.find_element(By.ID, "id_passphrase").send_keys(CONTACT_PASSPHRASE)
    follow(driver, _button(driver, "Unlock"))
    row = driver.find_element(By.CSS_SELECTOR, "table tbody tr")
    assert "Jordan Rivera" in row.text and "Crisis" in row.text and "just now" in row.text
    for move in ("accepted", "in-progress", "completed"):
        follow(driver, driver.find_element(By.CSS_SELECTOR, f"button[data-move='{move}']"))
        assert (
            "Referral to Crisis counselling"
            in driver.find_element(By.CSS_SELECTOR, ".messages").text
        )
    assert driver.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status") == (
        "completed"
    )

    # The officer sees the change.
    _sign_in(driver, hub_url, world, "mpd_officer")
    driver.get(hub_url("/care/referrals/mine/"))
    assert "Completed" in driver.find_element(By.CSS_SELECTOR, "table tbody").text
    assert "Crisis counselling: Completed" in driver.find_element(By.CSS_SELECTOR, ".callout").text

    # The coordinator sees it closed.
    _sign_in(driver, hub_url, world, "bhc_coordinator")
    driver.get(hub_url("/care/coordinator/"))
    status = driver.find_element(By.CSS_SELECTOR, "table tbody [data-status]")
    assert status.get_attribute("data-status") == "completed"

    # With a Part 2 consent on file the SUD referral goes through; after revocation the
    # provider can no longer read it.
    from wellbeat.privacy.pseudonym import Identity
    from wellbeat.web.care.actions import hub_person_token
    from wellbeat.web.care.models import Referral
    from wellbeat.web.governance import actions as governance

    token = hub_person_token(Identity("Jordan", "Rivera", date(1988, 4, 12)))
    consent = governance.do_record_consent(
        world.users["bhc_clinician"],
        person_token=token,
        information="Whether the person entered withdrawal management",
        recipients=[world.agencies["MPD"]],
        purpose="care_coordination",
        signed_on=date.today(),
        expires_on=date(date.today().year + 1, 12, 31),
    )
    _sign_in(driver, hub_url, world, "mpd_officer")
    driver.get(hub_url("/care/encounters/"))
    follow(driver, driver.find_element(By.LINK_TEXT, "Refer"))
    follow(driver, _button(driver, "Refer to Withdrawal management"))
    assert (
        "Referral sent to Withdrawal management"
        in driver.find_element(By.CSS_SELECTOR, ".messages").text
    )
    sud = Referral.objects.get(service_name="Withdrawal management")

    _sign_in(driver, hub_url, world, "bhc_clinician")
    driver.get(hub_url(f"/care/referrals/{sud.public_id}/"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Referral to Withdrawal management"
    driver.get(hub_url("/consents/"))
    driver.find_element(By.ID, f"reason-{consent.code}").send_keys("Person withdrew consent")
    follow(driver, _button(driver, "Revoke"))
    driver.get(hub_url(f"/care/referrals/{sud.public_id}/"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "This referral cannot be shown"
    assert "no longer in force" in driver.find_element(By.CSS_SELECTOR, ".withheld").text
    problems = [
        e
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "/care/referrals/" not in e.get("message", "")
    ]
    assert problems == []
