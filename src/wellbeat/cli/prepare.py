"""``wellbeat prepare``: run at the agency to turn a raw extract into a shareable batch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def register(cli: click.Group) -> None:
    """Add ``prepare`` to the ``wellbeat`` command group."""
    cli.add_command(prepare_command)


@click.command("prepare")
@click.argument("extract", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--profile",
    "profile_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Mapping profile (YAML) describing the extract's columns (docs/profiles.md).",
)
@click.option(
    "--key-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The agency's secret pseudonymisation key (hex). It never enters the batch.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Batch directory to write (events.parquet, batch.json and report.json).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing batch directory at --out instead of refusing.",
)
@click.option(
    "--fail-on-unmapped",
    is_flag=True,
    help="Exit 1 without writing the batch when a code is not in its profile map or not in "
    "its code set (reported either way).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object {batch, rows, agency, connector, events_sha256, "
    "key_fingerprint, codes} instead of the summary line.",
)
def prepare_command(
    extract: Path,
    profile_path: Path,
    key_file: Path,
    out: Path,
    overwrite: bool,
    fail_on_unmapped: bool,
    as_json: bool,
) -> None:
    """Prepare EXTRACT (CSV, Parquet or NDJSON) into a shareable batch at the agency.

    Identifiers become a keyed pseudonym and a Bloom-filter linkage code; identity columns,
    free text and every column the profile does not name are left behind. Codes the profile
    leaves unmapped or that are not in their code set are reported (count and examples per
    column), also in the batch's report.json.
    """
    from wellbeat.ingest.prepare import prepare
    from wellbeat.ingest.profile import PrepareError

    try:
        summary = prepare(
            extract,
            profile_path,
            key_file,
            out,
            progress=not as_json and sys.stderr.isatty(),
            overwrite=overwrite,
            fail_on_unmapped=fail_on_unmapped,
        )
    except PrepareError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(summary.as_json()))
        return
    rate = summary.rows / summary.seconds if summary.seconds > 0 else float("inf")
    click.echo(
        f"prepared {summary.rows} rows of {summary.agency} ({summary.connector}) into "
        f"{summary.batch} in {summary.seconds:.1f}s ({rate:,.0f} rows/s); "
        f"key {summary.key_fingerprint}, events sha256 {summary.events_sha256[:12]}"
    )
    for line in summary.code_problems:
        click.echo(f"codes: {line}")
