"""`wellbeat demo`: the main job, from a synthetic city to a hub with demo logins."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wellbeat.synth.scales import SCALES

if TYPE_CHECKING:
    from wellbeat.web.surveillance.detection import DetectionRun


def register(cli: click.Group) -> None:
    cli.add_command(demo)
    cli.add_command(demo_codes)


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The hub's data directory (created if missing; a second run reuses what is there).",
)
@click.option(
    "--agencies-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the simulated agencies keep their raw extracts, key and batches "
    "(default: DATA_DIR-agencies beside the data directory; never inside it).",
)
@click.option(
    "--scale",
    type=click.Choice(sorted(SCALES)),
    default="small",
    show_default=True,
    help="Size of the synthetic city.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Synthetic city seed.")
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last day of the synthetic city's two years (default: yesterday in the city's time "
    "zone, the last whole day, so the demo lives in the present and no event lies in the "
    "hub's future). Used only when the city is first built; a rerun reuses it.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option("--no-serve", is_flag=True, help="Stop after loading data and demo logins.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary (implies quiet).")
def demo(
    data_dir: Path,
    agencies_dir: Path | None,
    scale: str,
    seed: int,
    end_date: dt.datetime | None,
    host: str,
    port: int,
    no_serve: bool,
    as_json: bool,
) -> None:
    """Synthetic city -> prepare at each agency -> ingest at the hub -> demo agencies, users
    and agreements -> the hub on http://HOST:PORT with the demo logins printed.

    Demo mode only: the demo users have a known password and their TOTP secrets are printed.
    """
    from wellbeat.demo_pipeline import run_pipeline

    say = (lambda _line: None) if as_json else click.echo
    started = time.perf_counter()
    try:
        pipeline = run_pipeline(
            data_dir,
            agencies_dir=agencies_dir,
            seed=seed,
            scale=scale,
            end=end_date.date() if end_date else last_whole_day(),
            progress=not as_json,
            say=say,
        )
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    say(
        f"Hub lake: {pipeline.rows_in:,} rows in, {pipeline.committed:,} committed, "
        f"{pipeline.quarantined:,} quarantined (raw extracts stay in {pipeline.agencies_dir})"
    )

    os.environ["WELLBEAT_DEMO"] = "1"
    from wellbeat.web.demo_logins import seed_demo

    logins = seed_demo(pipeline.data_dir, pipeline.agencies)  # sets Django up for the data dir
    from wellbeat.web.governance.demo import seed_agreements

    agreements = seed_agreements()
    from wellbeat.web.indicators.demo import seed_indicators

    indicators = seed_indicators()
    start, end = _city_span(pipeline.agencies_dir)
    directory = _load_directory(end)
    from wellbeat.web.care.demo import DEMO_CONTACT_PASSPHRASE, seed_care_activity

    care = seed_care_activity(pipeline.agencies_dir, seed=seed)
    detection = _detect(start, end)
    elapsed = time.perf_counter() - started
    if as_json:
        click.echo(
            json.dumps(
                {
                    "data_dir": str(pipeline.data_dir),
                    "agencies_dir": str(pipeline.agencies_dir),
                    "period": [start.isoformat(), end.isoformat()],
                    "rows_in": pipeline.rows_in,
                    "committed": pipeline.committed,
                    "quarantined": pipeline.quarantined,
                    "batches": [run.batch_id for run in pipeline.runs],
                    "logins": [
                        {
                            "username": login.username,
                            "password": login.password,
                            "agency": login.agency,
                            "roles": list(login.roles),
                            "totp_secret": login.totp_secret,
                        }
                        for login in logins
                    ],
                    "agreements": len(agreements),
                    "indicators": len(indicators),
                    "directory_services": directory,
                    "crisis_calls": care.calls,
                    "encounters": care.encounters,
                    "referrals": care.referrals,
                    "contact_passphrase": DEMO_CONTACT_PASSPHRASE,
                    "alerts_raised": detection.raised,
                    "seconds": round(elapsed, 1),
                }
            )
        )
    else:
        click.echo(f"\n{len(agreements)} demo agreements between the agencies.")
        if indicators:
            click.echo(f"{len(indicators)} custom indicators of the MPD analyst (My indicators).")
        click.echo(f"{directory} services in the shared directory (HSDS 3.0).")
        if not care.already_seeded:
            click.echo(
                f"Crisis triage replayed {care.calls} behavioural-health calls; "
                f"{care.encounters} co-responder encounters, {care.referrals} referrals "
                f"({care.followups} overdue follow-ups)."
            )
        click.echo(
            "Referred people's names are sealed for the provider agencies (NBH, CHD): their "
            f"clinicians and care coordinators unlock them with the passphrase "
            f"{DEMO_CONTACT_PASSPHRASE!r}."
        )
        click.echo(
            f"Detection {detection.since}..{detection.as_of}: {detection.raised} new alerts, "
            f"{detection.duplicates} already raised."
        )
        click.echo("Demo logins (every password is the same; TOTP codes change every 30 s):")
        for login in logins:
            click.echo("  " + login.describe())
        click.echo("\nTOTP secrets (add one to any authenticator app, or use the codes above):")
        for login in logins:
            if login.totp_secret:
                click.echo(f"  {login.username:<24} {login.totp_secret}")
        click.echo(
            f"Fresh codes any time, no phone needed: wellbeat demo-codes --data-dir "
            f"{pipeline.data_dir} [USERNAME]"
        )
        click.echo(f"Ready in {elapsed:.0f} s.")
    if no_serve:
        return
    from wellbeat.cli.serve import serve

    serve.callback(  # type: ignore[misc]
        data_dir=pipeline.data_dir, host=host, port=port, workers=None, timeout=120
    )


@click.command("demo-codes")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The demo hub's data directory.",
)
@click.argument("usernames", nargs=-1)
def demo_codes(data_dir: Path, usernames: tuple[str, ...]) -> None:
    """Print the current TOTP code of each demo user (or of USERNAMES), for signing in to the
    demo without an authenticator app. Only demo users' codes are shown."""
    from wellbeat.web.accounts.totp import current_code
    from wellbeat.web.demo_logins import demo_codes as codes_of

    try:
        logins = codes_of(data_dir, list(usernames) or None)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    missing = sorted(set(usernames) - {login.username for login in logins})
    if missing:
        raise click.ClickException(f"no demo user with a second factor: {', '.join(missing)}")
    left = 30 - int(time.time()) % 30
    for login in logins:
        click.echo(f"{login.username:<24} {current_code(login.totp_secret)}")
    click.echo(f"(codes change every 30 s; these are good for {left} s more)", err=True)


