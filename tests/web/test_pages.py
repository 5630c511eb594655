"""The home page (hub state from lake statistics) and the auditor's viewer and CSV export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from tests.web.api_support import write_batch

from wellbeat.web.audit import actions as audit
from wellbeat.web.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_home_shows_sources_rows_and_quarantine(
    client: Client, world: Any, login_as: Any, hub_data_dir: Path, tmp_path: Path
) -> None:
    from wellbeat.ingest import ingest_batch

    ingest_batch(write_batch(tmp_path / "mpd", "MPD", n=8, bad=3), hub_data_dir)
    ingest_batch(write_batch(tmp_path / "xpd", "XPD", n=4), hub_data_dir)
    login_as(client, world.users["phd_manager"])
    html = client.get("/").content.decode()
    status = client.get("/").context["status"]
    assert [s.agency for s in status.sources] == ["MPD", "XPD"]
    mpd = status.sources[0]
    assert (mpd.batches, mpd.rows_in, mpd.committed, mpd.quarantined) == (1, 8, 5, 3)
    assert status.committed == 9 and status.quarantined == 3
    assert mpd.newest_event_at is not None and mpd.freshness_hours is not None
    assert mpd.latency_p50_hours == pytest.approx(7 / 60)  # reported 7 minutes after
    assert "0.1 h / 0.1 h" in html
    assert 'id="stat-quarantined" data-status="value">3<' in html
    assert "37.5%" in html


def test_home_with_an_empty_lake_says_so(
    client: Client, world: Any, login_as: Any, hub_data_dir: Path
) -> None:
    login_as(client, world.users["mpd_officer"])
    assert b"No batches yet" in client.get("/").content


def test_nav_shows_links_by_role(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mpd_analyst"])
    html = client.get("/accounts/login/", follow=True).content.decode()
    assert "Audit log" not in html and "API tokens" not in html
    login_as(client, world.users["mpd_admin"])
    html = client.get("/", follow=True).content.decode()
    assert "API tokens" in html and "Audit log" not in html


def _seed_log(world: Any) -> None:
    for username in ("mpd_analyst", "phd_analyst", "mpd_officer"):
        user = world.users[username]
        audit.record("login.succeeded", actor=user, agency=user.agency, target=f"user:{username}")
    admin = world.users["mpd_admin"]
    audit.record("user.roles_changed", actor=admin, agency=admin.agency, target="user:mpd_officer")


def test_viewer_filters_by_who_agency_and_action(client: Client, world: Any, login_as: Any) -> None:
    _seed_log(world)
    login_as(client, world.users["hub_auditor"])
    page = client.get("/audit/", {"agency": "MPD", "action": "login"}).context["page"]
    assert [e.actor_username for e in page] == ["mpd_officer", "mpd_analyst"]
    page = client.get("/audit/", {"who": "phd_analyst"}).context["page"]
    assert [e.action for e in page] == ["login.succeeded"]
    bad = client.get("/audit/", {"since": "2024-05-02", "until": "2024-05-01"})
    assert "must be on or after" in bad.content.decode()


def test_agency_auditors_see_only_their_agency(client: Client, world: Any, login_as: Any) -> None:
    _seed_log(world)
    login_as(client, world.users["mpd_auditor"])
    page = client.get("/audit/").context["page"]
    assert {e.agency_code for e in page} == {"MPD"}


def test_non_auditors_cannot_open_the_viewer(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mpd_admin"])
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_csv_export_matches_the_filter_and_is_audited(
    client: Client, world: Any, login_as: Any
) -> None:
    _seed_log(world)
    login_as(client, world.users["hub_auditor"])
    response = client.get("/audit/export.csv", {"action": "user."})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["user.roles_changed"]
    assert rows[0]["actor"] == "mpd_admin" and len(rows[0]["entry_hash"]) == 64
    export = AuditEntry.objects.get(action="audit.exported")
    assert export.actor_username == "hub_auditor"
    assert export.details["filter"]["action"] == "user." and export.details["rows"] == 1


def test_the_viewer_shows_details_as_key_value_text(
    client: Client, world: Any, login_as: Any
) -> None:
    admin = world.users["mpd_admin"]
    audit.record(
        "governed.read",
        actor=admin,
        agency=admin.agency,
        target="query:1",
        details={
            "filter": {"agency_code": "MPD", "roles": ["analyst", "officer"]},
            "rows": 3,
            "empty": 0,
            "referrals": [f"r{i}" for i in range(10)],
        },
    )
    login_as(client, world.users["hub_auditor"])
    page = client.get("/audit/", {"action": "governed.read"}).content.decode()
    assert "<dt>filter · agency code</dt><dd>MPD</dd>" in page
    assert "<dt>filter · roles</dt><dd>analyst, officer</dd>" in page
    assert '<dt>rows</dt><dd data-status="value">3</dd>' in page
    assert '<dt>empty</dt><dd data-status="zero">0</dd>' in page
    assert "<dd>r0, r1, r2 and 7 more (all in the CSV export)</dd>" in page
    assert "{&#x27;" not in page and "{'" not in page  # no Python dict on the page
