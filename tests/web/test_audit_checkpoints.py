"""Signed checkpoints anchor the audit chain outside the database: deleting the newest entries
and resetting the chain head passes the hash chain but not `wellbeat audit verify`."""

from __future__ import annotations

import json
import stat
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.db import connection

from wellbeat.cli import cli
from wellbeat.web.audit import actions as audit
from wellbeat.web.audit import checkpoints
from wellbeat.web.audit.chain import verify
from wellbeat.web.audit.models import AuditEntry, AuditHead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hub(hub_data_dir: Path, settings: Any) -> Path:
    settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.AUDIT_CHECKPOINT_FILE = ""
    settings.AUDIT_CHECKPOINT_EVERY = 0
    settings.AUDIT_WITNESS_URL = ""
    return hub_data_dir


def _append(count: int) -> None:
    for index in range(count):
        audit.record("test.event", actor=None, agency=None, target=f"t{index}", actor_label="t")


def _roll_back(keep: int) -> None:
    """What someone with database access does: delete the newest entries and reset the head
    to the last kept one (the application itself refuses to delete entries)."""
    kept = AuditEntry.objects.get(seq=keep)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq > %s", [keep])
    AuditHead.objects.filter(pk=1).update(last_seq=keep, last_hash=kept.entry_hash)


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", *args])


def test_rollback_passes_the_chain_but_not_the_checkpoint(hub: Path) -> None:
    _append(5)
    made = _run("checkpoint", "--data-dir", str(hub))
    assert made.exit_code == 0, made.output
    assert "checkpoint #1: 5 entries" in made.output
    ok = _run("verify", "--data-dir", str(hub))
    assert ok.exit_code == 0, ok.output
    assert "latest checkpoint #1 (entry #5" in ok.output
    _roll_back(3)
    assert verify().ok  # the hash chain alone cannot see it
    caught = _run("verify", "--data-dir", str(hub))
    assert caught.exit_code == 1
    assert "audit log TRUNCATED" in caught.output and "ends at entry #3" in caught.output
    as_json = json.loads(_run("verify", "--data-dir", str(hub), "--json").output)
    assert as_json["ok"] is False and "TRUNCATED" in as_json["anchor"]["reason"]
    # And the hub refuses to sign the rolled-back head.
    refused = _run("checkpoint", "--data-dir", str(hub))
    assert refused.exit_code == 1 and "refusing to sign" in refused.output


def test_rollback_then_new_entries_is_reported_as_rewritten(hub: Path) -> None:
    _append(4)
    checkpoints.write_checkpoint(create_key=True)
    _roll_back(2)
    _append(3)  # the log is longer again, but entry #4 is a different one
    result = _run("verify", "--data-dir", str(hub))
    assert result.exit_code == 1 and "audit log REWRITTEN: entry #4" in result.output


def test_checkpoint_file_and_key_are_owner_only_and_tamper_evident(hub: Path) -> None:
    _append(2)
    checkpoints.write_checkpoint(create_key=True)
    _append(2)
    checkpoints.write_checkpoint()
    key_path, file_path = checkpoints.paths()
    for path in (key_path, file_path, key_path.with_name(key_path.name + ".pub")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = file_path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [(r["checkpoint"], r["seq"], r["count"]) for r in records] == [(1, 2, 2), (2, 4, 4)]
    assert records[1]["head_hash"] == AuditHead.objects.get(pk=1).last_hash
    # Editing a signed line: the signature fails.
    forged = dict(records[1], seq=3)
    file_path.write_text(lines[0] + "\n" + json.dumps(forged) + "\n")
    edited = _run("verify", "--data-dir", str(hub))
    assert edited.exit_code == 1 and "signature does not verify" in edited.output
    # Dropping the first line: the hash link to the previous line fails.
    file_path.write_text(lines[1] + "\n")
    dropped = _run("verify", "--data-dir", str(hub))
    assert dropped.exit_code == 1 and "lines were removed" in dropped.output


def test_a_checkpoint_from_another_key_is_refused(hub: Path, tmp_path: Path) -> None:
    _append(1)
    checkpoints.write_checkpoint(create_key=True)
    other = checkpoints.create_signing_key(tmp_path / "other_key")
    result = _run("verify", "--data-dir", str(hub), "--public-key", str(tmp_path / "other_key.pub"))
    assert result.exit_code == 1
    assert f"not {checkpoints.key_id(other.public_key())}" in result.output
    key_path, _ = checkpoints.paths()
    own = _run("verify", "--data-dir", str(hub), "--public-key", f"{key_path}.pub")
    assert own.exit_code == 0, own.output


def test_checkpoints_are_written_automatically_every_n_entries(hub: Path, settings: Any) -> None:
    settings.AUDIT_CHECKPOINT_EVERY = 3
    _append(2)
    _, file_path = checkpoints.paths()
    assert not file_path.exists()  # no signing key yet: nothing automatic
    checkpoints.create_signing_key(checkpoints.paths()[0])
    _append(5)  # entries 3..7: checkpoints after #3 and #6
    seqs = [json.loads(line)["seq"] for line in file_path.read_text().splitlines()]
    assert seqs == [3, 6]


class _Witness(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Witness.received.append(json.loads(body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_checkpoint_is_sent_to_a_witness(hub: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Witness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _append(2)
        url = f"http://127.0.0.1:{server.server_port}/checkpoints"
        result = _run("checkpoint", "--data-dir", str(hub), "--witness", url)
        assert result.exit_code == 0, result.output
        assert "HTTP 201" in result.output
        assert _Witness.received[-1]["seq"] == 2 and "signature" in _Witness.received[-1]
    finally:
        server.shutdown()
    unreachable = _run("checkpoint", "--data-dir", str(hub), "--witness", url)
    assert unreachable.exit_code == 1 and "written locally, but witness" in unreachable.output
