"""``wellbeat cardiff`` on the synthetic city, read through the governed service: the planted
violence hotspot (which the EDs see and police mostly do not) ranks first among the places
EDs see and police do not; the monthly summary is suppressed at the recipient agreement's
minimum; the reads are audited; refusals are clear errors."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from wellbeat.cli import cli

pytestmark = pytest.mark.django_db


@pytest.fixture
def city_hub(
    hub_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, Any]]:
    """The small synthetic city ingested at the hub; SMH (the Cardiff ED) with an analyst,
    MPD sharing police incidents with SMH as an extract for violence prevention, and the
    community safety partnership CSP receiving SMH's summaries at k = 5."""
    from wellbeat.demo_pipeline import run_pipeline
    from wellbeat.web.accounts.models import Agency, User
    from wellbeat.web.governance.models import Agreement

    # The test database stands in for the hub's own (as in tests/ingest/test_stop_counts_cli).
    monkeypatch.setattr("wellbeat.web.bootstrap.has_hub_database", lambda _: True)
    pipeline = run_pipeline(hub_data_dir, agencies_dir=tmp_path / "agencies", scale="small")
    truth = json.loads(
        (pipeline.agencies_dir / "city" / "ground_truth" / "planted.json").read_text()
    )
    smh = Agency.objects.create(code="SMH", name="St. Mary's Hospital", sector="emergency_dept")
    mpd = Agency.objects.create(code="MPD", name="Millbrook Police", sector="police")
    csp = Agency.objects.create(code="CSP", name="Community Safety Partnership", sector="hub")
    User.objects.create(username="smh_analyst", agency=smh, roles=["analyst"])
    User.objects.create(username="smh_admin", agency=smh, roles=["agency_admin"])
    common = {"valid_from": dt.date(2000, 1, 1), "status": "active"}
    Agreement.objects.create(
        code="DSA-MPD-VIOLENCE",
        title="MPD violent incidents to SMH",
        provider=mpd,
        recipient=smh,
        purpose="violence_prevention",
        granularity="person_level",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=1,
        sectors=["police"],
        kinds=["incident"],
        fields=["kind", "sector", "syndromes", "occurred_at"],
        **common,
    )
    Agreement.objects.create(
        code="DSA-SMH-CSP",
        title="SMH Cardiff summaries to the partnership",
        provider=smh,
        recipient=csp,
        purpose="violence_prevention",
        granularity="aggregate",
        finest_layer="neighbourhood",
        finest_period="month",
        min_cell=5,
        kinds=["assault_attendance"],
        **common,
    )
    return hub_data_dir, truth


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["cardiff", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_planted_hotspot_ranks_first_and_the_summary_is_suppressed(
    city_hub: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from wellbeat.web.audit.models import AuditEntry

    data_dir, truth = city_hub
    hotspot = truth["hotspot"]
    end = dt.date.fromisoformat(hotspot["end"])
    month = end.strftime("%Y-%m")
    out, hidden = tmp_path / "summary.csv", tmp_path / "hidden.csv"
    week, complete = tmp_path / "week.csv", tmp_path / "complete.csv"
    before = AuditEntry.objects.count()
    code, output = _run(
        "--data-dir", str(data_dir), "--month", month, "--out", str(out),
        "--user", "smh_analyst", "--recipient", "CSP",
        "--start", hotspot["start"], "--hidden-out", str(hidden),
        "--time-out", str(week), "--completeness-out", str(complete), "--json",
    )  # fmt: skip
    assert code == 0, output
    result = json.loads(output.splitlines()[-1])
    assert result["min_cell"] == 5 and result["reads_audited"] == 2
    assert AuditEntry.objects.count() == before + 2

    ranking = _rows(hidden)
    assert ranking[0]["rank"] == "1"
    assert ranking[0]["area"] in hotspot["neighbourhoods"], ranking[:3]
    assert int(ranking[0]["police"]) > 0, "police rows came through the MPD agreement"

    summary = _rows(out)
    assert summary, "the month has ED assault attendances"
    for row in summary:
        if row["suppressed"] == "True":
            assert row["count"] == ""
        else:
            assert int(row["count"]) >= 5, row
    assert any(r["suppressed"] == "True" for r in summary), (
        "a month of a small city has small cells"
    )

    assert len(_rows(week)) == 56
    months = _rows(complete)
    assert months and all(0.0 <= float(m["relationship"]) <= 1.0 for m in months)
    # Rows without an assault time are quarantined at ingest: every lake row has one.
    assert all(m["assault_time"] == "1.0" for m in months)


def test_clear_errors(city_hub: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from wellbeat.web.accounts.models import User

    data_dir, _truth = city_hub
    out = str(tmp_path / "s.csv")
    base = ("--data-dir", str(data_dir), "--out", out)
    code, output = _run(*base, "--month", "2025-13", "--user", "smh_analyst")
    assert code != 0 and "expected YYYY-MM" in output
    code, output = _run(*base, "--month", "2025-03", "--user", "nobody")
    assert code != 0 and "no such user" in output
    code, output = _run(*base, "--month", "2025-03", "--user", "smh_admin")
    assert code != 0 and "person-level role" in output
    code, output = _run(*base, "--month", "2025-03", "--user", "smh_analyst", "--recipient", "MPD")
    assert code != 0 and "no agreement in force from SMH to MPD" in output
    code, output = _run(*base, "--month", "2025-03", "--user", "smh_analyst", "--layer", "x")
    assert code != 0 and "no such area layer" in output
    # An analyst of an agency with no agreement from SMH or MPD reads nothing, and is told so.
    from wellbeat.web.accounts.models import Agency

    other = Agency.objects.create(code="OTH", name="Other", sector="community")
    User.objects.create(username="oth_analyst", agency=other, roles=["analyst"])
    code, output = _run(
        *base, "--month", "2025-03", "--user", "oth_analyst", "--purpose", "violence_prevention"
    )
    assert code == 0, output
    assert "no ED assault attendances" in output and "no police-recorded violence" in output
