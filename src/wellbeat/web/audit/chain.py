"""The audit log's hash chain: how an entry's hash is computed and how the chain is verified.

Each entry's SHA-256 covers its own fields and the previous entry's hash, and sequence numbers
are contiguous from 1, so editing any field, deleting or inserting an entry, or truncating the
log (checked against the chain head) breaks verification at the first affected entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first entry."""


def canonical_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Details as they will read back from the database (JSON round trip, sorted keys).
    NUL characters become U+FFFD: PostgreSQL's jsonb cannot store them."""
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise TypeError(f"audit details: expected a dict, got {type(details).__name__}")
    text = json.dumps(details, default=str, sort_keys=True, allow_nan=False)
    loaded: dict[str, Any] = _without_nul(json.loads(text))
    return loaded


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def entry_digest(
    *,
    seq: int,
    at: datetime,
    action: str,
    actor_id: int | None,
    actor_username: str,
    agency_id: int | None,
    agency_code: str,
    target: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of an entry's canonical JSON form chained to ``prev_hash``."""
    payload = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": action,
        "actor_id": actor_id,
        "actor_username": actor_username,
        "agency_id": agency_id,
        "agency_code": agency_code,
        "target": target,
        "details": details,
        "prev_hash": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking the chain; ``first_broken_id`` is the database id of the first bad
    entry (None when the break is a truncated tail or the log is intact)."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    first_broken_seq: int | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_broken_id": self.first_broken_id,
            "first_broken_seq": self.first_broken_seq,
            "reason": self.reason,
        }


def verify() -> VerifyResult:
    """Walk the whole log in sequence order and report the first entry that breaks the chain."""
    from wellbeat.web.audit.models import AuditEntry, AuditHead

    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                entry.id,
                entry.seq,
                f"entry #{entry.seq} (id {entry.id}): expected sequence number {expected_seq}; "
                f"entries {expected_seq}..{entry.seq - 1} are missing (deleted)",
            )
        if entry.prev_hash != expected_prev:
            return VerifyResult(
                False,
                checked,
                entry.id,
                entry.seq,
                f"entry #{entry.seq} (id {entry.id}): prev_hash does not match the hash of "
                f"entry #{entry.seq - 1}",
            )
        digest = entry_digest(
            seq=entry.seq,
            at=entry.at,
            action=entry.action,
            actor_id=entry.actor_id,
            actor_username=entry.actor_username,
            agency_id=entry.agency_id,
            agency_code=entry.agency_code,
            target=entry.target,
            details=entry.details,
            prev_hash=entry.prev_hash,
        )
        if digest != entry.entry_hash:
            return VerifyResult(
                False,
                checked,
                entry.id,
                entry.seq,
                f"entry #{entry.seq} (id {entry.id}): contents do not match its hash "
                "(the entry was edited)",
            )
        checked += 1
        expected_prev = entry.entry_hash
        expected_seq += 1

    head = AuditHead.objects.filter(pk=1).first()
    last_seq = head.last_seq if head else 0
    last_hash = head.last_hash if head else GENESIS_HASH
    if last_seq != checked or last_hash != expected_prev:
        return VerifyResult(
            False,
            checked,
            None,
            checked + 1 if last_seq > checked else None,
            f"chain head records {last_seq} entries ending in {last_hash[:12]}…, but the log "
            f"holds {checked} ending in {expected_prev[:12]}… (entries after #{checked} were "
            "deleted, or the head was edited)",
        )
    return VerifyResult(True, checked)
