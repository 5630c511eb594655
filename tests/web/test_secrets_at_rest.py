"""Secrets at rest: TOTP secrets are stored encrypted under a key outside the database, and
the data directory and everything in it is owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from wellbeat.web.accounts import encryption
from wellbeat.web.accounts.models import User


def _raw_secret(username: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE username = %s", [username])
        value: str = cursor.fetchone()[0]
    return value


@pytest.mark.django_db
def test_totp_secrets_are_stored_encrypted(world: Any) -> None:
    user = User.objects.get(username="mpd_analyst")
    stored = _raw_secret("mpd_analyst")
    assert user.totp_secret == world.users["mpd_analyst"].totp_secret
    assert user.totp_secret not in stored
    assert encryption.is_encrypted(stored)
    # Not enrolled stays empty (and queryable as such).
    assert _raw_secret("phd_manager") == ""
    assert User.objects.filter(totp_secret="").filter(username="phd_manager").exists()


@pytest.mark.django_db
def test_a_wrong_key_fails_loudly_instead_of_returning_garbage(world: Any, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = "another-key-that-is-long-enough-" + "y" * 8
    with pytest.raises(ImproperlyConfigured, match="does not decrypt with the configured key"):
        User.objects.get(username="mpd_analyst")


def test_no_key_outside_demo_mode_is_an_error(settings: Any, tmp_path: Path) -> None:
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.DATA_DIR = tmp_path
    settings.WELLBEAT_DEMO = False
    with pytest.raises(encryption.FieldKeyMissing, match="WELLBEAT_FIELD_KEY"):
        encryption.encrypt_text("JBSWY3DPEHPK3PXP")
    assert not (tmp_path / "field_key").exists()


def test_demo_mode_writes_an_owner_only_key_file(settings: Any, tmp_path: Path) -> None:
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.DATA_DIR = tmp_path
    settings.WELLBEAT_DEMO = True
    token = encryption.encrypt_text("JBSWY3DPEHPK3PXP")
    key_file = tmp_path / "field_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert encryption.decrypt_text(token) == "JBSWY3DPEHPK3PXP"


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_existing_plaintext_secrets() -> None:
    from django.db.migrations.executor import MigrationExecutor

    before = [("accounts", "0001_agencies_users_and_api_tokens")]
    after = [("accounts", "0002_encrypt_totp_secrets")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined, roles, totp_secret, totp_last_step,"
            " failed_logins) VALUES ('!', %s, 'legacy', '', '', '', %s, %s, %s, '[]',"
            " 'JBSWY3DPEHPK3PXP', 0, 0)",
            [False, False, True, "2026-01-01 00:00:00+00:00"],
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    stored = _raw_secret("legacy")
    assert encryption.is_encrypted(stored)
    assert encryption.decrypt_text(stored) == "JBSWY3DPEHPK3PXP"
    # And back: the reverse migration restores the plaintext column.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(before)
    assert _raw_secret("legacy") == "JBSWY3DPEHPK3PXP"
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    User.objects.filter(username="legacy").delete()


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_the_cli_creates_an_owner_only_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    env = {**os.environ, "WELLBEAT_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("WELLBEAT_DATABASE_URL", None)  # the SQLite file is what this test inspects
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from wellbeat.cli import main; main()",
            "users",
            "add-agency",
            "HUB",
            "--name",
            "Test hub",
            "--sector",
            "hub",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    modes = _modes(data_dir)
    assert "wellbeat.sqlite3" in modes and "secret_key" in modes
    loose = {path: oct(mode) for path, mode in modes.items() if mode & 0o077}
    assert loose == {}


def test_setup_tightens_a_data_directory_made_with_a_loose_umask(tmp_path: Path) -> None:
    from wellbeat.web.bootstrap import tighten_data_dir

    data_dir = tmp_path / "old"
    (data_dir / "lake").mkdir(parents=True)
    (data_dir / "wellbeat.sqlite3").write_text("x")
    (data_dir / "lake" / "part.parquet").write_text("x")
    for path in (data_dir, data_dir / "lake"):
        path.chmod(0o755)
    for path in (data_dir / "wellbeat.sqlite3", data_dir / "lake" / "part.parquet"):
        path.chmod(0o644)
    tighten_data_dir(data_dir)
    assert _modes(data_dir) == {
        ".": 0o700,
        "lake": 0o700,
        "wellbeat.sqlite3": 0o600,
        "lake/part.parquet": 0o600,
    }


def test_the_hub_refuses_to_start_without_a_field_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WELLBEAT_", "DJANGO_"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wellbeat",
            "users",
            "add-agency",
            "--data-dir",
            str(tmp_path / "hub"),
            "HUB",
            "--name",
            "Hub",
            "--sector",
            "hub",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "WELLBEAT_FIELD_KEY" in result.stderr and "Traceback" not in result.stderr
