"""Secrets at rest: model fields the database stores only encrypted (Fernet: AES-128-CBC with
HMAC-SHA256), under a key that lives outside the database.

The key comes from ``WELLBEAT_FIELD_KEY`` (32+ characters of secret text) or, failing that,
the file ``DATA_DIR/field_key``. Demo mode writes that file (owner-only) when it is missing;
anywhere else a missing key stops the hub at start (`setup_django`) and on first use, never a
silent fallback to plaintext. The Fernet key is derived from the configured text with
HKDF-SHA256, so any long random string works (e.g. ``openssl rand -base64 32``).
"""

from __future__ import annotations

import base64
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured
from django.db import models

FIELD_KEY_FILE = "field_key"
MIN_KEY_CHARS = 32
_TOKEN_PREFIX = "gAAAAA"
"""Every Fernet token starts so (version byte 0x80, base64): tells encrypted from legacy text."""


class FieldKeyMissing(ImproperlyConfigured):
    """No field-encryption key is configured outside demo mode."""


def _configured_key_text() -> str:
    from django.conf import settings

    configured: str = getattr(settings, "FIELD_ENCRYPTION_KEY", "")
    if configured:
        return configured
    key_file = Path(settings.DATA_DIR) / FIELD_KEY_FILE
    if key_file.is_file():
        return key_file.read_text(encoding="utf-8").strip()
    if settings.WELLBEAT_DEMO:
        return write_field_key_file(Path(settings.DATA_DIR))
    raise FieldKeyMissing(
        "no key to encrypt TOTP secrets at rest: set WELLBEAT_FIELD_KEY to 32+ random "
        f"characters (e.g. `openssl rand -base64 32`) or write them to {key_file} (mode 0600); "
        "keep a copy apart from database backups: without it enrolled authenticators are lost"
    )


def write_field_key_file(data_dir: Path) -> str:
    """Create ``DATA_DIR/field_key`` (owner-only) with a fresh random key, unless it exists."""
    key_file = data_dir / FIELD_KEY_FILE
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text(encoding="utf-8").strip()
    text = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return text


@lru_cache(maxsize=8)
def _fernet_for(key_text: str) -> Fernet:
    if len(key_text) < MIN_KEY_CHARS:
        raise ImproperlyConfigured(
            f"field-encryption key: expected at least {MIN_KEY_CHARS} characters, "
            f"got {len(key_text)}"
        )
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"wellbeat field encryption v1"
    ).derive(key_text.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


def field_fernet() -> Fernet:
    """The Fernet instance for the configured key; raises FieldKeyMissing without one."""
    return _fernet_for(_configured_key_text())


def is_encrypted(value: str) -> bool:
    return value.startswith(_TOKEN_PREFIX)


def encrypt_text(plain: str) -> str:
    """Encrypt ``plain`` (empty stays empty: nothing to hide, and it keeps 'not enrolled')."""
    if not plain:
        return ""
    return field_fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_text(stored: str) -> str:
    if not stored:
        return ""
    try:
        return field_fernet().decrypt(stored.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise ImproperlyConfigured(
            "an encrypted field does not decrypt with the configured key: WELLBEAT_FIELD_KEY "
            "(or DATA_DIR/field_key) is not the key these secrets were encrypted with"
        ) from None


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees the plaintext. It cannot be searched
    or compared in SQL (each encryption is randomised)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return decrypt_text(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt_text(str(value))
