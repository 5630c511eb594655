"""`wellbeat keygen` and `wellbeat key-fingerprint`: the agency's secret pseudonymisation key."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wellbeat.privacy.keys import KeyFileError, key_fingerprint, load_key, write_key_file


@click.command("keygen")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Key file to create (hex, mode 0600). An existing file is never overwritten.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def keygen(out: Path, as_json: bool) -> None:
    """Create a new random 32-byte secret key for `wellbeat prepare`.

    Keep the file on the source agency's machine and back it up: the hub never holds it, and
    pseudonyms made with a lost key can no longer be linked to new data.
    """
    try:
        key = write_key_file(out)
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    fingerprint = key_fingerprint(key)
    if as_json:
        click.echo(json.dumps({"path": str(out), "fingerprint": fingerprint}))
    else:
        click.echo(f"wrote key {out} (fingerprint {fingerprint}, mode 0600); keep it secret")


@click.command("key-fingerprint")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def key_fingerprint_command(key_file: Path, as_json: bool) -> None:
    """Print the fingerprint (first 8 hex of SHA-256) of KEY_FILE, as batches record it."""
    try:
        fingerprint = key_fingerprint(load_key(key_file))
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"path": str(key_file), "fingerprint": fingerprint}))
    else:
        click.echo(fingerprint)


def register(cli: click.Group) -> None:
    """Add the key commands to the `wellbeat` group."""
    cli.add_command(keygen)
    cli.add_command(key_fingerprint_command)
