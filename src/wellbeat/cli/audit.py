"""`wellbeat audit ...`: check the audit log's hash chain and its signed checkpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    help="The hub's data directory (its SQLite file, unless WELLBEAT_DATABASE_URL is set).",
)


def register(cli: click.Group) -> None:
    cli.add_command(audit)


@click.group()
def audit() -> None:
    """Inspect the hub's append-only, hash-chained audit log."""


def _check_checkpoints(public_key_file: Path | None) -> dict[str, Any]:
    """Verify the checkpoint file and that the log still holds every checkpointed head."""
    from wellbeat.web.audit import checkpoints

    key_path, checkpoint_path = checkpoints.paths()
    lines = checkpoints.read_checkpoints(checkpoint_path)
    if not lines:
        return {"ok": True, "checkpoints": 0, "reason": f"no checkpoints in {checkpoint_path}"}
    public_key = checkpoints.load_public_key(public_key_file or key_path)
    checkpoints.check_file(checkpoint_path, lines, public_key)
    for item in reversed(lines):  # newest first: a truncation shows there
        problem = checkpoints.chain_problem(item.record)
        if problem:
            return {"ok": False, "checkpoints": len(lines), "reason": problem}
    latest = lines[-1].record
    return {
        "ok": True,
        "checkpoints": len(lines),
        "reason": f"latest checkpoint #{latest['checkpoint']} (entry #{latest['seq']}, "
        f"signed {latest['at']}) is in the log",
    }


@audit.command("verify")
@DATA_DIR_OPTION
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Verify checkpoints with this Ed25519 public key (PEM) instead of the hub's own key "
    "file, e.g. a copy held by a partner agency.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
def verify_command(data_dir: Path, public_key_file: Path | None, as_json: bool) -> None:
    """Recompute every entry's hash and check the chain, then check the signed checkpoints:
    exit 1 naming the first broken entry when any entry was edited, deleted or inserted, and
    when the log no longer holds a checkpointed head (truncated or rolled back)."""
    from wellbeat.web.bootstrap import setup_django

    if not data_dir.is_dir():
        raise click.ClickException(f"--data-dir {data_dir}: no such directory")
    try:
        setup_django(data_dir, create=False)
        from wellbeat.web.audit.chain import verify

        result = verify()
    except Exception as exc:  # database missing, unmigrated, unreachable
        raise click.ClickException(f"cannot read the audit log in {data_dir}: {exc}") from exc
    from wellbeat.web.audit.checkpoints import CheckpointError

    try:
        anchored = _check_checkpoints(public_key_file)
    except CheckpointError as exc:
        anchored = {"ok": False, "checkpoints": None, "reason": f"checkpoint file: {exc}"}
    ok = result.ok and anchored["ok"]
    if as_json:
        click.echo(json.dumps({**result.as_dict(), "ok": ok, "anchor": anchored}))
    else:
        if result.ok:
            click.echo(f"audit chain intact: {result.checked} entries verified")
        else:
            click.echo(f"audit chain BROKEN after {result.checked} good entries: {result.reason}")
        click.echo(
            ("checkpoints: " if anchored["ok"] else "checkpoints FAILED: ") + anchored["reason"]
        )
    if not ok:
        raise SystemExit(1)


@audit.command("checkpoint")
@DATA_DIR_OPTION
@click.option(
    "--witness",
    default=None,
    help="Also POST the checkpoint (JSON) to this URL; default WELLBEAT_AUDIT_WITNESS_URL.",
)
def checkpoint_command(data_dir: Path, witness: str | None) -> None:
    """Sign the audit chain's current head with the hub's Ed25519 key (created on first use)
    and append it to the checkpoint file; refuses when the log no longer holds the previous
    checkpoint. Run it from cron, and after `alerts run`, as well as the automatic ones."""
    from wellbeat.web.bootstrap import setup_django

    if not data_dir.is_dir():
        raise click.ClickException(f"--data-dir {data_dir}: no such directory")
    setup_django(data_dir, create=False)
    from django.conf import settings

    from wellbeat.web.audit.checkpoints import CheckpointError, send_to_witness, write_checkpoint

    try:
        record = write_checkpoint(create_key=True)
    except CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"checkpoint #{record['checkpoint']}: {record['count']} entries, head "
        f"{record['head_hash'][:12]}…, signed by key {record['key_id']}"
    )
    url = witness if witness is not None else settings.AUDIT_WITNESS_URL
    if url:
        try:
            status = send_to_witness(record, url)
        except CheckpointError as exc:
            raise click.ClickException(f"checkpoint written locally, but {exc}") from None
        click.echo(f"sent to witness {url} (HTTP {status})")
