"""`wellbeat alerts ...`: the scheduled detection job (run it from cron) and the delivery
queue's worker."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wellbeat.analytics.alerts import DEFAULT_MIN_COUNT, METHODS

if TYPE_CHECKING:
    from wellbeat.web.surveillance.delivery import Drained


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
@click.option(
    "--no-deliver",
    is_flag=True,
    help="Raise alerts and queue their deliveries, but leave the sending to "
    "`wellbeat alerts deliver`.",
)
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
    extends its alert), queue deliveries for subscribers, then, once detection is done, send
    the deliveries that are due. Cron example: `15 2 * * * wellbeat alerts run --data-dir
    /srv/hub`."""
    _setup(data_dir)
    from wellbeat.analytics.alerts import AlertConfigError
    from wellbeat.web.governance.service import hub_today
    from wellbeat.web.surveillance.delivery import Drained, drain_due
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
        )
    except AlertConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    # Detection is committed before anything is sent: a slow subscriber delays only this.
    drained = Drained([]) if no_deliver else drain_due()
    if as_json:
        click.echo(json.dumps({**result.as_dict(), "delivery": drained.as_dict()}))
        return
    click.echo(
        f"Detection {result.since}..{result.as_of} at layer {result.layer}: "
        f"{result.signals} signals, {result.raised} new alerts, {result.extended} extended, "
        f"{result.duplicates} already raised in {result.seconds:.1f} s; "
        f"{result.queued} deliveries queued; {_drained_line(drained)}"
    )


def _drained_line(drained: Drained) -> str:
    counts = drained.as_dict()
    return (
        f"{counts['attempted']} deliveries attempted: {counts['delivered']} delivered, "
        f"{counts['retrying']} to retry, {counts['failed']} failed for good"
    )


@alerts.command("deliver")
@DATA_DIR_OPTION
@click.option(
    "--loop",
    is_flag=True,
    help="Keep running: drain, sleep until the next delivery falls due (at most --interval), "
    "repeat until SIGTERM or Ctrl-C, which stop it after the delivery in hand.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.1),
    default=5.0,
    show_default=True,
    help="With --loop: the longest sleep between passes, in seconds.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object per pass (with --loop: per pass that sent something).",
)
def deliver_command(data_dir: Path, loop: bool, interval: float, as_json: bool) -> None:
    """The delivery queue's worker: send queued deliveries and retry failed ones that are due
    (1 s, 4 s, then 15 min between bursts of three; failed for good after 9 attempts). Safe to
    run several at once and to kill: a delivery is claimed by one worker, and one whose worker
    died is retried when its claim expires."""
    _setup(data_dir)
    from wellbeat.web.surveillance.delivery import drain_due, work

    def report(drained: Drained) -> None:
        if loop and not drained.deliveries:
            return  # a quiet log: the loop only reports passes that sent something
        click.echo(json.dumps(drained.as_dict()) if as_json else _drained_line(drained))

    if not loop:
        report(drain_due())
        return
    stopping: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    click.echo(f"delivery worker running (passes at most {interval:g} s apart)", err=True)
    try:
        work(
            interval=interval,
            sleep=_interruptible(stopping),
            stop=lambda: bool(stopping),
            on_pass=report,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("delivery worker stopped", err=True)


def _interruptible(stopping: list[int]) -> Callable[[float], None]:
    """A sleep that ends early once a stop signal arrived."""

    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))

    return sleep
