"""The per-role sweep of the served demo: every page a role's navigation offers, on a desktop
and on a 390 px phone, must answer without an error, fit the width, pass axe-core (no serious
or critical violation), show no misleading zero and draw every line its chart legend names.

The demo is built and served once for the session (``wellbeat demo --scale tiny``, the
embedded SQLite default); each role signs in once. The sweep is slow, so it runs once in CI:
it is skipped when WELLBEAT_DATABASE_URL is set (the PostgreSQL pass), because the served demo
always uses its own SQLite database whatever the suite's database is.

With WELLBEAT_SCREENSHOTS=DIR, ``test_phone_screenshots`` saves the user guide's phone
screenshots there (see docs/user-guide/README.md for the command).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, follow, page_settled

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("WELLBEAT_DATABASE_URL")),
        reason="the sweep serves the demo on its own SQLite database; it runs in the SQLite pass",
    ),
]

DESKTOP = (1280, 900)
PHONE = (390, 844)

# One demo user per role (and an analyst whose agency's agreements share little with it).
PERSONAS = {
    "hub_admin": "hub-hub-admin",
    "auditor": "hub-auditor",
    "agency_admin": "mpd-agency-admin",
    "analyst": "chd-analyst",
    "analyst_with_little_shared": "ome-analyst",
    "police_analyst": "mpd-analyst",
    "officer": "mpd-officer",
    "program_manager": "chd-program-manager",
    "clinician": "nbh-clinician",
    "care_coordinator": "nbh-care-coordinator",
}

SERIOUS = ("serious", "critical")


@dataclass(frozen=True)
class ServedDemo:
    base: str
    logins: dict[str, dict[str, Any]]


@pytest.fixture(scope="session")
def served_demo(browser_available: None) -> Iterator[ServedDemo]:
    """`wellbeat demo --scale tiny` served on a free port for the whole session, or, with
    WELLBEAT_SWEEP_URL, a demo already being served there (e.g. `wellbeat demo --port 8108`)."""
    running = os.environ.get("WELLBEAT_SWEEP_URL", "").rstrip("/")
    if running:
        from wellbeat.web.demo_logins import DEMO_PASSWORD, demo_totp_secret

        yield ServedDemo(
            running,
            {
                name: {"password": DEMO_PASSWORD, "totp_secret": demo_totp_secret(name)}
                for name in PERSONAS.values()
            },
        )
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data_dir = Path(tempfile.mkdtemp(prefix="wellbeat-sweep-")) / "hub"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WELLBEAT_"))}
    env.update(PYTHONUNBUFFERED="1", WELLBEAT_SECURE_COOKIES="0")  # plain HTTP
    command = [sys.executable, "-m", "wellbeat", "demo", "--data-dir", str(data_dir)]
    command += ["--scale", "tiny", "--port", str(port), "--json"]
    server = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        summary = json.loads(server.stdout.readline())
        # Keep reading what the server prints (its request log): a pipe nobody drains fills
        # up after a few hundred requests and the server then blocks on its next write.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):  # until gunicorn listens
            try:
                with urllib.request.urlopen(base + "/accounts/login/", timeout=10):
                    break
            except OSError:
                time.sleep(0.2)
        logins = {login["username"]: login for login in summary["logins"]}
        yield ServedDemo(base, logins)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # gunicorn still draining on a busy machine
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


@pytest.fixture
def browser(browser_available: None) -> Iterator[Any]:
    """A headless Chromium with its own profile (the conftest's ``driver`` needs a live server)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="wellbeat-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(2)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(driver: Any, demo: ServedDemo, username: str) -> None:
    import pyotp
    from selenium.webdriver.common.by import By

    login = demo.logins[username]
    driver.get(demo.base + "/accounts/login/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(login["password"])
    follow(driver, driver.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
    if "/accounts/login/verify/" not in driver.current_url:
        return  # a role without a second factor (a program manager) is signed in already
    totp = pyotp.TOTP(login["totp_secret"])
    for attempt in range(2):
        if "/accounts/login/verify/" not in driver.current_url:
            break
        if attempt:
            # A code is accepted once: the same user signed in during this 30 s step already
            # (another test of the session), so wait for the next code.
            time.sleep(totp.interval - time.time() % totp.interval + 1)
        field = driver.find_element(By.ID, "id_code")
        field.clear()
        field.send_keys(totp.now())
        follow(driver, driver.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
    assert "/accounts/login" not in driver.current_url, f"{username} could not sign in"


def nav_urls(driver: Any) -> list[str]:
    """The home page and every page the signed-in user's navigation offers."""
    hrefs = driver.execute_script(
        "return [...document.querySelectorAll('header nav a[href]')].map(a => a.href)"
    )
    home = driver.execute_script("return document.querySelector('header a.brand').href")
    return list(dict.fromkeys([home, *hrefs]))


LISTED_PAGES = {"/indicators/": "main table#indicator-list a[href]"}
"""Pages reached from a navigation page's list rather than the navigation itself (each of the
analyst's saved indicators): swept as pages too."""


def listed_urls(driver: Any, urls: list[str]) -> list[str]:
    found: list[str] = []
    for url in urls:
        selector = next((s for path, s in LISTED_PAGES.items() if url.endswith(path)), None)
        if selector is None:
            continue
        driver.get(url)
        page_settled(driver)
        found += driver.execute_script(
            f"return [...document.querySelectorAll({selector!r})].map(a => a.href)"
        )
    return list(dict.fromkeys(found))


def _script(name: str) -> str:
    """A check run in the page (a function body; ``return`` gives its result)."""
    return (Path(__file__).parent / "sweep" / name).read_text(encoding="utf-8")


STATUS_JS = "return performance.getEntriesByType('navigation')[0].responseStatus"

OVERFLOW_JS = _script("overflow.js")

# The numbers contract with the surveillance and care pages: a number in a card or a table cell
# says what it is (data-status value / zero / suppressed / not-shared). A "0" is only honest when
# it is a counted zero; a 0 standing for suppressed or unshared data misleads.
ZEROS_JS = _script("zeros.js")

# A legend must not name a line the chart does not draw.
LEGEND_JS = _script("legend.js")

# Links in the page that lead to "Not allowed" (403) or an error: a role is never offered those.
LINKS_JS = _script("links.js")


def check_page(driver: Any, url: str, size: tuple[int, int], seen_links: set[str]) -> list[str]:
    """Everything wrong with ``url`` at ``size``, as readable lines."""
    from axe_selenium_python import Axe

    driver.set_window_size(*size)
    driver.get(url)
    page_settled(driver)
    where = f"{url} at {size[0]}px"
    problems: list[str] = []
    status = driver.execute_script(STATUS_JS)
    if status and status >= 400:
        return [f"{where}: HTTP {status}"]
    if "Not allowed" in driver.title:
        problems.append(f"{where}: the navigation leads to Not allowed")
    time.sleep(0.3)  # let Plotly finish drawing before measuring
    problems += [f"{where}: sideways scrolling: {e}" for e in driver.execute_script(OVERFLOW_JS)]
    axe = Axe(driver)
    axe.inject()
    results = axe.run(options='{"resultTypes": ["violations"]}')
    for violation in results["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            problems.append(f"{where}: axe {violation['impact']} {violation['id']} at {targets}")
    problems += [f"{where}: misleading zero: {z}" for z in driver.execute_script(ZEROS_JS)]
    problems += [f"{where}: {line}" for line in driver.execute_script(LEGEND_JS)]
    if size == DESKTOP:
        # Each distinct path is fetched once per role (a query string alone does not change
        # who may open it), at most a dozen new ones per page, to keep the sweep's time down.
        for href, code in driver.execute_async_script(LINKS_JS, sorted(seen_links)):
            seen_links.update((href, href.split("?")[0]))
            if not isinstance(code, int) or code == 403 or code >= 500:
                problems.append(f"{where}: link {href} answers {code}")
    return problems


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_every_page_of_every_role(served_demo: ServedDemo, browser: Any, persona: str) -> None:
    username = PERSONAS[persona]
    assert username in served_demo.logins, sorted(served_demo.logins)
    sign_in(browser, served_demo, username)
    urls = nav_urls(browser)
    assert len(urls) >= 2, f"{username} has no navigation"
    urls += listed_urls(browser, urls)
    problems: list[str] = []
    seen_links: set[str] = set(urls)  # visited as pages anyway
    for url in urls:
        for size in (DESKTOP, PHONE):
            found = list(dict.fromkeys(check_page(browser, url, size, seen_links)))
            print(*found, sep="\n")  # as they come (pytest -s), the sweep being slow
            problems += found
    assert not problems, f"{username}:\n" + "\n".join(problems)


def test_the_sweep_catches_what_it_checks(served_demo: ServedDemo, browser: Any) -> None:
    """Each check fails on a page built to break it, so a passing sweep means something."""
    sign_in(browser, served_demo, PERSONAS["analyst"])
    browser.set_window_size(*PHONE)
    browser.get(served_demo.base + "/")
    page_settled(browser)
    browser.execute_script(
        """
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend',
          '<div style="width:900px">wide</div>' +
          '<table><tr><td>0</td><td data-status="not-shared">0</td>' +
          '<td data-status="zero">0</td></tr></table>' +
          '<img src="/static/wellbeat/favicon.svg">' +
          '<a href="/audit/">the audit log, which an analyst may not open</a>');
        const gd = document.createElement('div');
        gd.className = 'js-plotly-plot'; gd.id = 'fake';
        gd.data = [{name: 'drawn', y: [1, null]}, {name: 'empty', y: [null, null]},
                   {name: 'hidden', y: [], showlegend: false}];
        main.appendChild(gd);
        """
    )
    from axe_selenium_python import Axe

    assert browser.execute_script(OVERFLOW_JS)
    zeros = browser.execute_script(ZEROS_JS)
    assert zeros == [
        'td "0" data-status=(none) (1 times)',
        'td "0" data-status=not-shared (1 times)',
    ]
    assert browser.execute_script(LEGEND_JS) == ['fake: legend names "empty" with no point']
    others = browser.execute_script(
        "return [...document.querySelectorAll('a[href]')].map(a => a.href)"
        ".filter(h => !h.endsWith('/audit/'))"
    )
    links = dict(browser.execute_async_script(LINKS_JS, others))
    assert links[served_demo.base + "/audit/"] == 403
    axe = Axe(browser)
    axe.inject()
    violations = axe.run(options='{"resultTypes": ["violations"]}')["violations"]
    assert any(v["id"] == "image-alt" and v["impact"] in SERIOUS for v in violations)


def test_phone_screenshots(served_demo: ServedDemo, browser: Any) -> None:
    """The user guide's phone screenshots (and the desktop ones of the analyst's indicator and
    equity pages), from the real demo (only with WELLBEAT_SCREENSHOTS)."""
    from selenium.webdriver.common.by import By

    target = os.environ.get("WELLBEAT_SCREENSHOTS", "")
    if not target:
        pytest.skip("set WELLBEAT_SCREENSHOTS=DIR to write the user guide's screenshots")
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)

    def shoot(path: str, name: str) -> None:
        browser.get(served_demo.base + path)
        page_settled(browser)
        time.sleep(1.0)  # Plotly draws after load
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(PHONE[0], min(max(height, PHONE[1]), 2400))
        browser.save_screenshot(str(out / f"{name}.png"))
        browser.set_window_size(*PHONE)

    browser.set_window_size(*PHONE)
    sign_in(browser, served_demo, PERSONAS["analyst"])
    shoot("/surveillance/", "phone-overview")
    shoot("/surveillance/explorer/", "phone-explorer")
    browser.get(served_demo.base + "/surveillance/alerts/")
    page_settled(browser)
    first_alert = browser.find_element(By.CSS_SELECTOR, "main table a[href*='/alerts/']")
    shoot(first_alert.get_attribute("href").removeprefix(served_demo.base), "phone-alert")
    browser.delete_all_cookies()
    sign_in(browser, served_demo, PERSONAS["police_analyst"])
    browser.get(served_demo.base + "/indicators/")
    page_settled(browser)
    first = browser.find_element(By.CSS_SELECTOR, "main table#indicator-list a[href]")
    indicator = first.get_attribute("href").removeprefix(served_demo.base)
    shoot(indicator, "phone-indicator")
    shoot("/indicators/equity/", "phone-equity")
    desktop = (
        (indicator, "indicator-desktop", "#agency-MPD h3"),  # the breakdown's chart and table
        ("/indicators/equity/", "equity-desktop", "[data-indicator-chart^=chart-search-rate]"),
    )
    for path, name, selector in desktop:
        browser.set_window_size(*DESKTOP)
        browser.get(served_demo.base + path)
        page_settled(browser)
        time.sleep(1.0)
        browser.execute_script(
            "var el = document.querySelector(arguments[0]);"
            "if (el) { el.scrollIntoView(); window.scrollBy(0, -60); }",
            selector,
        )
        time.sleep(0.3)
        browser.save_screenshot(str(out / f"{name}.png"))
    browser.set_window_size(*PHONE)
    browser.delete_all_cookies()
    sign_in(browser, served_demo, PERSONAS["care_coordinator"])
    shoot("/care/coordinator/", "phone-coordinator-queue")
    browser.delete_all_cookies()
    sign_in(browser, served_demo, PERSONAS["officer"])
    shoot("/care/encounters/new/", "phone-encounter-form")
