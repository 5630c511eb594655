"""Building a city: the files it writes, determinism, speed, the Python API and the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from wellbeat.cli import cli
from wellbeat.synth import SCALES, build_city
from wellbeat.synth.episodes import span_for_seed

from .conftest import BuiltCity, digests

SOURCES = {
    ("MPD", "cad"): ("police_cad", "csv"),
    ("MPD", "nibrs"): ("nibrs_incident", "parquet"),
    ("MFR", "runs"): ("ems_run", "ndjson"),
    ("SMH", "ed"): ("ed_syndromic", "csv"),
    ("SMH", "cardiff"): ("cardiff_assault", "csv"),
    ("CGH", "ed"): ("ed_syndromic", "parquet"),
    ("CHD", "outreach"): ("generic", "csv"),
    ("OME", "deaths"): ("medical_examiner", "csv"),
    ("NBH", "crisis"): ("generic", "ndjson"),
    ("NBH", "sud_followup"): ("generic", "csv"),
    ("MPD", "stops"): ("police_stop", "csv"),
    ("MPD", "use_of_force"): ("use_of_force", "csv"),
}


def test_writes_the_documented_layout(tiny: BuiltCity) -> None:
    root = tiny.city.root
    for path in (
        "city.json",
        "areas/neighbourhood.geojson",
        "areas/beat.geojson",
        "areas/district.geojson",
        "ground_truth/people.csv",
        "ground_truth/events.csv",
        "ground_truth/planted.json",
    ):
        assert (root / path).is_file(), path
    for (agency, source), (_, fmt) in SOURCES.items():
        folder = root / "agencies" / agency / source
        assert (folder / f"extract.{fmt}").is_file()
        assert (folder / "profile.yaml").is_file()


def test_sources_cover_every_connector_and_format(tiny: BuiltCity) -> None:
    written = {(s.agency, s.name): (s.connector, s.format) for s in tiny.city.sources()}
    assert written == SOURCES
    assert {s.sector for s in tiny.city.sources()} >= {
        "police", "fire_ems", "emergency_dept", "public_health", "medical_examiner",
        "behavioral_health",
    }  # fmt: skip


def test_city_json_describes_agencies_sources_and_span(tiny: BuiltCity) -> None:
    data = json.loads((tiny.city.root / "city.json").read_text())
    assert data["seed"] == 42 and data["scale"] == "tiny"
    assert (data["start"], data["end"]) == ("2024-01-01", "2025-12-31")
    assert data["layers"] == {
        "neighbourhood": "areas/neighbourhood.geojson",
        "beat": "areas/beat.geojson",
        "district": "areas/district.geojson",
    }
    codes = [a["code"] for a in data["agencies"]]
    assert codes == ["MPD", "MFR", "SMH", "CGH", "CHD", "OME", "NBH"]
    for agency in data["agencies"]:
        assert agency["name"] and agency["sector"]
        for source in agency["sources"]:
            assert (tiny.city.root / source["extract"]).is_file()
            assert (tiny.city.root / source["profile"]).is_file()
            assert source["rows"] == tiny.city.source(agency["code"], source["name"]).rows
    assert data["records"] == sum(s.rows for s in tiny.city.sources())


def test_tiny_scale_is_small_and_fast(tiny: BuiltCity) -> None:
    assert 2_000 <= tiny.city.records <= 6_000  # calls, runs, visits... and ~600 stops
    assert tiny.seconds < 3.0


def test_same_seed_and_scale_give_byte_identical_files(tiny: BuiltCity, tmp_path: Path) -> None:
    again = build_city(tmp_path / "again", seed=42, scale="tiny")
    assert digests(again.root) == digests(tiny.city.root)


def test_another_seed_gives_another_city(tiny: BuiltCity, tmp_path: Path) -> None:
    other = build_city(tmp_path / "other", seed=7, scale="tiny")
    ours, theirs = digests(tiny.city.root), digests(other.root)
    assert ours.keys() == theirs.keys()
    assert ours["agencies/MPD/cad/extract.csv"] != theirs["agencies/MPD/cad/extract.csv"]
    assert ours["agencies/MPD/cad/profile.yaml"] == theirs["agencies/MPD/cad/profile.yaml"]


def test_span_is_two_years_ending_on_a_seed_derived_date() -> None:
    assert span_for_seed(42) == (date(2024, 1, 1), date(2025, 12, 31))
    start, end = span_for_seed(7)
    assert end < date(2025, 12, 31)
    assert 729 <= (end - start).days <= 730


def test_span_can_end_on_a_given_day_even_29_february() -> None:
    assert span_for_seed(42, date(2026, 12, 4)) == (date(2024, 12, 5), date(2026, 12, 4))
    assert span_for_seed(7, date(2026, 12, 4)) == span_for_seed(42, date(2026, 12, 4))
    assert span_for_seed(42, date(2028, 2, 29)) == (date(2026, 3, 1), date(2028, 2, 29))


def test_city_ending_on_a_given_day_is_deterministic(tmp_path: Path) -> None:
    end = date(2026, 12, 4)
    first = build_city(tmp_path / "first", seed=42, scale="tiny", end=end)
    again = build_city(tmp_path / "again", seed=42, scale="tiny", end=end)
    assert digests(first.root) == digests(again.root)
    described = json.loads((first.root / "city.json").read_text(encoding="utf-8"))
    assert (described["start"], described["end"]) == ("2024-12-05", "2026-12-04")
    # The events fill the period up to its last days, not a year before it.
    cad = pd.read_csv(first.root / "agencies/MPD/cad/extract.csv", usecols=["CallReceived"])
    received = pd.to_datetime(cad["CallReceived"], format="%m/%d/%Y %H:%M:%S")
    assert received.max().date() >= end - timedelta(days=7)
    assert received.min().date() >= date(2024, 12, 5)


def test_unknown_scale_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tiny, small, medium, large"):
        build_city(tmp_path, scale="huge")
    assert list(SCALES) == ["tiny", "small", "medium", "large"]


def test_source_lookup_names_the_known_sources(tiny: BuiltCity) -> None:
    assert tiny.city.source("MFR", "runs").connector == "ems_run"
    with pytest.raises(KeyError, match="MPD/cad"):
        tiny.city.source("MPD", "arrests")


def test_cli_json_prints_one_object(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["synth", "--out", str(tmp_path / "c"), "--scale", "tiny", "--seed", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["seed"] == 3 and summary["scale"] == "tiny"
    assert len(summary["sources"]) == len(SOURCES)
    assert summary["records"] == sum(s["rows"] for s in summary["sources"])


def test_cli_refuses_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = CliRunner().invoke(cli, ["synth", "--out", str(target), "--scale", "tiny"])
    assert result.exit_code != 0
    assert "a-file" in result.output
