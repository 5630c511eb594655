"""`wellbeat audit ...`: check the audit log's hash chain from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click


def register(cli: click.Group) -> None:
    cli.add_command(audit)


@click.group()
def audit() -> None:
    """Inspect the hub's append-only, hash-chained audit log."""


@audit.command("verify")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    help="The hub's data directory (its SQLite file, unless WELLBEAT_DATABASE_URL is set).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
def verify_command(data_dir: Path, as_json: bool) -> None:
    """Recompute every entry's hash and check the chain; exit 1 naming the first broken
    entry when any entry was edited, deleted or inserted."""
    from wellbeat.web.bootstrap import setup_django

    if not data_dir.is_dir():
        raise click.ClickException(f"--data-dir {data_dir}: no such directory")
    try:
        setup_django(data_dir, create=False)
        from wellbeat.web.audit.chain import verify

        result = verify()
    except Exception as exc:  # database missing, unmigrated, unreachable
        raise click.ClickException(f"cannot read the audit log in {data_dir}: {exc}") from exc
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    elif result.ok:
        click.echo(f"audit chain intact: {result.checked} entries verified")
    else:
        click.echo(f"audit chain BROKEN after {result.checked} good entries: {result.reason}")
    if not result.ok:
        raise SystemExit(1)
