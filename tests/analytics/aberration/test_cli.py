"""`wellbeat aberration` reproduces R on a series a user supplies as CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from wellbeat.cli import cli

from .golden_cases import GOLDEN


def series_csv(tmp_path: Path, data: str, series: int, by_date: bool) -> Path:
    frame = pd.read_csv(GOLDEN / f"data_{data}.csv")
    frame = frame[frame["series"] == series]
    columns = ["date" if by_date else "index", "count", "population"]
    path = tmp_path / "series.csv"
    # Shuffled rows: the command orders them by date/index itself.
    frame[columns].sample(frac=1.0, random_state=1).to_csv(path, index=False)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["aberration", *args])
    return result.exit_code, result.output


def test_farrington_reproduces_r(tmp_path: Path) -> None:
    source = series_csv(tmp_path, "agona", 1, by_date=False)
    out = tmp_path / "out.csv"
    code, output = run(
        "--method", "farrington", "--input", str(source), "--output", str(out), "--json"
    )
    assert code == 0, output
    summary = json.loads(output)
    theirs = pd.read_csv(GOLDEN / "case_farrington_agona.csv")
    ours = pd.read_csv(out)
    assert list(ours.columns) == ["index", "observed", "expected", "upperbound", "score", "alarm"]
    assert ours["index"].tolist() == theirs["index"].tolist()
    assert ours["alarm"].tolist() == theirs["alarm"].tolist()
    np.testing.assert_allclose(ours["upperbound"], theirs["upperbound"], rtol=1e-6)
    assert summary["alarm_index"] == theirs.loc[theirs["alarm"] == 1, "index"].tolist()


def test_flexible_on_dated_weeks_reproduces_r(tmp_path: Path) -> None:
    source = series_csv(tmp_path, "newport", 2, by_date=True)
    out = tmp_path / "out.csv"
    code, output = run(
        "--method", "farrington-flexible", "--input", str(source), "--output", str(out)
    )
    assert code == 0, output
    theirs = pd.read_csv(GOLDEN / "case_flexible_newport.csv")
    theirs = theirs[theirs["series"] == 2]
    ours = pd.read_csv(out)
    assert "date" in ours.columns
    assert ours["alarm"].tolist() == theirs["alarm"].tolist()
    np.testing.assert_allclose(ours["upperbound"], theirs["upperbound"], rtol=1e-6)


def test_cusum_options_in_kebab_case(tmp_path: Path) -> None:
    source = series_csv(tmp_path, "agona", 1, by_date=False)
    out = tmp_path / "out.csv"
    code, output = run(
        "--method",
        "cusum",
        "--input",
        str(source),
        "--output",
        str(out),
        "--range",
        "200:312",
        "--trans",
        "rossi",
        "--k",
        "0.5",
        "--h",
        "4",
    )
    assert code == 0, output
    theirs = pd.read_csv(GOLDEN / "case_cusum_agona_rossi.csv")
    ours = pd.read_csv(out)
    assert ours["alarm"].tolist() == theirs["alarm"].tolist()
    np.testing.assert_allclose(ours["upperbound"], theirs["upperbound"], rtol=1e-6)


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,count\n2024-01-01,3\n2024-01-08,three\n")
    code, output = run(
        "--method", "ears-c1", "--input", str(bad), "--output", str(tmp_path / "o.csv")
    )
    assert code == 1
    assert "line 3" in output and "'three' is not a number" in output
    good = series_csv(tmp_path, "agona", 1, by_date=False)
    code, output = run(
        "--method", "ewma", "--input", str(good), "--output", str(tmp_path / "o.csv"), "--k", "2"
    )
    assert code == 1 and "--k does not apply to --method ewma" in output
    code, output = run(
        "--method", "cusum", "--input", str(good), "--output", str(tmp_path / "o.csv")
    )
    assert code == 1 and "needs --range" in output
    code, output = run(
        "--method",
        "ears-c2",
        "--input",
        str(good),
        "--output",
        str(tmp_path / "o.csv"),
        "--range",
        "3:100",
    )
    assert code == 1 and "too short" in output
    assert "Traceback" not in output
