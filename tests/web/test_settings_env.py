"""Settings come from WELLBEAT_* variables; bad values stop the hub with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wellbeat.web.env import (
    SettingError,
    cache_from_url,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_path,
    env_rate,
    parse_rate,
)


def test_bool_accepts_the_usual_spellings_and_rejects_typos() -> None:
    assert env_bool("X", False, {"X": "Yes"}) is True
    assert env_bool("X", True, {"X": "0"}) is False
    assert env_bool("X", True, {}) is True
    with pytest.raises(SettingError, match=r"X='ture': expected one of 1/true"):
        env_bool("X", False, {"X": "ture"})


def test_int_checks_number_and_range() -> None:
    assert env_int("N", 5, environ={"N": " 42 "}) == 42
    with pytest.raises(SettingError, match="N='abc': expected a whole number"):
        env_int("N", 5, environ={"N": "abc"})
    with pytest.raises(SettingError, match="expected a number >= 60"):
        env_int("N", 900, minimum=60, environ={"N": "5"})


def test_list_and_path() -> None:
    assert env_list("L", ["a"], {"L": " x, ,y "}) == ["x", "y"]
    assert env_list("L", ["a"], {}) == ["a"]
    assert env_path("P", Path("d"), {"P": "/tmp/x"}) == Path("/tmp/x")
    with pytest.raises(SettingError, match="P is set but empty"):
        env_path("P", Path("d"), {"P": " "})


def test_rates_are_checked_and_off_means_no_limit() -> None:
    assert env_rate("R", "600/min", {}) == "600/min"
    assert env_rate("R", "600/min", {"R": " 20/10s "}) == "20/10s"
    assert env_rate("R", "600/min", {"R": "OFF"}) is None
    assert parse_rate("600/min") == (600, 60)
    assert parse_rate("20/10s") == (20, 10)
    assert parse_rate("5000/day") == (5000, 86400)
    for bad in ("600", "600/minute", "0/min", "-1/min", "x/min", "10/0s"):
        with pytest.raises(SettingError, match=rf"R='{bad}': expected REQUESTS/PERIOD"):
            env_rate("R", "600/min", {"R": bad})


def test_cache_urls() -> None:
    assert cache_from_url("")["BACKEND"].endswith("LocMemCache")
    assert cache_from_url("locmem://")["BACKEND"].endswith("LocMemCache")
    shared = cache_from_url("file:///var/cache/wellbeat")
    assert shared["BACKEND"].endswith("FileBasedCache")
    assert shared["LOCATION"] == "/var/cache/wellbeat"
    with pytest.raises(SettingError, match="expected file:///absolute/directory"):
        cache_from_url("file://relative/dir")
    with pytest.raises(SettingError, match="unsupported scheme 'memcached'"):
        cache_from_url("memcached://x")


def test_database_urls() -> None:
    pg = database_from_url("postgresql://postgres:s%40cret@db.example:5433/hub")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "hub",
        "postgres",
        "s@cret",
        "db.example",
        "5433",
    )
    lite = database_from_url("sqlite:////var/lib/wellbeat/app.sqlite3")
    assert lite["ENGINE"] == "django.db.backends.sqlite3"
    assert lite["NAME"] == "/var/lib/wellbeat/app.sqlite3"
    with pytest.raises(SettingError, match="unsupported scheme 'mysql'"):
        database_from_url("mysql://u@h/db")
    with pytest.raises(SettingError, match="missing database name"):
        database_from_url("postgresql://u@h:5432/")


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WELLBEAT_")}
    clean.update(env)
    code = (
        "import wellbeat.web.settings as s; print(s.DATA_DIR); "
        "print(s.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60
    )


def test_settings_import_with_no_variable_set(tmp_path: Path) -> None:
    done = _import_settings({})
    assert done.returncode == 0, done.stderr
    data_dir, engine = done.stdout.split()
    assert data_dir.endswith("wellbeat-data")
    assert engine == "django.db.backends.sqlite3"


def test_a_bad_value_stops_settings_with_the_variable_named() -> None:
    done = _import_settings({"WELLBEAT_SESSION_IDLE_SECONDS": "fifteen"})
    assert done.returncode != 0
    assert "WELLBEAT_SESSION_IDLE_SECONDS='fifteen': expected a whole number" in done.stderr


def test_postgres_by_url() -> None:
    done = _import_settings({"WELLBEAT_DATABASE_URL": "postgresql://postgres@localhost/test"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1] == "django.db.backends.postgresql"
