"""Issue 16 item 4: prepare reports codes the profile leaves unmapped or the code set lacks
(count and examples per column), in its output, its JSON and the batch's report.json, and
``--fail-on-unmapped`` refuses to write the batch."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_prepare_support import key_file, prepare_text

from wellbeat.cli import cli
from wellbeat.ingest import prepare as prepare_module
from wellbeat.ingest.codecheck import CodeReport, not_in_code_set
from wellbeat.ingest.profile import CodeMapping

PROFILE = """\
profile: codes-test
connector: generic
agency: MPD
sector: police
kind: call_for_service
fields:
  event_id: {column: Id}
  occurred_at: {column: At}
codes:
  - {column: CallType, namespace: apco, map: {PSYCH: EDP, WELF: WELFARE}}
  - {column: Offenses, namespace: nibrs, split: ";"}
  - {column: Dx, namespace: icd10cm}
  - {column: Local, namespace: local}
"""
Row = tuple[str, str, str, str, str]
ROWS: list[Row] = [
    # Id, CallType, Offenses, Dx, Local
    ("1", "PSYCH", "13A;90C", "T40.1X1A", "x"),
    ("2", "PSYCHO", "13A; 99Z", "banana", "y"),
    ("3", "OD", "", "F11.120", ""),
    ("4", "PSYCHO", "99Z", "t401x1a", "z"),
    ("5", "WELF", "23C", "", "x"),
    ("6", "PSYCHO", "ZZZ", "", ""),
]


def _extract(rows: list[Row] = ROWS) -> str:
    lines = ["Id,At,CallType,Offenses,Dx,Local"]
    lines += [f"{i},2024-03-01T08:00:00Z,{c},{o},{d},{x}" for i, c, o, d, x in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("namespace", "codes", "unknown"),
    [
        ("nibrs", ["13A", "13a", " 90C", "99Z"], [False, False, False, True]),
        ("apco", ["EDP", "edp", "PSYCHO"], [False, False, True]),
        ("nemsis", ["2301053", "123"], [False, True]),
        ("sdoh", ["homelessness", "Homelessness", "hungry"], [False, False, True]),
        (
            "icd10cm",
            ["T40.1X1A", "t401x1a", "F11.120", "R45.851", "banana", "T4"],
            [False, False, False, False, True, True],
        ),
        ("icd10", ["X42", "X4"], [False, True]),
        ("rxnorm", ["7242", "naloxone"], [False, True]),
    ],
)
def test_not_in_code_set_per_namespace(
    namespace: str, codes: list[str], unknown: list[bool]
) -> None:
    result = not_in_code_set(namespace, pa.array(codes))
    assert result is not None and result.to_pylist() == unknown


@pytest.mark.parametrize("namespace", ["local", "istv"])
def test_namespaces_without_a_code_set_are_not_checked(namespace: str) -> None:
    assert not_in_code_set(namespace, pa.array(["anything"])) is None


def test_the_report_counts_and_gives_examples_per_column_across_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepare_module, "CHUNK_ROWS", 2)  # tallies add up over three slices
    prepared = prepare_text(tmp_path, _extract(), PROFILE)
    codes: dict[str, Any] = {str(entry["column"]): entry for entry in prepared.summary.codes}

    call = codes["CallType"]
    assert (call["namespace"], call["codes"]) == ("apco", 6)
    assert call["unmapped"] == {
        "count": 4,
        "distinct": 2,
        "examples": [{"value": "PSYCHO", "count": 3}, {"value": "OD", "count": 1}],
    }
    # OD passes through unmapped but is an APCO call type; PSYCHO is not
    assert call["not_in_code_set"] == {
        "count": 3,
        "distinct": 1,
        "examples": [{"value": "PSYCHO", "count": 3}],
    }
    offenses = codes["Offenses"]
    assert offenses["codes"] == 7 and offenses["unmapped"] is None  # no map: nothing unmapped
    assert offenses["not_in_code_set"] == {
        "count": 3,
        "distinct": 2,
        "examples": [{"value": "99Z", "count": 2}, {"value": "ZZZ", "count": 1}],
    }
    assert codes["Dx"]["not_in_code_set"]["examples"] == [{"value": "banana", "count": 1}]
    assert codes["Local"] == {
        "column": "Local",
        "namespace": "local",
        "codes": 4,
        "unmapped": None,
        "not_in_code_set": None,
    }
    report = json.loads((prepared.summary.batch / "report.json").read_text())
    assert report == {
        "format": "wellbeat-prepare-report/1",
        "rows": 6,
        "codes": list(prepared.summary.codes),
    }


def _cli_inputs(tmp_path: Path, extract: str) -> list[str]:
    (tmp_path / "x.csv").write_text(extract, encoding="utf-8")
    (tmp_path / "p.yaml").write_text(PROFILE, encoding="utf-8")
    key = key_file(tmp_path)
    return [
        "prepare",
        str(tmp_path / "x.csv"),
        "--profile",
        str(tmp_path / "p.yaml"),
        "--key-file",
        str(key),
        "--out",
        str(tmp_path / "batch"),
    ]


def test_fail_on_unmapped_writes_no_batch_and_says_which_codes(tmp_path: Path) -> None:
    args = _cli_inputs(tmp_path, _extract())
    result = CliRunner().invoke(cli, [*args, "--fail-on-unmapped"])
    assert result.exit_code == 1
    assert not (tmp_path / "batch").exists()
    assert list(tmp_path.glob(".batch*")) == []  # no half-written batch either
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {tmp_path / 'x.csv'}: codes: expected every code mapped")
    assert "column 'CallType' (apco): 4 of 6 codes not in the profile's map" in line
    assert "'PSYCHO' (3)" in line and "'99Z' (2)" in line
    assert line.endswith("no batch written")
    assert "Traceback" not in result.output

    without = CliRunner().invoke(cli, args)  # without the flag: a batch, and the report
    assert without.exit_code == 0
    assert (tmp_path / "batch" / "events.parquet").exists()
    assert sum(line.startswith("codes: ") for line in without.output.splitlines()) == 4


def test_fail_on_unmapped_passes_a_clean_extract(tmp_path: Path) -> None:
    clean: list[Row] = [("1", "PSYCH", "13A", "T40.1X1A", "x"), ("2", "WELF", "", "", "")]
    args = _cli_inputs(tmp_path, _extract(clean))
    result = CliRunner().invoke(cli, [*args, "--fail-on-unmapped", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert all(
        not (entry["unmapped"] or {}).get("count")
        and not (entry["not_in_code_set"] or {}).get("count")
        for entry in payload["codes"]
    )


@settings(max_examples=50, deadline=None)
@given(
    slices=st.lists(
        st.lists(st.one_of(st.none(), st.sampled_from(["A", "B", "EDP", "NOPE", "od"]))),
        max_size=4,
    ),
    mapped=st.sets(st.sampled_from(["A", "B", "od"])),
)
def test_property_unmapped_counts_are_the_codes_missing_from_the_map(
    slices: list[list[str | None]], mapped: set[str]
) -> None:
    mapping = CodeMapping(
        column="C", namespace="apco", path="codes[0]", map={key: "EDP" for key in mapped}
    )
    report = CodeReport([mapping])
    for values in slices:
        raw = pa.array(values, pa.string())
        coded = pa.array(
            [mapping.map.get(v, v) if v is not None else None for v in values], pa.string()
        )
        report.add(0, mapping, raw, coded)
    (entry,) = report.to_json()
    codes = [v for values in slices for v in values if v is not None]
    missing = Counter(v for v in codes if v not in mapped)
    assert entry["codes"] == len(codes)
    if mapped:
        assert entry["unmapped"]["count"] == sum(missing.values())
        assert entry["unmapped"]["distinct"] == len(missing)
    else:
        assert entry["unmapped"] is None
    # after the map, every code is EDP or an unmapped value; only EDP and OD are APCO codes
    unknown = Counter(v for v in codes if v not in mapped and v.upper() not in {"EDP", "OD"})
    assert entry["not_in_code_set"]["count"] == sum(unknown.values())
    assert report.clean == (not (mapped and missing) and not unknown)
