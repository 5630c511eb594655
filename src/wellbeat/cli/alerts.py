"""`wellbeat alerts ...`: the scheduled detection job (run it from cron) and delivery retries."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from wellbeat.analytics.alerts import DEFAULT_MIN_COUNT, METHODS


def register(cli: click.Group) -> None:
    cli.add_command(alerts)


@click.group()
def alerts() -> None:
    """Surveillance alerts: detection over every watched indicator x area, spike thresholds,
    delivery to subscribers (docs/alerts.md)."""


def _setup(data_dir: Path) -> None:
    from wellbeat.web.bootstrap import setup_django

    if not data_dir.is_dir():
        raise click.ClickException(f"--data-dir {data_dir}: no such directory")
    try:
        setup_django(data_dir, migrate=True)
    except Exception as exc:  # database unreachable or unmigratable
        raise click.ClickException(f"cannot open the hub's records in {data_dir}: {exc}") from exc


DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    help="The hub's data directory (lake, areas and records).",
)


@alerts.command("run")
@DATA_DIR_OPTION
@click.option(
    "--date",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Detect up to this UTC day (default: yesterday, the last complete day).",
)
@click.option(
    "--from",
    "since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Raise signals from this day on (default: the last 7 days up to --date); use an "
    "early date to backfill history.",
)
@click.option(
    "--layer", default="neighbourhood", show_default=True, help="Area layer to detect in."
)
@click.option(
    "--daily-method",
    type=click.Choice(METHODS),
    default="ears-c2",
    show_default=True,
    help="Detector for daily indicators.",
)
@click.option(
    "--weekly-method",
    type=click.Choice(METHODS),
    default="farrington-flexible",
    show_default=True,
    help="Detector for weekly indicators.",
)
@click.option(
    "--min-count",
    type=click.IntRange(1),
    default=DEFAULT_MIN_COUNT,
    show_default=True,
    help="Smallest period count an aberration must reach to become an alert.",
)
@click.option("--no-deliver", is_flag=True, help="Raise alerts but send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
def run_command(
    data_dir: Path,
    as_of: dt.datetime | None,
    since: dt.datetime | None,
    layer: str,
    daily_method: str,
    weekly_method: str,
    min_count: int,
    no_deliver: bool,
    as_json: bool,
) -> None:
    """Run detection once (idempotent: signals already raised are skipped, a running episode
    extends its alert). Cron example: `15 2 * * * wellbeat alerts run --data-dir /srv/hub`."""
    _setup(data_dir)
    from wellbeat.analytics.alerts import AlertConfigError
    from wellbeat.web.governance.service import hub_today
    from wellbeat.web.surveillance.detection import run_detection

    # Yesterday, a local day of the hub's time zone.
    day = as_of.date() if as_of else hub_today() - dt.timedelta(days=1)
    try:
        result = run_detection(
            day,
            since=since.date() if since else None,
            layer=layer,
            daily_method=daily_method,
            weekly_method=weekly_method,
            min_count=min_count,
            deliver=not no_deliver,
        )
    except AlertConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    click.echo(
        f"Detection {result.since}..{result.as_of} at layer {result.layer}: "
        f"{result.signals} signals, {result.raised} new alerts, {result.extended} extended, "
        f"{result.duplicates} already raised; {result.deliveries} deliveries "
        f"({result.failed_deliveries} failed) in {result.seconds:.1f} s"
    )


@alerts.command("deliver")
@DATA_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
def deliver_command(data_dir: Path, as_json: bool) -> None:
    """Send pending deliveries and retry failed ones that are due."""
    _setup(data_dir)
    from wellbeat.web.surveillance.delivery import deliver_due

    done = deliver_due()
    failed = [d for d in done if d.status == "failed"]
    if as_json:
        click.echo(json.dumps({"attempted": len(done), "failed": len(failed)}))
    else:
        click.echo(f"{len(done)} deliveries attempted, {len(failed)} failed")
