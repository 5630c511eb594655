"""Counts by anything from the CLI, through the governed service (issue 16 item 3, issue 10
item 2): a Minneapolis-style stop extract is onboarded from the profile in docs/ (prepare ->
ingest), and `wellbeat indicators compute --by attribute:precinct` / `attribute:problem` gives
the extract's own counts for the year, read as the agency and audited; another agency reads
only the attributes its agreement names."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from test_police_contacts import STOP_PROFILE, _stop_extract
from test_prepare_support import key_file

from wellbeat.cli import cli
from wellbeat.ingest.connectors.contacts import canonical
from wellbeat.web.governance.indicators import MISSING

CATALOGUE = """\
indicators:
  - code: stops
    name: Police stops
    description: Every stop (traffic, pedestrian, field interview).
    numerator: {kinds: [stop]}
    period: year
    by: [attribute:precinct, attribute:problem, attribute:race]
  - code: searched_stops
    name: Stops with a search
    description: Stops where the person or the vehicle was searched, as a share of stops.
    numerator:
      kinds: [stop]
      attributes: {searched: "true"}
    denominator: {indicator: stops}
    factor: 100
    period: year
"""


@pytest.fixture
def stops_hub(
    world: Any, hub_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[dict[str, str]], Path]:
    """The hub with MPLS's 2017 stops (1,500 rows) ingested through the CLI, an MPLS analyst,
    and an agreement MPLS -> PHD sharing stops by month with the precinct attribute only."""
    from wellbeat.web.accounts.models import Agency, User
    from wellbeat.web.governance.models import Agreement

    monkeypatch.setattr("wellbeat.web.bootstrap.has_hub_database", lambda _: True)
    extract, rows = _stop_extract(1500)
    source = tmp_path / "stops.csv"
    source.write_text(extract, encoding="utf-8")
    profile = Path(__file__).resolve().parents[2] / "docs" / "profiles" / "minneapolis-stops.yaml"
    assert profile.read_text(encoding="utf-8") == STOP_PROFILE
    runner = CliRunner()
    # A Minneapolis hub reads its periods in Minneapolis time (docs/hub.md).
    zoned = runner.invoke(cli, ["lake", "time-zone", "--data-dir", str(hub_data_dir),
                                "America/Chicago"])  # fmt: skip
    assert zoned.exit_code == 0, zoned.output
    batch = tmp_path / "batch"
    key = key_file(tmp_path)
    prepared = runner.invoke(cli, ["prepare", str(source), "--profile", str(profile),
                                   "--key-file", str(key), "--out", str(batch)])  # fmt: skip
    assert prepared.exit_code == 0, prepared.output
    ingested = runner.invoke(cli, ["ingest", str(batch), "--data-dir", str(hub_data_dir), "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.output.splitlines()[-1])["committed"] == 1500

    mpls = Agency.objects.create(code="MPLS", name="Minneapolis Police", sector="police")
    User.objects.create(username="mpls_analyst", agency=mpls, roles=["analyst"])
    Agreement.objects.create(
        code="DSA-STOPS",
        title="MPLS stops to public health",
        provider=mpls,
        recipient=world.agencies["PHD"],
        purpose="violence_prevention",
        granularity="aggregate",
        finest_period="month",
        min_cell=10,
        kinds=["stop"],
        fields=["attribute:precinct"],
        valid_from=date(2017, 1, 1),
        status="active",
    )
    catalogue = tmp_path / "stops.yaml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    return hub_data_dir, rows, catalogue


def compute(data_dir: Path, catalogue: Path, out: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["indicators", "compute", "--data-dir", str(data_dir), "--catalogue", str(catalogue),
         "--out", str(out), *args],
    )  # fmt: skip
    return result.exit_code, result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def canonical_race(raw: str) -> str:
    """The race vocabulary the stop connector reads the extract's spellings into."""
    return canonical(pa.array([raw], pa.string()), "race").to_pylist()[0] or MISSING


def local_year(row: dict[str, str]) -> int:
    """The raw file's own year: its times are Minneapolis wall-clock times."""
    return datetime.strptime(row["responseDate"], "%Y/%m/%d %H:%M:%S").year


@pytest.mark.django_db
@pytest.mark.parametrize(("by", "column"), [("precinct", "policePrecinct"), ("problem", "problem")])
def test_counts_by_precinct_and_problem_for_the_year_equal_the_extracts_own(
    stops_hub: tuple[Path, list[dict[str, str]], Path], tmp_path: Path, by: str, column: str
) -> None:
    data_dir, rows, catalogue = stops_hub
    assert any(r["responseDate"].startswith("2017/12/31 23:") for r in rows)  # New Year's Eve
    out = tmp_path / f"{by}.csv"
    code, output = compute(data_dir, catalogue, out, "--indicator", "stops", "--period", "year",
                           "--start", "2017-01-01", "--end", "2018-01-01",
                           "--by", f"attribute:{by}", "--agency", "MPLS")  # fmt: skip
    assert code == 0, output
    got = read_csv(out)
    assert list(got[0]) == ["period", "group", "count"]
    assert {r["period"] for r in got} == {"2017"}
    expected = Counter(r[column] for r in rows if local_year(r) == 2017)
    assert {r["group"]: int(r["count"]) for r in got} == dict(expected)


