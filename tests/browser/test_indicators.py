"""In a real browser: the MPD analyst builds an indicator in the form, opens its page (the
series and the breakdown drawn, each legend naming only lines with points), and opens the
equity page (intervals drawn); a phone-width page does not scroll sideways; axe finds no
serious or critical violation on either page."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.browser.conftest import follow, page_settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = (390, 844)


def _legends(driver: Any) -> dict[str, list[str]]:
    """Each drawn chart's legend (trace names) by its data source id."""
    return dict(
        driver.execute_script(
            "return [...document.querySelectorAll('[data-indicator-chart][data-drawn=true]')]"
            ".map(el => [el.getAttribute('data-indicator-chart'),"
            " el.data.filter(t => t.y.some(v => v !== null)).map(t => t.name)]);"
        )
    )


def _axe_serious(driver: Any) -> list[str]:
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()
    violations = axe.run(options='{"resultTypes": ["violations"]}')["violations"]
    return [v["id"] for v in violations if v["impact"] in ("serious", "critical")]


def _sideways(driver: Any) -> bool:
    return bool(
        driver.execute_script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
    )


def test_analyst_builds_an_indicator_and_opens_it_and_the_equity_page(
    driver: Any, hub_url: Any, sign_in: Any, world: Any, hub_data_dir: Any
) -> None:
    from selenium.webdriver.common.by import By
    from tests.web.governance.lake_support import write_areas
    from tests.web.indicators.conftest import FIRST, LAST, ingest_stops

    write_areas(hub_data_dir)
    ingest_stops(hub_data_dir)
    sign_in("mpd_analyst", world.password, world.totp_code("mpd_analyst"))
    nav = driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]")
    follow(driver, nav.find_element(By.LINK_TEXT, "My indicators"))
    follow(driver, driver.find_element(By.LINK_TEXT, "New indicator"))
    driver.find_element(By.ID, "id_code").send_keys("stops_by_race")
    driver.find_element(By.ID, "id_name").send_keys("Stops by race")
    driver.find_element(By.ID, "id_description").send_keys("Every officer-initiated stop.")
    stop = driver.find_element(By.CSS_SELECTOR, "input[name=kinds][value=stop]")
    if not stop.is_displayed():  # the long list of kinds folds after its first choices
        driver.find_element(By.CSS_SELECTOR, "details.more-choices summary").click()
    stop.click()
    driver.find_element(By.ID, "id_by").send_keys("race")
    follow(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Stops by race"
    driver.get(driver.current_url + f"?start={FIRST}&end={LAST}&period=week")
    page_settled(driver)
    time.sleep(0.5)
    legends = _legends(driver)
    assert legends["chart-series"] == ["MPD (Metro Police Department)"]
    assert legends["chart-breakdown-0"] == ["white", "black", "hispanic"]
    assert _axe_serious(driver) == []
    driver.set_window_size(*PHONE)
    driver.refresh()
    page_settled(driver)
    assert not _sideways(driver)

    driver.set_window_size(1280, 900)
    driver.get(hub_url(f"/indicators/equity/?start={FIRST}&end={LAST}&layer=neighbourhood"))
    page_settled(driver)
    time.sleep(0.5)
    legends = _legends(driver)
    assert legends["chart-search-rate-0"] == ["% of stops searched (95% interval)"]
    assert driver.find_element(By.ID, "search-rate-MPD").is_displayed()
    assert _axe_serious(driver) == []
    driver.set_window_size(*PHONE)
    driver.refresh()
    page_settled(driver)
    assert not _sideways(driver)
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == []
