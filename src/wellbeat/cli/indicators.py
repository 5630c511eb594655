"""``wellbeat indicators``: the indicator catalogue, and computing indicators at the hub.

``compute`` reads through the web app's governed service, as a named user or as an agency
reading its own data: agreements decide what another agency's counts show, small cells are
suppressed, and every read is in the audit log (docs/indicators.md). It never opens the lake
itself.
"""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from wellbeat.governance import PERIODS
from wellbeat.governance.agreements import PURPOSES

CATALOGUE_OPTION = click.option(
    "--catalogue",
    "catalogue_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An indicator catalogue YAML file (docs/indicators.md); default: the shipped one.",
)


def _catalogue(path: Path | None) -> Any:
    from wellbeat.analytics.indicators import IndicatorError, load_catalogue

    try:
        return load_catalogue(path)
    except IndicatorError as exc:
        raise click.ClickException(str(exc)) from exc


def register(cli: click.Group) -> None:
    """Add the ``indicators`` command group to ``wellbeat``."""
    cli.add_command(indicators_group)


@click.group("indicators")
def indicators_group() -> None:
    """Indicators as data: list the catalogue, compute series and area tables."""


@indicators_group.command("list")
@CATALOGUE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(catalogue_file: Path | None, as_json: bool) -> None:
    """List the indicator catalogue (code, period, rate factor, name; the shipped one unless
    --catalogue names a file), then the care measures computed from the hub's care records
    (per period on /care/measures/)."""
    from wellbeat.care.measures import MEASURES

    catalogue = _catalogue(catalogue_file)
    if as_json:
        items = [
            {
                "code": i.code,
                "name": i.name,
                "description": i.description,
                "period": i.period,
                "factor": i.factor,
                "denominator": None
                if i.denominator is None
                else (i.denominator.indicator or i.denominator.kind),
                "unreliable_below": i.unreliable_below,
                "governable": i.governable,
                "by": list(i.by),
                "references": list(i.references),
            }
            for i in catalogue
        ]
        care = [
            {
                "code": m.key,
                "name": m.label,
                "description": m.definition,
                "unit": m.unit,
                "period_by": m.anchor,
                "source": "care records",
            }
            for m in MEASURES
        ]
        click.echo(json.dumps({"indicators": items, "care_measures": care}))
        return
    for i in catalogue:
        den = (
            ""
            if i.denominator is None
            else f" per {i.factor:,} "
            + ("population" if i.denominator.kind == "population" else str(i.denominator.indicator))
        )
        click.echo(f"{i.code:<28} {i.period:<10} {i.name}{den}")
    click.echo("\ncare measures (from the hub's care records; per period on /care/measures/):")
    for m in MEASURES:
        click.echo(f"{m.key:<28} {m.unit:<10} {m.label}")


def _lake_window(data_dir: Path) -> tuple[date, date] | None:
    """The local days (hub's time zone) from the oldest event to the day after the newest."""
    from datetime import datetime

    from wellbeat.events.periods import local_date
    from wellbeat.lake.store import lake_time_zone, list_batches

    lows = [m.occurred_min for m in list_batches(data_dir) if m.occurred_min]
    highs = [m.occurred_max for m in list_batches(data_dir) if m.occurred_max]
    if not lows or not highs:
        return None
    zone = lake_time_zone(data_dir)
    first = min(local_date(datetime.fromisoformat(t), zone) for t in lows)
    last = max(local_date(datetime.fromisoformat(t), zone) for t in highs)
    return first, last + timedelta(1)


def _operator() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"cli:{name}"[:150]


def _requester(user: str | None, agency: str | None) -> Any:
    """The governed service's requester: a named, active user, or an agency (the operator)."""
    from wellbeat.web.accounts.models import Agency, User
    from wellbeat.web.governance.service import requester_for_operator, requester_for_user

    if user is not None:
        found = User.objects.select_related("agency").filter(username=user).first()
        if found is None:
            raise click.ClickException(f"--user {user}: no such user on this hub")
        if not found.is_active or found.agency is None:
            raise click.ClickException(
                f"--user {user}: the account is inactive or belongs to no agency"
            )
        return requester_for_user(found)
    found_agency = Agency.objects.filter(code=agency).first()
    if found_agency is None:
        known = ", ".join(Agency.objects.order_by("code").values_list("code", flat=True))
        raise click.ClickException(
            f"--agency {agency}: no such agency (agencies: {known or 'none'})"
        )
    return requester_for_operator(found_agency, f"{_operator()} for {found_agency.code}")


