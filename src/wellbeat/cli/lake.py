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


@lake_group.command("time-zone")
@_DATA_DIR
@click.argument("zone", required=False)
@click.option(
    "--zone-layer",
    default=None,
    help="For a hub spanning zones: an area layer whose features carry a 'time_zone' "
    "property; each event's local day is then taken in its area's zone.",
)
@_JSON
def time_zone_command(
    data_dir: Path, zone: str | None, zone_layer: str | None, as_json: bool
) -> None:
    """Show or set the hub's time zone (an IANA name such as America/Chicago).

    Every period a person reads (days, weeks, months, quarters, years; cubes, alerts,
    measures, exports) is a local calendar period in this zone; timestamps stay UTC. Setting
    it re-derives the local day of every batch already in the lake, each as a new revision
    (atomic per batch; ingests wait). Running it again changes nothing.
    """
    from wellbeat.geo import AreaLayerError
    from wellbeat.ingest.areas import reassign_areas
    from wellbeat.lake.store import LakeError, LakeSettings, read_lake_settings

    try:
        if zone is None:
            if zone_layer is not None:
                raise click.UsageError("--zone-layer needs ZONE (the hub's own zone)")
            current = read_lake_settings(data_dir)
            if as_json:
                click.echo(json.dumps(current.to_json()))
            else:
                click.echo(
                    f"time zone {current.time_zone}"
                    + (f", per area of layer {current.zone_layer}" if current.zone_layer else "")
                )
            return
        result = reassign_areas(data_dir, LakeSettings(zone, zone_layer))
    except (AreaLayerError, LakeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    update: dict[str, object] = {
        "time_zone": zone,
        "zone_layer": zone_layer,
        "batches_revised": len(result.batches_revised),
        "batches_current": result.batches_current,
        "events_revised": result.events_revised,
    }
    update["audited"] = _audit(data_dir, update)
    if as_json:
        click.echo(json.dumps(update))
        return
    click.echo(
        f"time zone {zone}"
        + (f" (per area of layer {zone_layer})" if zone_layer else "")
        + f": re-derived local days of {result.events_revised:,} events in "
        f"{len(result.batches_revised)} batches, {result.batches_current} already current"
        + ("" if update["audited"] else "; no hub database here, so not audited")
    )


def _audit(data_dir: Path, details: dict[str, object]) -> bool:
    """Record the change in the hub's audit log when the data directory has a hub database."""
    from wellbeat.web.bootstrap import has_hub_database, setup_django

    if not has_hub_database(data_dir):
        return False
    setup_django(data_dir, create=False)
    from wellbeat.web.audit.actions import record

    record("lake.time_zone_set", actor=None, agency=None, details=details, actor_label="cli")
    return True
