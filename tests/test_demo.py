"""The main job: `wellbeat demo` from a synthetic city to a hub with demo logins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from wellbeat.cli.demo import last_whole_day
from wellbeat.demo_pipeline import default_agencies_dir, run_pipeline


def test_pipeline_balances_and_second_run_is_a_no_op(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    first = run_pipeline(hub, scale="tiny", seed=7)
    assert first.agencies_dir == default_agencies_dir(hub)
    assert not first.agencies_dir.is_relative_to(hub)
    assert first.rows_in > 1000
    assert first.rows_in == first.committed + first.quarantined
    assert {code for code, _, _ in first.agencies} >= {"MPD", "MFR", "OME"}
    assert all(not run.already_ingested for run in first.runs)
    # The hub got its geography and a manifest per batch, and nothing of the agencies' side.
    assert sorted(p.stem for p in (hub / "areas").glob("*.geojson")) == [
        "beat",
        "district",
        "neighbourhood",
    ]
    assert len(list((hub / "lake" / "manifest").glob("*.json"))) == len(first.runs)
    assert not list(hub.rglob("extract.*")) and not list(hub.rglob("*.key"))

    second = run_pipeline(hub, scale="tiny", seed=7)
    assert second.reused_city
    assert all(run.already_ingested for run in second.runs)
    assert [r.batch_id for r in second.runs] == [r.batch_id for r in first.runs]


def test_agencies_dir_inside_the_hub_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="raw identifiers never enter the hub"):
        run_pipeline(tmp_path / "hub", agencies_dir=tmp_path / "hub" / "src", scale="tiny")


def test_demo_command_loads_data_and_prints_logins(tmp_path: Path) -> None:
    # The demo is the embedded default path (SQLite in the data directory), whatever the suite uses.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WELLBEAT_"))}
    command = [sys.executable, "-m", "wellbeat", "demo", "--data-dir", str(tmp_path / "hub")]
    command += ["--scale", "tiny", "--no-serve", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rows_in"] == summary["committed"] + summary["quarantined"]
    # The demo lives in the present: the city's two years end on the last whole day before it
    # runs (in the city's time zone), so nothing lies in the hub's future.
    assert summary["period"][1] == last_whole_day().isoformat()
    assert date.today() - date.fromisoformat(summary["period"][1]) <= timedelta(days=2)
    # Agencies take their extracts at the end of that day: reports filed and follow-ups due
    # after it are not in them, so nothing is quarantined as "in the future" (the quarantine
    # holds only the synthetic feeds' deliberate defects).
    reasons = "".join(p.read_text() for p in (tmp_path / "hub" / "quarantine").glob("*.csv"))
    assert reasons and "in the future" not in reasons
    roles = {role for login in summary["logins"] for role in login["roles"]}
    assert roles >= {
        "analyst",
        "officer",
        "clinician",
        "care_coordinator",
        "program_manager",
        "agency_admin",
        "hub_admin",
        "auditor",
    }
    assert summary["agreements"] >= 3
    assert summary["indicators"] == 3  # the MPD analyst's demo indicators
    assert summary["directory_services"] > 0
    assert summary["crisis_calls"] > 0  # the city's crisis calls replayed through triage
    assert summary["alerts_raised"] > 0  # the tiny city's planted spikes are detected
    secrets = [login["totp_secret"] for login in summary["logins"] if login["totp_secret"]]
    assert secrets and all(len(secret) == 32 for secret in secrets)


def test_demo_serves_pages_that_read_the_lake(tmp_path: Path) -> None:
    """The whole main job: the demo loads the city, runs detection, then forks the server's
    workers; a signed-in analyst's pages that read the lake answer (no inherited engine)."""
    import http.cookiejar
    import re
    import signal
    import socket
    import time
    import urllib.parse
    import urllib.request

    import pyotp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WELLBEAT_"))}
    env.update(PYTHONUNBUFFERED="1", WELLBEAT_SECURE_COOKIES="0")  # plain-HTTP cookie jar
    command = [sys.executable, "-m", "wellbeat", "demo", "--data-dir", str(tmp_path / "hub")]
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
        analyst = next(login for login in summary["logins"] if login["roles"] == ["analyst"])
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

        def get(path: str) -> str:
            with opener.open(base + path, timeout=60) as response:
                assert response.status == 200, path
                return str(response.read().decode())

        def post(path: str, fields: dict[str, str]) -> str:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', get(path))
            assert token, path
            body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token.group(1)})
            with opener.open(base + path, body.encode(), timeout=60) as response:
                return str(response.read().decode())

        for _ in range(100):  # until gunicorn listens
            try:
                get("/accounts/login/")
                break
            except OSError:
                time.sleep(0.2)
        post("/accounts/login/", {"username": analyst["username"], "password": analyst["password"]})
        post("/accounts/login/verify/", {"code": pyotp.TOTP(analyst["totp_secret"]).now()})
        assert "Surveillance overview" in get("/surveillance/")
        assert "Indicator explorer" in get("/surveillance/explorer/")
        assert "Surveillance overview" in get("/surveillance/")  # again, on any worker
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_demo_directories_of_the_readme_are_git_ignored() -> None:
    """The README's `--data-dir demo-data` puts the agencies' raw extracts and key in
    demo-data-agencies/ beside it: neither may ever be committed from a checkout."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    agencies = default_agencies_dir(root / "demo-data").relative_to(root)
    paths = ["demo-data/lake/x.parquet", f"{agencies}/city/agencies/MPD/cad/extract.csv"]
    paths.append(f"{agencies}/network.key")
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=root, capture_output=True, text=True
    )
    assert done.stdout.split() == paths
