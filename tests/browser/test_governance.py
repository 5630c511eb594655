"""In a real browser: an agency admin signs in with the second factor, approves an agreement
(the other side already approved it), runs a governed query, and an auditor finds the read in
the audit log."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.browser.conftest import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _ingest_ems_overdoses(data_dir: Path, n: int) -> None:
    from wellbeat.events.schema import BATCH_SCHEMA
    from wellbeat.ingest import ingest_batch

    start = datetime(2025, 3, 3, 9, tzinfo=UTC)
    rows = [
        {
            "row_number": i,
            "event_id": f"MFD-{i}",
            "agency": "MFD",
            "sector": "fire_ems",
            "kind": "ems_response",
            "occurred_at": (start + timedelta(minutes=i)).isoformat(),
            "reported_at": (start + timedelta(minutes=i + 5)).isoformat(),
            "syndromes": ["overdose"],
            "codes": [],
            "sensitivity": ["phi"],
        }
        for i in range(1, n + 1)
    ]
    batch = data_dir.parent / "mfd-batch"
    batch.mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=BATCH_SCHEMA), batch / "events.parquet")
    meta = {"format": "wellbeat-batch/1", "agency": "MFD", "sector": "fire_ems", "rows": n}
    (batch / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
    assert ingest_batch(batch, data_dir).committed == n


def test_approve_an_agreement_run_a_governed_query_and_see_it_audited(
    driver: Any, hub_url: Any, sign_in: Any, world: Any, hub_data_dir: Path
) -> None:
    from django.utils import timezone
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from wellbeat.web.accounts.totp import current_code
    from wellbeat.web.governance import actions

    _ingest_ems_overdoses(hub_data_dir, 12)
    agreement = actions.do_draft_agreement(
        world.users["mfd_admin"],
        title="EMS overdoses for public health",
        provider=world.agencies["MFD"],
        recipient=world.agencies["PHD"],
        purpose="overdose_response",
        granularity="aggregate",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=10,
        valid_from=date(2024, 1, 1),
        syndromes=["overdose"],
    )
    actions.do_approve_agreement(world.users["mfd_admin"], agreement)
    admin = world.users["phd_admin"]
    admin.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    admin.totp_confirmed_at = timezone.now()
    admin.save()

    sign_in("phd_admin", world.password, current_code(admin.totp_secret))
    nav = driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]")
    follow(driver, nav.find_element(By.LINK_TEXT, "Agreements"))
    follow(driver, driver.find_element(By.LINK_TEXT, agreement.code))
    follow(driver, driver.find_element(By.ID, "approve-button"))
    assert "now active" in driver.find_element(By.CSS_SELECTOR, ".messages").text
    assert driver.find_element(By.ID, "agreement-status").text == "active"

    nav = driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]")
    follow(driver, nav.find_element(By.LINK_TEXT, "Governed query"))
    Select(driver.find_element(By.ID, "id_purpose")).select_by_value("overdose_response")
    driver.find_element(By.CSS_SELECTOR, "input[name=agencies][value=MFD]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=by][value=agency]").click()
    follow(driver, driver.find_element(By.ID, "run-query"))
    table = driver.find_element(By.ID, "result-table")
    cells = [td.text for td in table.find_elements(By.CSS_SELECTOR, "tbody td")]
    assert cells[:2] == ["MFD", "12"]
    assert agreement.code in driver.find_element(By.ID, "result").text

    driver.delete_all_cookies()
    sign_in("hub_auditor", world.password, world.totp_code("hub_auditor"))
    driver.get(hub_url("/audit/"))
    driver.find_element(By.ID, "id_action").send_keys("governed.read")
    follow(driver, driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
    rows = driver.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")
    assert len(rows) == 1
    assert "phd_admin" in rows[0].text and "governed.read" in rows[0].text
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == []
