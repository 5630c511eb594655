"""In a real browser: sign in with password + TOTP, see the hub's home page, open the audit
viewer and find the sign-in there."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_totp_and_find_it_in_the_audit_log(
    driver: Any, hub_url: Any, sign_in: Any, world: Any
) -> None:
    from selenium.webdriver.common.by import By

    sign_in("hub_auditor", world.password, world.totp_code("hub_auditor"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Hub status"
    assert "No batches yet" in driver.find_element(By.TAG_NAME, "main").text
    nav = driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]")
    follow(driver, nav.find_element(By.LINK_TEXT, "Audit log"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Audit log"
    driver.find_element(By.ID, "id_action").send_keys("login")
    follow(driver, driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
    rows = driver.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[2].text for r in rows] == ["login.succeeded"]
    assert "hub_auditor" in rows[0].text
    # No console errors: the strict CSP blocked nothing the pages need.
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == []


def test_a_wrong_code_is_announced_next_to_the_field(
    driver: Any, hub_url: Any, sign_in: Any, world: Any
) -> None:
    from selenium.webdriver.common.by import By

    sign_in("mpd_analyst", world.password, "123456")
    field = driver.find_element(By.ID, "id_code")
    assert field.get_attribute("aria-invalid") == "true"
    error = driver.find_element(By.ID, "id_code-error")
    assert "not valid" in error.text
    assert "id_code-error" in field.get_attribute("aria-describedby")