NO_HUB = (
    "{dir} has no hub database: the governed service needs one to apply agreements and write "
    "the audit log. Create it with `wellbeat users add-agency --data-dir {dir} CODE --name NAME "
    "--sector SECTOR` (which creates and migrates it; then read as --agency CODE, or invite "
    "users with `wellbeat users invite`), or `wellbeat manage --data-dir {dir} migrate`; with "
    "PostgreSQL set WELLBEAT_DATABASE_URL first."
)


@indicators_group.command("compute")
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)
@CATALOGUE_OPTION
@click.option(
    "--indicator",
    "codes",
    required=True,
    multiple=True,
    help="Indicator code (repeat for several; see `wellbeat indicators list`).",
)
@click.option(
    "--period",
    type=click.Choice(PERIODS),
    help="Period type of the series (default: each indicator's own).",
)
@click.option(
    "--by",
    help="Break counts down by attribute:NAME (e.g. attribute:precinct), sex, age_band, kind "
    "or sector: the `group` column; events without the attribute are the group (missing).",
)
@click.option("--layer", help="Area layer to break counts down by (e.g. beat, tract).")
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day, inclusive (default: the lake's first event day).",
)
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Day after the last, exclusive (default: the day after the lake's last event).",
)
@click.option(
    "--table",
    type=click.Choice(["series", "areas"]),
    default="series",
    show_default=True,
    help="series: one row per period [x area] [x group], zero-filled; areas: totals over the "
    "whole window per area [x group] (needs --layer).",
)
@click.option("--user", help="Read as this hub user (their agency, roles and agreements).")
@click.option(
    "--agency",
    help="Read as this agency's operator: its own data in full (audited as the OS user).",
)
@click.option(
    "--provider",
    "providers",
    multiple=True,
    help="With --user: read only these agencies (repeat for several), all or nothing: a "
    "refusal names what the agreements miss. Default: the user's agency and every provider "
    "an agreement allows (the others are left out with a note).",
)
@click.option(
    "--purpose",
    type=click.Choice(sorted(PURPOSES)),
    help="Why the data is read (required with --user; default with --agency: "
    "program_evaluation). Agreements are per purpose.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file: .csv or .parquet.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def compute_command(
    data_dir: Path,
    catalogue_file: Path | None,
    codes: tuple[str, ...],
    period: str | None,
    by: str | None,
    layer: str | None,
    start: datetime | None,
    end: datetime | None,
    table: str,
    user: str | None,
    agency: str | None,
    providers: tuple[str, ...],
    purpose: str | None,
    out: Path,
    as_json: bool,
) -> None:
    """Compute indicators through the governed service and write them as CSV or Parquet.

    Columns: [indicator] [area] period [group] count, then denominator, rate and unreliable
    when the indicator has a denominator (none with --by and a population denominator).
    `indicator` appears with several --indicator, `area` with --layer, `group` with --by.
    Reads as --user (another agency's counts as its agreements allow, small cells empty) or
    as --agency (that agency's own data in full); every read is in the audit log. Needs the
    hub's database in the data directory.
    """
    import pyarrow as pa

    from wellbeat.analytics.indicators import IndicatorError, write_table
    from wellbeat.analytics.indicators.catalogue import BY_CHOICES
    from wellbeat.governance import Refusal, valid_attribute_dimension
    from wellbeat.web.bootstrap import has_hub_database, setup_django

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise click.ClickException(f"--out {out}: expected a .csv or .parquet file")
    if (user is None) == (agency is None):
        raise click.ClickException("give exactly one of --user USERNAME or --agency CODE")
    if providers and user is None:
        raise click.ClickException("--provider goes with --user (--agency reads its own data)")
    if user is not None and purpose is None:
        raise click.ClickException(
            f"--user reads need --purpose (one of {', '.join(sorted(PURPOSES))})"
        )
    if by is not None and by not in BY_CHOICES and not valid_attribute_dimension(by):
        raise click.ClickException(
            f"--by {by!r}: expected attribute:NAME (NAME matching [a-z][a-z0-9_]*) or one of "
            f"{', '.join(BY_CHOICES)}"
        )
    if table == "areas" and layer is None:
        raise click.ClickException("--table areas needs --layer")
    chosen = _catalogue(catalogue_file)
    try:
        indicators = [chosen.get(code) for code in codes]
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    if not has_hub_database(data_dir):
        raise click.ClickException(NO_HUB.format(dir=data_dir))
    layers = _layer_names(data_dir)
    if layer is not None and layer not in layers:
        raise click.ClickException(
            f"--layer {layer!r}: no such area layer (layers: {', '.join(layers) or 'none'})"
        )
    window = _lake_window(data_dir)
    first = start.date() if start is not None else (window[0] if window else None)
    stop = end.date() if end is not None else (window[1] if window else None)
    if first is None or stop is None:
        raise click.ClickException(f"{data_dir}: the lake holds no events; give --start and --end")
    if stop <= first:
        raise click.ClickException(f"--end {stop} is not after --start {first}")
    try:
        setup_django(data_dir, create=False)
    except Exception as exc:  # unreadable settings or database
        raise click.ClickException(f"cannot open the hub in {data_dir}: {exc}") from exc
    from wellbeat.web.governance.indicators import governed_indicator
    from wellbeat.web.governance.service import QueryError

    requester = _requester(user, agency)
    reading = purpose or "program_evaluation"
    own = (requester.context.agency,) if agency is not None else (tuple(providers) or None)
    export = out.suffix.lower().lstrip(".")
    parts: list[pa.Table] = []
    notes: list[str] = []
    suppressed = reads = 0
    for indicator in indicators:
        try:
            result = governed_indicator(
                requester,
                reading,
                indicator,
                chosen,
                period=None if table == "areas" else (period or indicator.period),
                start=first,
                end=stop,
                by=by,
                layer=layer,
                agencies=own,
                export=export,
            )
        except (IndicatorError, QueryError) as exc:
            raise click.ClickException(str(exc).splitlines()[0]) from exc
        if isinstance(result, Refusal):
            raise click.ClickException(f"refused ({indicator.code}): {result.message}")
        part = result.table
        if "period" in part.column_names:  # people read labels: 2017, 2017-Q1, 2017-W09
            part = part.drop_columns(["period"])
            part = part.rename_columns(
                ["period" if c == "period_label" else c for c in part.column_names]
            )
        if len(indicators) > 1:
            part = part.add_column(
                0, "indicator", pa.array([indicator.code] * part.num_rows, pa.string())
            )
        parts.append(part)
        notes += [n for n in result.notes if n not in notes]
        suppressed += result.suppressed_cells
        reads += len(result.releases)
    written = pa.concat_tables(parts, promote_options="default")
    write_table(written, out)
    summary = {
        "out": str(out),
        "rows": written.num_rows,
        "indicators": list(codes),
        "start": first.isoformat(),
        "end": stop.isoformat(),
        "by": by,
        "layer": layer,
        "table": table,
        "reader": user or requester.context.username,
        "purpose": reading,
        "reads_audited": reads,
        "suppressed_cells": suppressed,
        "notes": notes,
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"wrote {written.num_rows:,} rows to {out} ({first} to {stop}, exclusive); "
        f"{reads} governed read(s) audited"
        + (f"; {suppressed} cell(s) suppressed" if suppressed else "")
    )
    for note in notes:
        click.echo(f"note: {note}")


def _layer_names(data_dir: Path) -> list[str]:
    from wellbeat.geo import AREAS_DIRNAME, AreaLayerError, load_layers

    areas = data_dir / AREAS_DIRNAME
    try:
        return [lay.name for lay in load_layers(areas)] if areas.is_dir() else []
    except (AreaLayerError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
