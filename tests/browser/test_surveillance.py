"""In a real browser: an analyst signs in (password + TOTP), sees an alert on the surveillance
overview, opens it, sees the evidence drawn, and acknowledges it."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analyst_sees_opens_and_acknowledges_an_alert(
    driver: Any, hub_url: Any, sign_in: Any, world: Any, hub_data_dir: Any
) -> None:
    from selenium.webdriver.common.by import By
    from tests.web.surveillance.conftest import FIRST_DAY, LAST_DAY, ems_city

    from wellbeat.web.surveillance.detection import run_detection
    from wellbeat.web.surveillance.models import Alert

    ems_city(world, hub_data_dir)
    run_detection(LAST_DAY, since=FIRST_DAY)
    alert = Alert.objects.get(area="n1", method="threshold")

    sign_in("phd_analyst", world.password, world.totp_code("phd_analyst"))
    nav = driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]")
    follow(driver, nav.find_element(By.LINK_TEXT, "Overview"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "Surveillance overview"
    alert_link = f"a[href='/surveillance/alerts/{alert.pk}/']"
    follow(driver, driver.find_element(By.CSS_SELECTOR, alert_link))
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith(f"Alert #{alert.pk}")
    assert driver.find_element(By.ID, "alert-status").text == "New"
    # The evidence chart and the map were drawn by the bundled plotly.js.
    drawn = driver.find_elements(By.CSS_SELECTOR, "[data-drawn=true]")
    assert len(drawn) == 2
    follow(driver, driver.find_element(By.ID, "acknowledge"))
    assert driver.find_element(By.ID, "alert-status").text == "Acknowledged"
    assert "acknowledge recorded" in driver.find_element(By.CSS_SELECTOR, ".messages").text
    assert Alert.objects.get(pk=alert.pk).status == "acknowledged"
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == []


def _drawn_traces(driver: Any) -> dict[str, int]:
    """Each trace of the explorer's series chart with its count of drawn (non-null) points."""
    return dict(
        driver.execute_script(
            "var el = document.querySelector('[data-chart=chart-series]');"
            "return el.data.map(function (t) { return [t.name,"
            " t.y.filter(function (v) { return v !== null && v !== undefined; }).length]; });"
        )
    )


def _legend(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    chart = driver.find_element(By.CSS_SELECTOR, "[data-chart=chart-series]")
    return [e.text for e in chart.find_elements(By.CSS_SELECTOR, ".legendtext")]


def test_explorer_draws_expected_upper_bound_and_marks_the_incomplete_week(
    driver: Any, hub_url: Any, sign_in: Any, world: Any, hub_data_dir: Any
) -> None:
    from selenium.webdriver.common.by import By
    from tests.web.surveillance.conftest import FIRST_DAY, LAST_DAY, ems_city

    from wellbeat.web.surveillance.detection import run_detection

    ems_city(world, hub_data_dir, syndromes=("overdose",))
    run_detection(LAST_DAY, since=FIRST_DAY)
    sign_in("phd_analyst", world.password, world.totp_code("phd_analyst"))

    window = f"&start={FIRST_DAY}&end={LAST_DAY}"
    driver.get(hub_url(f"/surveillance/explorer/?indicator=suspected_overdose&period=day{window}"))
    assert driver.find_element(By.CSS_SELECTOR, "[data-chart=chart-series][data-drawn=true]")
    traces = _drawn_traces(driver)
    # EARS C2 draws its expected value and upper bound as lines beside the observed counts.
    assert traces["Expected"] > 20 and traces["Upper bound (ears-c2)"] > 20
    assert traces["Observed"] == (LAST_DAY - FIRST_DAY).days + 1
    # The legend names exactly the traces that draw something.
    assert sorted(_legend(driver)) == sorted(name for name, n in traces.items() if n)

    # Weekly: the data end on a Wednesday, so the last week is marked incomplete (an open
    # marker and a shaded band), not drawn as a drop at the end of the observed line.
    driver.get(hub_url(f"/surveillance/explorer/?indicator=suspected_overdose&period=week{window}"))
    assert driver.find_element(By.CSS_SELECTOR, "[data-chart=chart-series][data-drawn=true]")
    traces = _drawn_traces(driver)
    incomplete = f"Incomplete week (through {LAST_DAY})"
    assert traces[incomplete] == 1
    observed_x = driver.execute_script(
        "var t = document.querySelector('[data-chart=chart-series]').data"
        ".filter(function (t) { return t.name === 'Observed'; })[0];"
        "return t.x.filter(function (x, i) { return t.y[i] !== null; });"
    )
    assert "2025-04-07" not in observed_x
    shapes = driver.execute_script(
        "return document.querySelector('[data-chart=chart-series]').layout.shapes"
        ".map(function (s) { return [s.type, s.x0]; });"
    )
    assert ["rect", "2025-04-07"] in shapes
    # Farrington's baseline is read from before the window: its lines are drawn too.
    assert traces["Expected"] > 0 and traces["Upper bound (farrington-flexible)"] > 0
    assert sorted(_legend(driver)) == sorted(name for name, n in traces.items() if n)
    assert "is incomplete" in driver.find_element(By.ID, "incomplete-note").text
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == []
