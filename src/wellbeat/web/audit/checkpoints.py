"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows edits, insertions and deletions in the middle of the log, but someone who
can write to the database can delete the newest entries and reset the chain head: the shorter
chain is still internally consistent. A checkpoint records the head (sequence number and hash)
at a moment, signed with an Ed25519 key that lives in a file, not in the database, and is
appended to a JSON-lines file (each line also carries the hash of the line before it).
``verify_against_chain`` then reports a log that no longer contains a checkpointed head.

Optionally each checkpoint is POSTed to a witness (a partner agency or a transparency
service) so that deleting lines of the local file is caught too. What this does and does not
protect against: docs/threat-model.md ("Audit log rolled back").
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

logger = logging.getLogger(__name__)

SIGNING_KEY_FILE = "audit_signing_key"
PUBLIC_KEY_FILE = "audit_signing_key.pub"
CHECKPOINT_FILE = "audit_checkpoints.jsonl"
FIRST_PREV = "0" * 64
"""``prev`` of the first checkpoint line."""


class CheckpointError(RuntimeError):
    """A checkpoint cannot be written or the checkpoint file cannot be trusted."""


# --- Keys ----------------------------------------------------------------------------------


def create_signing_key(path: Path) -> Ed25519PrivateKey:
    """Write a new Ed25519 private key (PEM, owner-only) and its public key beside it
    (``<path>.pub``, to hand to whoever verifies independently). Refuses to overwrite."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path = path.with_name(path.name + ".pub")
    public_path.write_bytes(public_pem(key.public_key()))
    public_path.chmod(0o600)
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"audit signing key {path}: cannot read it ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"audit signing key {path}: expected an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file, or the public half of a private key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"audit public key {path}: cannot read it ({exc})") from None
    if b"PRIVATE KEY" in data:
        return load_signing_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise CheckpointError(f"audit public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"audit public key {path}: expected an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key: names the key in each line."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# --- Checkpoint records --------------------------------------------------------------------

_SIGNED_FIELDS = ("checkpoint", "seq", "head_hash", "count", "at", "key_id", "prev")


def _signed_bytes(record: dict[str, Any]) -> bytes:
    payload = {name: record[name] for name in _SIGNED_FIELDS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def sign_checkpoint(
    key: Ed25519PrivateKey, *, number: int, seq: int, head_hash: str, prev: str, at: datetime
) -> dict[str, Any]:
    """A checkpoint record: the chain held ``seq`` entries ending in ``head_hash`` at ``at``."""
    record: dict[str, Any] = {
        "checkpoint": number,
        "seq": seq,
        "head_hash": head_hash,
        "count": seq,
        "at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "key_id": key_id(key.public_key()),
        "prev": prev,
    }
    record["signature"] = base64.b64encode(key.sign(_signed_bytes(record))).decode("ascii")
    return record


def serialise(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class CheckpointLine:
    number: int
    line: str
    record: dict[str, Any]


def read_checkpoints(path: Path) -> list[CheckpointLine]:
    """Every line of the checkpoint file, parsed; a malformed line is an error naming it."""
    if not path.exists():
        return []
    lines: list[CheckpointLine] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
            missing = [f for f in (*_SIGNED_FIELDS, "signature") if f not in record]
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        if missing:
            raise CheckpointError(f"{path}, line {number}: missing {', '.join(missing)}")
        lines.append(CheckpointLine(number, text, record))
    return lines


def check_signature(path: Path, item: CheckpointLine, public_key: Ed25519PublicKey) -> None:
    """The line is signed by ``public_key`` and unchanged since; raises otherwise."""
    record = item.record
    where = f"{path}, line {item.number} (checkpoint #{record['checkpoint']})"
    expected_key = key_id(public_key)
    if record["key_id"] != expected_key:
        raise CheckpointError(f"{where}: signed by key {record['key_id']}, not {expected_key}")
    try:
        public_key.verify(base64.b64decode(record["signature"]), _signed_bytes(record))
    except (InvalidSignature, ValueError):
        raise CheckpointError(f"{where}: the signature does not verify (line edited)") from None


def check_file(path: Path, lines: list[CheckpointLine], public_key: Ed25519PublicKey) -> None:
    """Signatures, key, numbering and the line-to-line hash links; raises on the first fault."""
    prev = FIRST_PREV
    last_seq = 0
    for index, item in enumerate(lines, start=1):
        check_signature(path, item, public_key)
        record = item.record
        where = f"{path}, line {item.number} (checkpoint #{record['checkpoint']})"
        if record["checkpoint"] != index or record["prev"] != prev:
            raise CheckpointError(
                f"{where}: expected checkpoint #{index} following the previous line; "
                "lines were removed, reordered or inserted"
            )
        if record["seq"] < last_seq:
            raise CheckpointError(f"{where}: sequence number went back from {last_seq}")
        last_seq = record["seq"]
        prev = line_hash(item.line)


# --- Against the database ------------------------------------------------------------------


def chain_problem(record: dict[str, Any]) -> str:
    """Why the audit log in the database does not contain this checkpointed head ("" if it
    does): the entry at the checkpoint's sequence number must exist with the signed hash."""
    from wellbeat.web.audit.models import AuditEntry

    seq = int(record["seq"])
    if seq == 0:
        return ""
    entry_hash = AuditEntry.objects.filter(seq=seq).values_list("entry_hash", flat=True).first()
    label = f"checkpoint #{record['checkpoint']} (signed {record['at']})"
    if entry_hash is None:
        last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        return (
            f"audit log TRUNCATED: {label} records {seq} entries ending in "
            f"{str(record['head_hash'])[:12]}…, but the log now ends at entry #{last} "
            f"(entries #{last + 1}..#{seq} or more were deleted and the chain head reset)"
        )
    if entry_hash != record["head_hash"]:
        return (
            f"audit log REWRITTEN: entry #{seq} no longer has the hash signed in {label} "
            "(the log was rolled back and different entries appended)"
        )
    return ""