def last_whole_day() -> dt.date:
    """Yesterday in the synthetic city's time zone: the demo's data runs up to last midnight
    there, so it is current and no event is in the future (which ingest would quarantine)."""
    from zoneinfo import ZoneInfo

    from wellbeat.synth.geography import TIMEZONE

    return dt.datetime.now(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=1)


def _city_span(agencies_dir: Path) -> tuple[dt.date, dt.date]:
    """The first and last day of the synthetic city's period, from its city.json."""
    from wellbeat.demo_pipeline import CITY_DIRNAME

    city = json.loads((agencies_dir / CITY_DIRNAME / "city.json").read_text(encoding="utf-8"))
    return dt.date.fromisoformat(city["start"]), dt.date.fromisoformat(city["end"])


def _load_directory(as_of: dt.date) -> int:
    """Import the synthetic city's service directory (HSDS 3.0), its entries confirmed
    relative to the city's last day; idempotent by HSDS id."""
    from wellbeat.care.hsds import synthetic_directory
    from wellbeat.web.care.actions import do_import_directory

    documents = synthetic_directory(as_of=as_of)
    do_import_directory(documents, actor_label="wellbeat demo")
    return len(documents)


def _detect(start: dt.date, end: dt.date) -> DetectionRun:
    """Run alert detection once over the whole synthetic period (idempotent), as cron would
    nightly; the city's data ends on its own end date, so detection runs as of that day."""
    from wellbeat.web.surveillance.detection import run_detection

    # Eight weeks of history before the first day judged, so every method has its baseline.
    return run_detection(end, since=start + dt.timedelta(days=56))
