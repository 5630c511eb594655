"""The governed service's cached lake engine and forked server workers: `wellbeat demo` reads
the lake (alert detection) in the process that then forks gunicorn's workers, and a DuckDB
connection does not survive a fork (its threads stay in the parent)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from wellbeat.web.governance.service import close_engines, lake_engine

COUNT = "select count(*) as n from events"


def _wait(pid: int, seconds: float) -> int | None:
    """Exit status of the child, or None if it is still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def test_a_forked_worker_opens_its_own_engine_and_answers(city: Path) -> None:
    parent = lake_engine()
    expected = parent.sql(COUNT).column("n")[0].as_py()
    assert expected > 0
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            engine = lake_engine()
            fresh = engine is not parent
            answered = engine.sql(COUNT).column("n")[0].as_py() == expected
            os._exit(0 if fresh and answered else 1)
        except BaseException:
            os._exit(2)
    assert _wait(pid, 30) == 0, "the forked worker hung or failed on the lake"
    # The parent's own engine is untouched by the fork.
    assert lake_engine() is parent


def test_close_engines_closes_the_cached_engine(city: Path) -> None:
    first = lake_engine()
    close_engines()
    second = lake_engine()
    assert second is not first
    assert second.sql(COUNT).column("n")[0].as_py() > 0
