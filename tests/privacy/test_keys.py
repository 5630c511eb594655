"""Agency key files, fingerprints, HKDF sub-keys and the keygen command."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from wellbeat.cli import cli
from wellbeat.privacy.keys import (
    KEY_BYTES,
    PURPOSE_BLOOM,
    PURPOSE_PSEUDONYM,
    KeyFileError,
    derive_key,
    generate_key,
    key_fingerprint,
    load_key,
    recipient_key,
    write_key_file,
)


def test_generated_keys_are_32_random_bytes() -> None:
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(k) == KEY_BYTES for k in keys)


def test_key_file_round_trips_with_owner_only_mode(tmp_path: Path) -> None:
    path = tmp_path / "agency.key"
    key = write_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key.hex()
    assert load_key(path) == key


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "agency.key"
    key = write_key_file(path)
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_file(path)
    assert load_key(path) == key


def test_missing_key_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"not found.*wellbeat keygen"):
        load_key(tmp_path / "nope.key")


def test_non_hex_key_file_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("\n" + "ab" * 10 + "zz" + "ab" * 21 + "\n")
    with pytest.raises(KeyFileError, match=r"line 2 column 21: 'z' is not a hexadecimal digit"):
        load_key(path)


def test_short_key_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_text("ab" * 16)
    with pytest.raises(KeyFileError, match="16 bytes is too short; need at least 32"):
        load_key(path)


def test_fingerprint_is_first_8_hex_of_sha256() -> None:
    assert key_fingerprint(bytes(32)) == "66687aad"  # sha256 of 32 zero bytes


def test_derived_keys_are_stable_and_independent_per_purpose() -> None:
    key = generate_key()
    assert derive_key(key, PURPOSE_PSEUDONYM) == derive_key(key, PURPOSE_PSEUDONYM)
    assert derive_key(key, PURPOSE_PSEUDONYM) != derive_key(key, PURPOSE_BLOOM)
    assert derive_key(key, PURPOSE_BLOOM) != derive_key(generate_key(), PURPOSE_BLOOM)
    assert recipient_key(key, "PH") != recipient_key(key, "MPD")
    with pytest.raises(ValueError, match="purpose"):
        derive_key(key, "")


def test_hkdf_matches_rfc5869_construction() -> None:
    # HKDF-SHA256 with no salt: PRK = HMAC(0^32, IKM); T(1) = HMAC(PRK, info || 0x01).
    import hashlib
    import hmac

    key = bytes(range(32))
    prk = hmac.new(bytes(32), key, hashlib.sha256).digest()
    expected = hmac.new(prk, b"wellbeat/bloom/v1\x01", hashlib.sha256).digest()
    assert derive_key(key, PURPOSE_BLOOM) == expected


def test_keygen_command_writes_key_and_reports_fingerprint(tmp_path: Path) -> None:
    out = tmp_path / "k.key"
    result = CliRunner().invoke(cli, ["keygen", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report == {"path": str(out), "fingerprint": key_fingerprint(load_key(out))}
    again = CliRunner().invoke(cli, ["keygen", "--out", str(out)])
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert "Traceback" not in again.output
    shown = CliRunner().invoke(cli, ["key-fingerprint", str(out)])
    assert shown.output.strip() == report["fingerprint"]
