"""The audit log is append-only and hash-chained: any edit or deletion is detected, and
`wellbeat audit verify` names the first broken entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wellbeat.web.audit import actions as audit
from wellbeat.web.audit.chain import verify
from wellbeat.web.audit.models import AppendOnlyError, AuditEntry, AuditHead

pytestmark = pytest.mark.django_db


def _raw(sql: str, params: list[Any]) -> None:
    """Tamper the way an intruder with database access would: below the application."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _record_many(world: Any, n: int) -> list[AuditEntry]:
    user = world.users["mpd_analyst"]
    return [
        audit.record(
            "governed.read", actor=user, agency=user.agency, target=f"query:{i}", details={"i": i}
        )
        for i in range(n)
    ]


def test_an_intact_chain_verifies(world: Any) -> None:
    entries = _record_many(world, 5)
    result = verify()
    assert result.ok and result.checked == 5
    assert entries[0].prev_hash == "0" * 64
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]


def test_the_application_refuses_to_change_or_delete_entries(world: Any) -> None:
    entry = _record_many(world, 1)[0]
    entry.target = "something else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(target="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


def test_an_edited_entry_is_named(world: Any) -> None:
    entries = _record_many(world, 6)
    _raw("UPDATE audit_auditentry SET target = %s WHERE id = %s", ["query:evil", entries[3].pk])
    result = verify()
    assert not result.ok
    assert result.first_broken_id == entries[3].pk and result.first_broken_seq == 4
    assert "was edited" in result.reason
    assert result.checked == 3


def test_edited_details_are_detected(world: Any) -> None:
    entries = _record_many(world, 3)
    _raw("UPDATE audit_auditentry SET details = %s WHERE id = %s", ['{"i": 99}', entries[1].pk])
    assert verify().first_broken_seq == 2


def test_a_deleted_entry_is_detected(world: Any) -> None:
    entries = _record_many(world, 5)
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [entries[2].pk])
    result = verify()
    assert not result.ok and result.first_broken_id == entries[3].pk
    assert "missing" in result.reason


def test_a_truncated_tail_is_detected(world: Any) -> None:
    entries = _record_many(world, 4)
    _raw("DELETE FROM audit_auditentry WHERE id = %s", [entries[-1].pk])
    result = verify()
    assert not result.ok and result.checked == 3
    assert "chain head records 4 entries" in result.reason


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(world: Any) -> None:
    from wellbeat.web.audit.chain import entry_digest

    entries = _record_many(world, 3)
    victim = entries[1]
    forged = entry_digest(
        seq=victim.seq,
        at=victim.at,
        action=victim.action,
        actor_id=victim.actor_id,
        actor_username=victim.actor_username,
        agency_id=victim.agency_id,
        agency_code=victim.agency_code,
        target="query:forged",
        details=victim.details,
        prev_hash=victim.prev_hash,
    )
    _raw(
        "UPDATE audit_auditentry SET target = %s, entry_hash = %s WHERE id = %s",
        ["query:forged", forged, victim.pk],
    )
    result = verify()
    assert result.first_broken_seq == 3 and "prev_hash does not match" in result.reason


def test_record_rejects_malformed_actions(world: Any) -> None:
    with pytest.raises(ValueError, match="expected lower-case dotted words"):
        audit.record("Login Failed", actor=None, agency=None)


def test_a_rolled_back_change_leaves_no_entry_and_the_chain_intact(world: Any) -> None:
    _record_many(world, 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("agreement.approved", actor=None, agency=None, actor_label="test")
        raise RuntimeError("the change failed")
    assert AuditEntry.objects.count() == 2
    assert AuditHead.objects.get().last_seq == 2
    assert verify().ok


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    details=st.lists(
        st.dictionaries(
            st.text(min_size=1, max_size=8),
            st.one_of(st.integers(-(10**12), 10**12), st.text(max_size=20), st.booleans()),
            max_size=3,
        ),
        min_size=1,
        max_size=6,
    ),
    data=st.data(),
)
def test_any_single_edit_is_caught_at_that_entry(world: Any, details: list[Any], data: Any) -> None:
    """Property: for any log and any entry, changing its target is reported at that entry."""
    with transaction.atomic():
        entries = [
            audit.record("consent.recorded", actor=None, agency=None, details=d, actor_label="p")
            for d in details
        ]
        assert verify().ok
        victim = data.draw(st.sampled_from(entries))
        _raw("UPDATE audit_auditentry SET target = %s WHERE id = %s", ["x", victim.pk])
        assert verify().first_broken_id == victim.pk
        transaction.set_rollback(True)


def _clean_env() -> dict[str, str]:
    """The environment without the test run's settings, but with the field-encryption key
    (outside demo mode the hub refuses to start without one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WELLBEAT_", "DJANGO_"))}
    env["WELLBEAT_FIELD_KEY"] = os.environ["WELLBEAT_FIELD_KEY"]
    return env


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = _clean_env()
    return subprocess.run(
        [sys.executable, "-m", "wellbeat", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(
    bool(os.environ.get("WELLBEAT_DATABASE_URL")), reason="the CLI test uses the SQLite file"
)
def test_cli_verify_exits_non_zero_naming_the_broken_entry(tmp_path: Path) -> None:
    import sqlite3

    data_dir = tmp_path / "hub"
    done = _cli("manage", "--data-dir", str(data_dir), "migrate", "--verbosity", "0")
    assert done.returncode == 0, done.stderr
    script = (
        "from wellbeat.web.bootstrap import setup_django; from pathlib import Path;"
        f"setup_django(Path({str(data_dir)!r}));"
        "from wellbeat.web.audit.actions import record;"
        "[record('login.failed', actor=None, agency=None, target=f'user:u{i}', "
        "actor_label='anonymous') for i in range(4)]"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        timeout=120,
        env=_clean_env(),
    )
    ok = _cli("audit", "verify", "--data-dir", str(data_dir), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["checked"] == 4
    with sqlite3.connect(data_dir / "wellbeat.sqlite3") as db:
        db.execute("UPDATE audit_auditentry SET target = 'user:mallory' WHERE seq = 2")
    broken = _cli("audit", "verify", "--data-dir", str(data_dir))
    assert broken.returncode == 1
    assert "entry #2" in broken.stdout and "was edited" in broken.stdout