@pytest.mark.django_db
def test_the_agency_reads_its_own_counts_in_full_and_every_read_is_audited(
    stops_hub: tuple[Path, list[dict[str, str]], Path], tmp_path: Path
) -> None:
    from wellbeat.web.audit.models import AuditEntry

    data_dir, rows, catalogue = stops_hub
    out = tmp_path / "all.csv"
    code, output = compute(data_dir, catalogue, out, "--indicator", "stops", "--period", "year",
                           "--by", "attribute:precinct", "--user", "mpls_analyst",
                           "--purpose", "program_evaluation", "--json")  # fmt: skip
    assert code == 0, output
    summary = json.loads(output)
    assert summary["reads_audited"] == 1 and summary["suppressed_cells"] == 0
    per_group: Counter[str] = Counter()
    for row in read_csv(out):
        per_group[row["group"]] += int(row["count"])
    assert per_group == Counter(r["policePrecinct"] for r in rows)  # every stop, every year
    entry = AuditEntry.objects.filter(action="export").latest("seq")
    assert entry.actor_username == "mpls_analyst"
    assert entry.details["by"] == ["attribute:precinct"] and entry.details["format"] == "csv"
    assert entry.details["providers"] == ["MPLS"]

    # An attribute-conditioned indicator with an indicator denominator: a share per group.
    shares = tmp_path / "searched.csv"
    code, output = compute(data_dir, catalogue, shares, "--indicator", "searched_stops",
                           "--period", "year", "--by", "attribute:race",
                           "--agency", "MPLS")  # fmt: skip
    assert code == 0, output
    got = read_csv(shares)
    assert list(got[0]) == ["period", "group", "count", "denominator", "rate", "unreliable"]
    searched: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    for row in got:
        searched[row["group"]] += int(row["count"])
        stopped[row["group"]] += int(row["denominator"])
        if int(row["denominator"]):
            assert float(row["rate"]) == pytest.approx(
                100 * int(row["count"]) / int(row["denominator"])
            )
    races = [canonical_race(r["race"]) for r in rows]
    assert stopped == Counter(races)
    assert searched == Counter(
        race
        for race, r in zip(races, rows, strict=True)
        if "YES" in (r["personSearch"], r["vehicleSearch"])
    )
    entries = AuditEntry.objects.filter(action="export", actor_username__startswith="cli:")
    assert entries.count() == 2  # numerator and denominator, each audited
    assert entries.latest("seq").details["providers"] == ["MPLS"]


@pytest.mark.django_db
def test_another_agency_reads_only_the_attributes_its_agreement_names(
    stops_hub: tuple[Path, list[dict[str, str]], Path], tmp_path: Path
) -> None:
    from wellbeat.web.audit.models import AuditEntry

    data_dir, rows, catalogue = stops_hub
    out = tmp_path / "phd.csv"
    base = ["--indicator", "stops", "--period", "year", "--user", "phd_analyst",
            "--purpose", "violence_prevention", "--provider", "MPLS"]  # fmt: skip
    code, output = compute(data_dir, catalogue, out, *base, "--by", "attribute:race")
    assert code == 1 and "attribute:race" in output and "fields" in output
    assert not out.exists()
    refused = AuditEntry.objects.filter(action="governed.refused").latest("seq")
    assert refused.actor_username == "phd_analyst"

    code, output = compute(data_dir, catalogue, out, *base, "--by", "attribute:precinct")
    assert code == 0, output
    got = read_csv(out)
    expected = Counter(r["policePrecinct"] for r in rows)
    released = [r for r in got if r["count"] != ""]
    assert released  # most month x precinct cells hold >= 10 stops
    per_group: Counter[str] = Counter()
    for row in got:
        per_group[row["group"]] += int(row["count"] or 0)
    for group, total in per_group.items():
        hidden = any(r["count"] == "" for r in got if r["group"] == group)
        assert total == expected[group] or (hidden and total < expected[group])


def test_without_a_hub_database_the_error_says_how_to_create_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WELLBEAT_DATABASE_URL", raising=False)
    catalogue = tmp_path / "stops.yaml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    lake = tmp_path / "lake"
    lake.mkdir()
    code, output = compute(lake, catalogue, tmp_path / "x.csv", "--indicator", "stops",
                           "--agency", "MPLS")  # fmt: skip
    assert code == 1
    assert "has no hub database" in output and "wellbeat users add-agency" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--indicator", "stops"], "give exactly one of --user USERNAME or --agency CODE"),
        (["--indicator", "stops", "--user", "x"], "--user reads need --purpose"),
        (["--indicator", "stops", "--agency", "A", "--by", "race"], "expected attribute:NAME"),
        (["--indicator", "nope", "--agency", "A"], "unknown indicator 'nope'"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, args: list[str], message: str) -> None:
    catalogue = tmp_path / "stops.yaml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    code, output = compute(tmp_path, catalogue, tmp_path / "x.csv", *args)
    assert code == 1 and message in output


def test_a_catalogue_file_with_a_missing_field_names_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "indicators:\n  - code: stops\n    name: Stops\n    numerator: {kinds: [stop]}\n"
    )
    code, output = compute(tmp_path, broken, tmp_path / "x.csv", "--indicator", "stops",
                           "--agency", "A")  # fmt: skip
    assert code == 1
    assert "broken.yaml:2: indicator 'stops' field 'description': is required" in output
