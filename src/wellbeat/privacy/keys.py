"""Agency secret keys: generation, key files, fingerprints and purpose-bound sub-keys.

One agency key file (32 random bytes, hex) yields independent sub-keys through HKDF-SHA256
(RFC 5869), one per purpose, so the pseudonym key and the Bloom-filter key can never be
confused with each other and learning one says nothing about the other.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import string
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
"""Length of a generated key: 256 bits, the output size of the HMAC-SHA256 it keys."""

MIN_KEY_BYTES = 32
"""Shortest key a key file may hold (docs/profiles.md: "32+ random bytes, hex")."""

KEY_FILE_MODE = 0o600
"""Key files are readable and writable by their owner only."""

HKDF_INFO_PREFIX = "wellbeat/"
"""Every derived key's HKDF ``info`` starts with this, then the purpose."""

PURPOSE_PSEUDONYM = "pseudonym/v1"
PURPOSE_BLOOM = "bloom/v1"
PURPOSE_RECIPIENT = "recipient/v1/"
"""Prefix of the purpose for a recipient's re-keying key; the recipient code follows."""


class KeyFileError(ValueError):
    """A key file is missing, unreadable, malformed or too short (the message says which)."""


def generate_key() -> bytes:
    """Return ``KEY_BYTES`` bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def write_key_file(path: str | os.PathLike[str], key: bytes | None = None) -> bytes:
    """Write ``key`` (a fresh one when None) to ``path`` as hex with mode 0600; return the key.

    Refuses to overwrite an existing file: losing a key orphans every pseudonym made with it.
    """
    if key is None:
        key = generate_key()
    _check_length(key, f"key for {path}")
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:
        raise KeyFileError(
            f"key file {target}: already exists; refusing to overwrite a key "
            "(pseudonyms made with it would no longer link). Choose another path."
        ) from None
    except OSError as exc:
        raise KeyFileError(f"key file {target}: cannot create ({exc.strerror})") from None
    try:
        # os.open's mode is filtered by the umask; set it explicitly.
        os.fchmod(fd, KEY_FILE_MODE)
        os.write(fd, (key.hex() + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return key


def load_key(path: str | os.PathLike[str]) -> bytes:
    """Read a hex key file written by ``write_key_file`` (surrounding whitespace allowed)."""
    target = Path(path)
    try:
        text = target.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(
            f"key file {target}: not found; create one with `wellbeat keygen --out {target}`"
        ) from None
    except UnicodeDecodeError as exc:
        raise KeyFileError(
            f"key file {target}: byte {exc.start + 1} is not ASCII; "
            f"expected {2 * KEY_BYTES} hexadecimal digits"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"key file {target}: cannot read ({exc.strerror})") from None
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    content = [(n, line) for n, line in lines if line]
    if not content:
        raise KeyFileError(f"key file {target}: empty; expected {2 * KEY_BYTES} hexadecimal digits")
    if len(content) > 1:
        raise KeyFileError(
            f"key file {target} line {content[1][0]}: unexpected second line; "
            "expected the key as one line of hexadecimal digits"
        )
    line_no, digits = content[0]
    for col, ch in enumerate(digits, start=1):
        if ch not in string.hexdigits:
            raise KeyFileError(
                f"key file {target} line {line_no} column {col}: {ch!r} is not a "
                f"hexadecimal digit; expected {2 * KEY_BYTES} hexadecimal digits"
            )
    if len(digits) % 2:
        raise KeyFileError(
            f"key file {target} line {line_no}: odd number of hexadecimal digits "
            f"({len(digits)}); expected two per byte"
        )
    key = bytes.fromhex(digits)
    _check_length(key, f"key file {target}")
    return key


def key_fingerprint(key: bytes) -> str:
    """First 8 hex digits of SHA-256 of the key: tells keys apart without revealing them."""
    return hashlib.sha256(key).hexdigest()[:8]


def derive_key(key: bytes, purpose: str, length: int = KEY_BYTES) -> bytes:
    """Derive an independent sub-key for ``purpose`` from ``key`` with HKDF-SHA256.

    The purpose string becomes HKDF's ``info`` (prefixed ``wellbeat/``), so different purposes
    give unrelated keys and the same purpose always gives the same key.
    """
    if not purpose:
        raise ValueError("derive_key: purpose must be a non-empty string, e.g. 'bloom/v1'")
    _check_length(key, "derive_key: key")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=None,
        info=(HKDF_INFO_PREFIX + purpose).encode("utf-8"),
    )
    return hkdf.derive(key)


def recipient_key(hub_key: bytes, recipient: str) -> bytes:
    """The hub's re-keying key for one recipient (an agency or user code), derived from its key.

    Each recipient gets its own key, so pseudonyms in two recipients' extracts cannot be joined.
    """
    if not recipient:
        raise ValueError("recipient_key: recipient must be a non-empty code")
    return derive_key(hub_key, PURPOSE_RECIPIENT + recipient)


def _check_length(key: bytes, where: str) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(
            f"{where}: {len(key)} bytes is too short; need at least {MIN_KEY_BYTES} bytes "
            f"({2 * MIN_KEY_BYTES} hexadecimal digits)"
        )
