"""Starting Django from the command line against a data directory (serve, audit, demo)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class DataDirMismatch(RuntimeError):
    """Django is already set up for another data directory in this process."""


def ensure_secret_key(data_dir: Path) -> Path:
    """Write ``DATA_DIR/secret_key`` (owner-only) once, so sessions survive restarts and all
    server workers share one key. ``WELLBEAT_SECRET_KEY`` overrides it."""
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(50))
    return key_file


def setup_django(data_dir: Path, *, migrate: bool = False, create: bool = True) -> None:
    """Configure settings for ``data_dir`` (unless already configured for it) and set Django
    up; optionally apply migrations. Raises DataDirMismatch for a different data dir."""
    data_dir = data_dir.expanduser().absolute()
    if create:
        data_dir.mkdir(parents=True, exist_ok=True)
        ensure_secret_key(data_dir)
    elif not data_dir.is_dir():
        raise FileNotFoundError(f"data directory {data_dir} does not exist")
    import django
    from django.conf import settings

    if not settings.configured:
        os.environ["WELLBEAT_DATA_DIR"] = str(data_dir)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeat.web.settings")
    elif Path(settings.DATA_DIR).absolute() != data_dir:
        raise DataDirMismatch(
            f"this process already uses data directory {settings.DATA_DIR}, not {data_dir}"
        )
    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def has_hub_database(data_dir: Path) -> bool:
    """Whether ``data_dir`` belongs to a hub with an application database (PostgreSQL through
    WELLBEAT_DATABASE_URL, or the SQLite file the settings keep in the data directory)."""
    if os.environ.get("WELLBEAT_DATABASE_URL"):
        return True
    return (Path(data_dir) / "wellbeat.sqlite3").is_file()
