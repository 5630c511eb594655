"""`wellbeat scan` on SaTScan-style case and coordinates files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from wellbeat.analytics.scan import ScanSettings, scan
from wellbeat.cli import cli
from wellbeat.synth import build_city

from .city import episode_cases, neighbourhood_problem


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["scan", *args])
    return result.exit_code, result.output


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_city_overdoses_from_files_match_the_library(tmp_path: Path) -> None:
    city = build_city(tmp_path / "city", seed=42, scale="tiny")
    cases = episode_cases(city, "overdose")
    problem = neighbourhood_problem(city, cases)
    locations = ["location,latitude,longitude,population"] + [
        f"{loc},{lat},{lon},{pop:g}"
        for loc, (lat, lon), pop in zip(
            problem.locations, problem.coordinates, problem.population, strict=True
        )
    ]
    grouped = cases.groupby(["neighbourhood", "day"]).size().reset_index(name="count")
    rows = ["location,date,count"] + [
        f"{r.neighbourhood},{r.day.isoformat()},{r.count}" for r in grouped.itertuples()
    ]
    out = tmp_path / "clusters.json"
    code, output = run(
        "--model", "poisson",
        "--cases", str(write(tmp_path / "cases.csv", "\n".join(rows) + "\n")),
        "--locations", str(write(tmp_path / "locations.csv", "\n".join(locations) + "\n")),
        "--out", str(out),
        "--replicates", "99", "--max-temporal-days", "7", "--seed", "5",
        "--start", city.start.isoformat(), "--end", city.end.isoformat(),
    )  # fmt: skip
    assert code == 0, output
    document = json.loads(out.read_text())
    expected = scan(
        problem, ScanSettings(model="poisson", replicates=99, max_temporal_days=7, seed=5)
    ).to_dict()
    assert document == json.loads(json.dumps(expected))
    top = document["clusters"][0]
    assert set(top) >= {
        "locations", "start", "end", "observed", "expected", "llr", "p_value",
        "recurrence_interval_days",
    }  # fmt: skip
    spike_areas = {a for s in city.planted_truth()["spikes"] for a in s["neighbourhoods"]}
    assert spike_areas & set(top["locations"]) and top["p_value"] == 0.01
    assert "most likely cluster" in output


def test_prospective_permutation_on_cartesian_rows(tmp_path: Path) -> None:
    locations = write(
        tmp_path / "loc.csv",
        "location,x,y\nA,0,0\nB,1,0\nC,5,5\nD,6,5\nE,9,0\nF,0,9\n",
    )
    lines = ["location,date"]
    for day in range(1, 29):
        for loc in "ABCDEF":
            lines.append(f"{loc},2024-02-{day:02d}")
    lines += ["C,2024-02-28"] * 6 + ["D,2024-02-28"] * 6  # a burst alive at the end
    cases = write(tmp_path / "cases.csv", "\n".join(lines) + "\n")
    out = tmp_path / "out.json"
    code, output = run(
        "--cases", str(cases), "--locations", str(locations), "--out", str(out),
        "--prospective", "--max-temporal-days", "7", "--replicates", "199",
    )  # fmt: skip
    assert code == 0, output
    document = json.loads(out.read_text())
    assert document["analysis"] == "prospective"
    top = document["clusters"][0]
    assert set(top["locations"]) == {"C", "D"}
    assert top["end"] == "2024-02-28" and top["p_value"] < 0.05
    assert top["recurrence_interval_days"] == pytest.approx(1 / top["p_value"])
    assert all(c["end"] == "2024-02-28" for c in document["clusters"])


@pytest.mark.parametrize(
    ("cases", "locations", "extra", "message"),
    [
        ("location,date\nA,2024-01-01\nQ,2024-01-02\n", "location,x,y\nA,0,0\n", [],
         "cases.csv line 3: location 'Q' is not in the locations file"),
        ("location,date\nA,2024-13-01\n", "location,x,y\nA,0,0\n", [],
         "cases.csv line 2: date '2024-13-01' is not a date"),
        ("location,date,count\nA,2024-01-01,two\n", "location,x,y\nA,0,0\n", [],
         "cases.csv line 2: count 'two' is not a whole number"),
        ("location,when\nA,2024-01-01\n", "location,x,y\nA,0,0\n", [],
         "cases.csv: no date column"),
        ("location,date\nA,2024-01-01\n", "location,x,y\nA,0,zero\n", [],
         "loc.csv line 2: y 'zero' is not a number"),
        ("location,date\nA,2024-01-01\n", "location,x,y\nA,0,0\nA,1,1\n", [],
         "loc.csv line 3: location 'A' repeats line 2"),
        ("location,date\nA,2024-01-01\n", "location,lat,lon\nA,0,0\n", [],
         "loc.csv: needs x and y columns, or latitude and longitude"),
        ("location,date\nA,2024-01-01\n", "location,x,y\nA,0,0\n", ["--model", "poisson"],
         "loc.csv: the Poisson model needs a 'population' column"),
        ("location,date\nA,2024-01-05\n", "location,x,y\nA,0,0\n", ["--start", "2024-01-06"],
         "cases.csv line 2: date 2024-01-05 is outside the study period"),
        ("location,date\nA,2024-01-05,3\n", "location,x,y\nA,0,0\n", [],
         "cases.csv line 2: 3 fields, the header has 2"),
    ],
)  # fmt: skip
def test_bad_files_name_file_line_and_field(
    tmp_path: Path, cases: str, locations: str, extra: list[str], message: str
) -> None:
    code, output = run(
        "--cases", str(write(tmp_path / "cases.csv", cases)),
        "--locations", str(write(tmp_path / "loc.csv", locations)),
        "--out", str(tmp_path / "out.json"), "--replicates", "9", *extra,
    )  # fmt: skip
    assert code == 1
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "out.json").exists()


def test_study_period_defaults_to_the_cases(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code, output = run(
        "--cases", str(write(tmp_path / "c.csv", "location,date\nA,2024/01/03\nB,2024/01/09\n")),
        "--locations", str(write(tmp_path / "l.csv", "location,x,y\nA,0,0\nB,3,4\n")),
        "--out", str(out), "--replicates", "0",
    )  # fmt: skip
    assert code == 0, output
    period = json.loads(out.read_text())["study_period"]
    assert period == {"start": date(2024, 1, 3).isoformat(), "end": "2024-01-09"}
