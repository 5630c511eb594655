"""`wellbeat hotspots` on the spdep golden layers, and its errors on bad files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from wellbeat.cli import cli

from .golden_cases import CASE_IDS, CASES, GoldenCase

COLUMBUS = next(case for case in CASES if case.name == "columbus_crime_queen")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["hotspots", *args])
    return result.exit_code, result.output


def write_values(
    path: Path, rows: list[list[str]], header: tuple[str, str] = ("area", "v")
) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def golden_values(case: GoldenCase, path: Path) -> Path:
    return write_values(path, [[row["id"], row["value"]] for row in case.rows])


def read_out(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def base(case: GoldenCase, values: Path, out: Path, method: str = "gi-star") -> list[str]:
    return [
        "--method", method, "--areas", str(case.layer_path), "--id-field", case.id_field,
        "--values", str(values), "--value-column", "v", "--out", str(out),
        "--weights", case.spec,
    ]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_reproduces_spdep(case: GoldenCase, tmp_path: Path) -> None:
    values = golden_values(case, tmp_path / "values.csv")
    for method, z_column in (("gi-star", "g_z"), ("local-moran", "ii_z")):
        out = tmp_path / f"{method}.csv"
        code, output = run(
            *base(case, values, out, method), "--permutations", "0", "--keep-islands"
        )
        assert code == 0, output
        rows = read_out(out)
        expected_header = ["area", "value", "z", "p_value", "class"]
        if method == "local-moran":
            expected_header.insert(3, "ii")
        assert list(rows[0]) == expected_header
        assert [row["area"] for row in rows] == [row["id"] for row in case.rows]
        kept = ~case.islands
        z = np.array([float(row["z"] or "nan") for row in rows])
        np.testing.assert_allclose(z[kept], case.column(z_column)[kept], rtol=0, atol=1e-6)
        assert [row["class"] for row in rows if not row["z"]] == ["no neighbours"] * sum(
            case.islands
        )
        if method == "local-moran":
            ii = np.array([float(row["ii"] or "nan") for row in rows])
            np.testing.assert_allclose(ii[kept], case.column("ii")[kept], rtol=0, atol=1e-6)


def test_cli_permutations_add_p_sim_and_are_seeded(tmp_path: Path) -> None:
    values = golden_values(COLUMBUS, tmp_path / "values.csv")
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    args = [*base(COLUMBUS, values, first, "local-moran"), "--permutations", "199", "--seed", "9"]
    code, output = run(*args)
    assert code == 0, output
    assert "199 permutations (seed 9)" in output
    code, _ = run(*[a if a != str(first) else str(second) for a in args])
    assert first.read_text() == second.read_text()
    rows = read_out(first)
    assert list(rows[0]) == ["area", "value", "z", "ii", "p_value", "p_sim", "class"]
    p_sim = np.array([float(row["p_sim"]) for row in rows])
    assert np.all((p_sim >= 1 / 200) & (p_sim <= 0.5 + 1e-9))
    for row in rows:
        significant = float(row["p_sim"]) < 0.05
        assert (row["class"] != "not significant") == significant


def test_cli_gi_star_classes(tmp_path: Path) -> None:
    values = golden_values(COLUMBUS, tmp_path / "values.csv")
    out = tmp_path / "out.csv"
    code, output = run(*base(COLUMBUS, values, out), "--permutations", "0")
    assert code == 0, output
    rows = read_out(out)
    for row in rows:
        z, p = float(row["z"]), float(row["p_value"])
        if p < 0.01:
            assert row["class"] == ("hot spot 99%" if z > 0 else "cold spot 99%")
        elif p >= 0.10:
            assert row["class"] == "not significant"
    assert any(row["class"].startswith("hot spot") for row in rows)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["999", "1.0"]], "line 2: area '999' is not in"),
        ([["1", ""]], "line 2: field 'v' is missing for area '1'"),
        ([["1", "NA"]], "line 2: field 'v' is missing"),
        ([["1", "12,5"]], "line 2: field 'v' is '12,5', not a number"),
        ([["1", "1"], ["1", "2"]], "line 3: area '1' already given on line 2"),
        ([["", "1"]], "line 2: field 'area' is empty"),
        ([["1", "1"]], "no row for 48 area(s)"),
    ],
)
def test_cli_value_errors_name_file_line_and_field(
    rows: list[list[str]], message: str, tmp_path: Path
) -> None:
    values = write_values(tmp_path / "values.csv", rows)
    code, output = run(*base(COLUMBUS, values, tmp_path / "out.csv"))
    assert code == 1
    assert message in output and "values.csv" in output
    assert "Traceback" not in output
    assert not (tmp_path / "out.csv").exists()


def test_cli_missing_column_and_files(tmp_path: Path) -> None:
    values = write_values(tmp_path / "values.csv", [["1", "2"]], header=("area", "rate"))
    code, output = run(*base(COLUMBUS, values, tmp_path / "out.csv"))
    assert code == 1 and "no column 'v'" in output and "area, rate" in output
    code, output = run(*base(COLUMBUS, tmp_path / "nope.csv", tmp_path / "out.csv"))
    assert code == 1 and "cannot read" in output and "nope.csv" in output
    args = base(COLUMBUS, values, tmp_path / "out.csv")
    args[args.index("--id-field") + 1] = "GEOID"
    code, output = run(*args)
    assert code == 1 and "feature 0: no property 'GEOID'" in output
    code, output = run(*base(COLUMBUS, values, tmp_path / "out.csv"), "--alpha", "0.1")
    assert code == 1 and "--alpha applies to --method local-moran" in output
    args = base(COLUMBUS, values, tmp_path / "out.csv")
    args[args.index("--weights") + 1] = "hexagons"
    code, output = run(*args)
    assert code == 1 and "--weights: weights 'hexagons' not understood" in output


def _island_layer(tmp_path: Path) -> Path:
    """Three squares in a row and one far away."""
    features = []
    for index, x in enumerate([0, 1, 2, 10]):
        ring = [[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]
        features.append({
            "type": "Feature", "properties": {"code": f"A{index}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        })  # fmt: skip
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_cli_islands_are_an_error_unless_kept(tmp_path: Path) -> None:
    areas = _island_layer(tmp_path)
    values = write_values(
        tmp_path / "values.csv", [["A0", "1"], ["A1", "5"], ["A2", "2"], ["A3", "9"]]
    )
    out = tmp_path / "out.csv"
    args = ["--method", "local-moran", "--areas", str(areas), "--id-field", "code",
            "--values", str(values), "--value-column", "v", "--out", str(out)]  # fmt: skip
    code, output = run(*args)
    assert code == 1 and "1 area(s) have no neighbours" in output and "'A3'" in output
    assert "--keep-islands" in output
    code, output = run(*args, "--keep-islands")
    assert code == 0, output
    rows = {row["area"]: row for row in read_out(out)}
    assert rows["A3"]["z"] == "" and rows["A3"]["p_sim"] == ""
    assert rows["A3"]["class"] == "no neighbours"
    assert rows["A1"]["z"] != ""
    code, output = run(*args, "--weights", "knn:1")
    assert code == 0, output
