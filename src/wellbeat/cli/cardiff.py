"""``wellbeat cardiff``: the Cardiff Model monthly summary, read through the governed service.

The ED's anonymised monthly summary for the community safety partnership (top places,
location types, times of week and weapons, small counts suppressed), plus optional tables of
hidden violence, time of week and ISTV completeness. Reads as a named hub user with a
person-level role (the two governed extracts of ``wellbeat.web.governance.cardiff``), audited;
it never opens the lake itself.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from wellbeat.governance.agreements import PURPOSES


def register(cli: click.Group) -> None:
    """Add the ``cardiff`` command to ``wellbeat``."""
    cli.add_command(cardiff_command)


def _month(text: str) -> tuple[dt.date, dt.date]:
    try:
        first = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as exc:
        raise click.ClickException(f"--month {text!r}: expected YYYY-MM, e.g. 2025-03") from exc
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following


def _csv(frame: object, path: Path) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


@click.command("cardiff")
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)
@click.option("--month", required=True, help="The month summarised, YYYY-MM (local).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The monthly summary CSV: section, item, count (empty when suppressed), suppressed.",
)
@click.option(
    "--user",
    required=True,
    help="Read as this hub user (a person-level role such as analyst: the reads are extracts).",
)
@click.option(
    "--purpose",
    type=click.Choice(sorted(PURPOSES)),
    default="violence_prevention",
    show_default=True,
    help="Why the data is read; agreements are per purpose.",
)
@click.option("--layer", default="neighbourhood", show_default=True, help="Area layer of places.")
@click.option(
    "--min-cell",
    type=click.IntRange(min=1),
    help="Smallest count published (default 5, or the --recipient agreement's minimum).",
)
@click.option(
    "--recipient",
    help="The agency the summary is for: its agreement in force with the reader's agency "
    "(covering assault attendances) sets the smallest count published.",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day of the hidden-violence window (default: 365 days before the month's end).",
)
@click.option(
    "--hidden-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the hidden-violence ranking (window --start to the month's end).",
)
@click.option(
    "--time-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write ED and police counts per weekday x 3-hour band (same window).",
)
@click.option(
    "--completeness-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write ISTV field completeness per month (same window).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def cardiff_command(
    data_dir: Path,
    month: str,
    out: Path,
    user: str,
    purpose: str,
    layer: str,
    min_cell: int | None,
    recipient: str | None,
    start: dt.datetime | None,
    hidden_out: Path | None,
    time_out: Path | None,
    completeness_out: Path | None,
    as_json: bool,
) -> None:
    """Write the Cardiff Model monthly summary for --month (docs/methods.md, "The Cardiff
    violence picture"): ED assault attendances by place, location type, time of week and
    weapon, every count below the minimum suppressed. The reads (ED assault attendances and
    police-recorded violence, as extracts without person columns) go through the governed
    service as --user and are audited; another agency's rows come only as its agreements
    allow. Needs the hub's database in the data directory."""
    from wellbeat.analytics.cardiff import (
        DEFAULT_MIN_CELL,
        CardiffError,
        by_time_of_week,
        completeness,
        hidden_violence,
        monthly_summary,
    )
    from wellbeat.cli.indicators import NO_HUB, _layer_names, _requester
    from wellbeat.web.bootstrap import has_hub_database, setup_django

    first, following = _month(month)
    window_start = start.date() if start is not None else following - dt.timedelta(days=365)
    if window_start > first:
        raise click.ClickException(f"--start {window_start} is after the month's first day")
    if not has_hub_database(data_dir):
        raise click.ClickException(NO_HUB.format(dir=data_dir))
    layers = _layer_names(data_dir)
    if layer not in layers:
        raise click.ClickException(
            f"--layer {layer!r}: no such area layer (layers: {', '.join(layers) or 'none'})"
        )
    if min_cell is not None and recipient is not None:
        raise click.ClickException("give --min-cell or --recipient, not both")
    try:
        setup_django(data_dir, create=False)
    except Exception as exc:  # unreadable settings or database
        raise click.ClickException(f"cannot open the hub in {data_dir}: {exc}") from exc
    from wellbeat.web.governance.cardiff import CardiffRefused, governed_violence, sharing_min_cell
    from wellbeat.web.governance.service import QueryError, hub_today

    requester = _requester(user, None)
    if not requester.context.person_level:
        raise click.ClickException(
            f"--user {user}: the Cardiff reads are extracts and need a person-level role "
            "(analyst, officer, clinician, care coordinator or auditor)"
        )
    k = min_cell or DEFAULT_MIN_CELL
    if recipient is not None:
        found = sharing_min_cell(requester, recipient, hub_today())
        if found is None:
            raise click.ClickException(
                f"--recipient {recipient}: no agreement in force from "
                f"{requester.agency.code} to {recipient} covers assault attendances, so no "
                "summary may be shared with it"
            )
        k = found
    try:
        read = governed_violence(
            requester, layer=layer, start=window_start, end=following, purpose=purpose,
            export="csv",
        )  # fmt: skip
        summary = monthly_summary(read.violence, month, min_cell=k)
    except CardiffRefused as exc:
        raise click.ClickException(f"refused: {exc}") from exc
    except (QueryError, CardiffError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from exc
    _csv(summary, out)
    written = {"summary": str(out)}
    if hidden_out is not None:
        _csv(hidden_violence(read.violence), hidden_out)
        written["hidden"] = str(hidden_out)
    if time_out is not None:
        _csv(by_time_of_week(read.violence), time_out)
        written["time_of_week"] = str(time_out)
    if completeness_out is not None:
        _csv(completeness(read.violence), completeness_out)
        written["completeness"] = str(completeness_out)
    suppressed = int(summary["suppressed"].sum())
    result = {
        "month": month,
        "window_start": window_start.isoformat(),
        "window_end": following.isoformat(),
        "layer": layer,
        "min_cell": k,
        "reader": user,
        "purpose": purpose,
        "reads_audited": read.reads,
        "suppressed_cells": suppressed,
        "files": written,
        "notes": read.notes,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"wrote the {month} Cardiff summary to {out} ({summary.shape[0]} rows, counts below "
        f"{k} suppressed: {suppressed}); {read.reads} governed reads audited"
    )
    for note in read.notes:
        click.echo(f"note: {note}")
