"""Issue 8 item 8: a huge value in a column the profile drops is skipped, not a parser error;
a record beyond what prepare reads names its line and column in plain words."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from test_prepare import EXTRACT, PROFILE
from test_prepare_support import prepare_text

from wellbeat.ingest import prepare as prepare_module
from wellbeat.ingest.profile import PrepareError

BIG = 50 * 2**20
"""50 MiB: far beyond Arrow's 1 MiB CSV blocks and DuckDB's 16 MiB NDJSON lines."""


def _records(huge_notes: int, at: int = 2) -> list[dict[str, str]]:
    """The test extract with ``huge_notes`` characters in OfficerNotes (unused) of row ``at``."""
    records = list(csv.DictReader(EXTRACT.splitlines()))
    records[at]["OfficerNotes"] = "n" * huge_notes
    return records


def _as(fmt: str, records: list[dict[str, str]]) -> tuple[str, str]:
    if fmt == "ndjson":
        return "\n".join(json.dumps(r) for r in records) + "\n", "x.ndjson"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue(), "x.csv"


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_50_mb_value_in_a_column_the_profile_drops_is_skipped(tmp_path: Path, fmt: str) -> None:
    text, name = _as(fmt, _records(BIG))
    plain, _ = _as(fmt, _records(0))
    prepared = prepare_text(tmp_path / "big", text, PROFILE, extract_name=name)
    reference = prepare_text(tmp_path / "plain", plain, PROFILE, extract_name=name)
    assert prepared.table.num_rows == 4
    assert prepared.table.equals(reference.table)
    assert b"nnnnnnnn" not in prepared.raw


# The readers' buffers are not exact record limits (DuckDB reads NDJSON in buffers of at least
# 32 MiB), so the value is well beyond the buffer when the limit stops growing it.
@pytest.mark.parametrize(("fmt", "line", "mib"), [("csv", 4, 3), ("ndjson", 3, 40)])
def test_a_record_over_the_limit_names_its_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, line: int, mib: int
) -> None:
    monkeypatch.setattr(prepare_module, "MAX_RECORD_BYTES", 2**20)
    text, name = _as(fmt, _records(mib * 2**20))
    with pytest.raises(PrepareError) as caught:
        prepare_text(tmp_path, text, PROFILE, extract_name=name)
    error = caught.value
    assert (error.line, error.field) == (line, "column 'OfficerNotes'")
    assert str(error) == (
        f"{tmp_path / name}:{line}: column 'OfficerNotes': expected records of at most 1 MiB, "
        f"every column counted (even one the profile does not use), got a value of {mib} MiB"
    )
    assert not (tmp_path / "batch").exists()