# --- Writing -------------------------------------------------------------------------------


def paths() -> tuple[Path, Path]:
    """(signing key file, checkpoint file) from the settings (defaults in the data dir)."""
    from django.conf import settings

    data_dir = Path(settings.DATA_DIR)
    key_path = settings.AUDIT_SIGNING_KEY_FILE or str(data_dir / SIGNING_KEY_FILE)
    checkpoint_path = settings.AUDIT_CHECKPOINT_FILE or str(data_dir / CHECKPOINT_FILE)
    return Path(key_path), Path(checkpoint_path)


def write_checkpoint(*, create_key: bool = False) -> dict[str, Any]:
    """Sign the current chain head and append it to the checkpoint file. Refuses when the log
    no longer contains the previous checkpoint's head: signing a rolled-back chain would
    bless the rollback."""
    from wellbeat.web.audit.chain import GENESIS_HASH
    from wellbeat.web.audit.models import AuditHead

    key_path, checkpoint_path = paths()
    if not key_path.exists():
        if not create_key:
            raise CheckpointError(
                f"no audit signing key at {key_path}: create it with `wellbeat audit checkpoint`"
            )
        create_signing_key(key_path)
    key = load_signing_key(key_path)
    fd = os.open(checkpoint_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # one writer at a time across server workers
        lines = read_checkpoints(checkpoint_path)
        if lines:
            # The newest line is the one a rollback would have to get past; `verify` checks
            # the whole file (re-checking every line here would grow with the log).
            check_signature(checkpoint_path, lines[-1], key.public_key())
            problem = chain_problem(lines[-1].record)
            if problem:
                raise CheckpointError(f"refusing to sign a new checkpoint: {problem}")
        head = AuditHead.objects.filter(pk=1).first()
        record = sign_checkpoint(
            key,
            number=len(lines) + 1,
            seq=head.last_seq if head else 0,
            head_hash=head.last_hash if head else GENESIS_HASH,
            prev=line_hash(lines[-1].line) if lines else FIRST_PREV,
            at=datetime.now(UTC),
        )
        handle.write(serialise(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return record


def send_to_witness(record: dict[str, Any], url: str, timeout: float = 10.0) -> int:
    """POST the checkpoint (JSON) to a witness; returns the HTTP status, raises on failure."""
    if not url.startswith(("https://", "http://")):
        raise CheckpointError(f"witness {url!r}: expected an http:// or https:// URL")
    request = urllib.request.Request(
        url,
        data=serialise(record).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except OSError as exc:
        raise CheckpointError(f"witness {url}: {exc}") from None
    if not 200 <= status < 300:
        raise CheckpointError(f"witness {url}: answered HTTP {status}")
    return status


def checkpoint_after_commit(seq: int) -> None:
    """Called by ``audit.record``: every ``AUDIT_CHECKPOINT_EVERY`` entries, once the entry
    has committed, sign a checkpoint, if the hub has a signing key (``wellbeat serve`` and
    ``wellbeat audit checkpoint`` create it). A failure is logged, never raised into the
    request that wrote the entry."""
    from django.conf import settings
    from django.db import transaction

    every = settings.AUDIT_CHECKPOINT_EVERY
    if not every or seq % every:
        return
    key_path, _ = paths()
    if not key_path.exists():
        return

    def write() -> None:
        try:
            write_checkpoint()
        except Exception:
            logger.exception("audit checkpoint after entry #%s failed", seq)

    transaction.on_commit(write)
