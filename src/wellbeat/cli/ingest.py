"""``wellbeat ingest``: validate a prepared batch and commit it to the hub's lake."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

DATA_DIR_HELP = "The hub's data directory (default: $WELLBEAT_DATA_DIR)."


def register(cli: click.Group) -> None:
    """Add ``ingest`` to the ``wellbeat`` command group."""
    cli.add_command(ingest_command)


@click.command("ingest")
@click.argument("batch", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=DATA_DIR_HELP,
)
@click.option(
    "--agency",
    default=None,
    help="Agency code of a plain CSV/NDJSON file in the batch columns (ignored for a batch "
    "directory, whose batch.json names it). Default: the file's single agency value.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object {committed, quarantined, rows_in, batch_id, already_ingested, "
    "quarantine_path} instead of the summary line.",
)
def ingest_command(batch: Path, data_dir: Path, agency: str | None, as_json: bool) -> None:
    """Ingest BATCH (a `wellbeat prepare` directory, or a CSV/NDJSON file in the batch columns).

    Bad rows go to DATA/quarantine/<batch_id>.csv with row number, field, value and reason;
    good rows commit atomically. Ingesting the same batch again changes nothing,
    unless it committed nothing (then it is validated again). An event id the agency already
    committed is quarantined, never committed twice.
    """
    from wellbeat.ingest.ingest import BatchError, ingest_batch
    from wellbeat.ingest.plain import ingest_file
    from wellbeat.lake.store import LakeError

    progress = not as_json and sys.stderr.isatty()
    try:
        if batch.is_dir():
            result = ingest_batch(batch, data_dir, progress=progress)
        else:
            result = ingest_file(batch, data_dir, agency=agency, progress=progress)
    except (BatchError, LakeError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    if result.already_ingested:
        click.echo(
            f"batch {result.batch_id} ({result.agency}) was already ingested: nothing changed "
            f"({result.committed} committed, {result.quarantined} quarantined of {result.rows_in})"
        )
        return
    where = f"; see {result.quarantine_path}" if result.quarantine_path else ""
    click.echo(
        f"ingested batch {result.batch_id} ({result.agency}): {result.rows_in} rows in, "
        f"{result.committed} committed, {result.quarantined} quarantined{where}"
    )
