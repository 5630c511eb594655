"""Browser-test infrastructure: Django's live server on a free port and Debian's headless
Chromium through Debian's chromedriver (selenium-manager never downloads anything).

Tests are marked ``@pytest.mark.browser``. Without chromium they are skipped with the reason,
unless ``WELLBEAT_REQUIRE_BROWSER=1`` (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("WELLBEAT_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("WELLBEAT_CHROMEDRIVER", "/usr/bin/chromedriver"))
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
]


def _browser_missing() -> str:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"headless browser not installed: {', '.join(missing)} missing"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'wellbeat[dev]')"
    return ""


def _require_browser() -> bool:
    return os.environ.get("WELLBEAT_REQUIRE_BROWSER", "") in ("1", "true", "yes")


@pytest.fixture(scope="session")
def browser_available() -> None:
    reason = _browser_missing()
    if reason:
        if _require_browser():
            pytest.fail(f"WELLBEAT_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def driver(browser_available: None) -> Iterator[Any]:
    """A fresh headless Chromium with its own temporary profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="wellbeat-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.implicitly_wait(5)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def hub_url(live_server: Any, hub_data_dir: Path) -> Callable[[str], str]:
    """Absolute URL of a path on the live hub (which uses a temporary data directory)."""

    def url(path: str) -> str:
        return f"{live_server.url}{path}"

    return url


def is_detached(element: Any) -> bool:
    """True once ``element`` no longer belongs to the page (the page was replaced).

    Selenium's ``staleness_of`` expects StaleElementReferenceException, but Chromium 156 reports
    a node of an unloaded document as a generic "Node with given id does not belong to the
    document" error; both mean the same here.
    """
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def page_settled(driver: Any) -> None:
    """Wait until the current page has finished loading (redirect chains included)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def follow(driver: Any, element: Any) -> None:
    """Click something that loads a new page (a link, a submit button) and wait until the next
    page has replaced this one, so the test never reads or acts on a page being unloaded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 20).until(lambda _d: is_detached(page))
    page_settled(driver)


@pytest.fixture
def sign_in(driver: Any, hub_url: Callable[[str], str]) -> Callable[[str, str, str], None]:
    """Sign in through the real pages: password step, then the TOTP code (if asked)."""
    from selenium.webdriver.common.by import By

    def run(username: str, password: str, code: str) -> None:
        driver.get(hub_url("/accounts/login/"))
        driver.find_element(By.ID, "id_username").send_keys(username)
        driver.find_element(By.ID, "id_password").send_keys(password)
        submit(By.CSS_SELECTOR, "button[type=submit]")
        if "/accounts/login/verify/" in driver.current_url:
            driver.find_element(By.ID, "id_code").send_keys(code)
            submit(By.CSS_SELECTOR, "main button[type=submit]")

    def submit(by: str, selector: str) -> None:
        follow(driver, driver.find_element(by, selector))

    return run
