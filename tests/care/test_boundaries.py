"""wellbeat.care is framework-free: importing all of it loads neither Django nor the web app."""

from __future__ import annotations

import subprocess
import sys


def test_care_never_imports_django() -> None:
    code = (
        "import sys, wellbeat.care.hsds, wellbeat.care.directory, wellbeat.care.fhir, "
        "wellbeat.care.triage, wellbeat.care.measures, wellbeat.care.consent, "
        "wellbeat.care.lifecycle; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'ninja') "
        "or m.startswith('wellbeat.web')); print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
