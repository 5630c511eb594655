"""Starting Django from the command line against a data directory (serve, audit, demo)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE_UMASK = 0o077
"""Files the hub creates are owner-only (0600) and directories 0700: the data directory holds
password hashes, encrypted secrets, key files and pseudonymised events."""


def use_private_umask() -> None:
    """Make every file this process creates from now on owner-only."""
    os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make it 0700 even if it already existed."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def tighten_data_dir(data_dir: Path) -> None:
    """Make the data directory 0700 and every file already in it 0600 (directories 0700): a
    data directory from an older version or copied in with a loose umask is fixed on start."""
    make_private_dir(data_dir)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            (Path(root) / name).chmod(0o700)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(0o600)


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
    use_private_umask()
    if create:
        tighten_data_dir(data_dir)
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
    from wellbeat.web.accounts.encryption import field_fernet

    field_fernet()  # no key outside demo mode: stop here, before anything is stored
    if create:
        from wellbeat.web.audit.checkpoints import create_signing_key, paths

        signing_key, _ = paths()
        if not signing_key.exists():
            create_signing_key(signing_key)
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def has_hub_database(data_dir: Path) -> bool:
    """Whether ``data_dir`` belongs to a hub with an application database: the SQLite file the
    settings keep in the data directory, or (PostgreSQL through WELLBEAT_DATABASE_URL) the
    hub's own files in it. A bare lake directory has neither."""
    data_dir = Path(data_dir)
    if (data_dir / "wellbeat.sqlite3").is_file():
        return True
    # With PostgreSQL, a hub's data directory still holds the files the hub makes on start.
    hub_files = ("secret_key", "hub.key", "audit_signing_key")
    return bool(os.environ.get("WELLBEAT_DATABASE_URL")) and any(
        (data_dir / name).exists() for name in hub_files
    )
