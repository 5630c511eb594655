"""`wellbeat directory` and `wellbeat referrals` against a real data directory (subprocesses,
as an administrator runs them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from wellbeat.care import hsds

PACKAGED = Path(hsds.__file__).parent / "data" / hsds.SYNTHETIC_DIRECTORY


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    # The data directory's own SQLite file, whatever database the test run itself uses.
    env = {k: v for k, v in os.environ.items() if k != "WELLBEAT_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "wellbeat", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_import_export_round_trip_and_fhir_export(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    first = _cli("directory", "import", str(PACKAGED), "--data-dir", str(data), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"] == 14
    again = _cli("directory", "import", "--synthetic", "--data-dir", str(data), "--json")
    assert json.loads(again.stdout)["unchanged"] == 14
    out = tmp_path / "export.json"
    exported = _cli("directory", "export", "--data-dir", str(data), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes() == PACKAGED.read_bytes()
    bundle = tmp_path / "fhir.json"
    fhir = _cli("referrals", "export-fhir", "--data-dir", str(data), "--out", str(bundle), "--json")
    assert fhir.returncode == 0, fhir.stderr
    assert json.loads(fhir.stdout)["referrals"] == 0
    assert json.loads(bundle.read_text())["resourceType"] == "Bundle"
    back = _cli("referrals", "import-fhir", str(bundle), "--data-dir", str(data), "--json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["referrals_created"] == 0


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "x"}]')
    result = _cli("directory", "import", str(bad), "--data-dir", str(tmp_path / "hub"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {bad}: not valid HSDS 3.0: [0]: 'name' is a required")
    assert "Traceback" not in result.stderr
    missing = _cli("referrals", "export-fhir", "--data-dir", str(tmp_path / "none"), "--out", "x")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    hub = tmp_path / "fhir-hub"
    assert _cli("directory", "import", str(PACKAGED), "--data-dir", str(hub)).returncode == 0
    not_fhir = _cli("referrals", "import-fhir", str(bad), "--data-dir", str(hub))
    assert not_fhir.returncode == 1 and "Traceback" not in not_fhir.stderr
    assert not_fhir.stderr.startswith(f"Error: {bad}:")
    both = _cli("directory", "import", str(bad), "--synthetic", "--data-dir", str(tmp_path))
    assert both.returncode == 1 and "either FILE or --synthetic" in both.stderr
