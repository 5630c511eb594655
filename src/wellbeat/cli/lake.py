"""``wellbeat lake``: what the hub's event lake holds (aggregate numbers, never event rows)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def register(cli: click.Group) -> None:
    """Add the ``lake`` command group to ``wellbeat``."""
    cli.add_command(lake_group)


@click.group("lake")
def lake_group() -> None:
    """Inspect the hub's event lake: batches, row counts, quarantine, latency."""


_DATA_DIR = click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in counts.items()) or "none"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 3600:
        return f"{value / 60:.0f}m"
    return f"{value / 3600:.1f}h"


@lake_group.command("stats")
@_DATA_DIR
@_JSON
def stats_command(data_dir: Path, as_json: bool) -> None:
    """Rows per agency, sector and kind; batches; quarantined rows; freshness and latency."""
    from wellbeat.lake.store import LakeError, lake_stats

    try:
        stats = lake_stats(data_dir)
    except LakeError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(stats.to_json()))
        return
    click.echo(
        f"{stats.batches} batches: {stats.rows_in:,} rows in, {stats.committed:,} committed, "
        f"{stats.quarantined:,} quarantined"
    )
    click.echo(f"by agency: {_counts(dict(stats.rows_by_agency))}")
    click.echo(f"by sector: {_counts(dict(stats.rows_by_sector))}")
    click.echo(f"by kind:   {_counts(dict(stats.rows_by_kind))}")
    for agency in stats.agencies:
        lat = agency.latency_seconds
        click.echo(
            f"  {agency.agency}: {agency.batches} batches, last ingested {agency.last_ingested_at},"
            f" latest event {agency.last_occurred_at or '-'}, latency p50 {_seconds(lat['p50'])}"
            f" p90 {_seconds(lat['p90'])} p99 {_seconds(lat['p99'])}"
        )


@lake_group.command("batches")
@_DATA_DIR
@_JSON
def batches_command(data_dir: Path, as_json: bool) -> None:
    """List committed batches, oldest first."""
    from wellbeat.lake.store import LakeError, list_batches

    try:
        batches = list_batches(data_dir)
    except LakeError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"batches": [b.to_json() for b in batches]}))
        return
    for b in batches:
        click.echo(
            f"{b.batch_id}  {b.agency:<10} {b.ingested_at}  {b.rows_in:>9,} in "
            f"{b.committed:>9,} committed {b.quarantined:>7,} quarantined"
        )
