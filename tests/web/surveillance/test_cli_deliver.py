"""`wellbeat alerts deliver` as an administrator runs it: one pass, or the worker loop that a
SIGTERM (systemd stopping the service) ends cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _env() -> dict[str, str]:
    # The data directory's own SQLite file, whatever database the test run itself uses.
    return {k: v for k, v in os.environ.items() if k != "WELLBEAT_DATABASE_URL"}


def test_one_pass_over_an_empty_queue(tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wellbeat",
            "alerts",
            "deliver",
            "--data-dir",
            str(tmp_path / "hub"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"attempted": 0, "delivered": 0, "retrying": 0, "failed": 0}


def test_the_worker_loop_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wellbeat",
            "alerts",
            "deliver",
            "--data-dir",
            str(tmp_path / "hub"),
            "--loop",
            "--interval",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert worker.stderr is not None
        started = worker.stderr.readline()
        assert "delivery worker running" in started, started
        sent = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    # It was asleep for up to 30 s: the signal cuts the sleep short and it exits cleanly.
    assert worker.returncode == 0, err
    assert time.monotonic() - sent < 10
    assert "delivery worker stopped" in err
