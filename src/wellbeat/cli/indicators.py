"""``wellbeat indicators``: the indicator catalogue, and computing indicators at the hub.

``compute`` is a hub administrator's tool: it reads the hub's own lake directly, as the hub,
with no agreement applied and no entry in the web app's audit log. Users read indicators
through the web app, whose governed service applies agreements and audits (docs/indicators.md).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

import click

from wellbeat.lake.query import PERIODS, Period


def register(cli: click.Group) -> None:
    """Add the ``indicators`` command group to ``wellbeat``."""
    cli.add_command(indicators_group)


@click.group("indicators")
def indicators_group() -> None:
    """Indicators as data: list the catalogue, compute series and area tables."""


@indicators_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(as_json: bool) -> None:
    """List the shipped indicator catalogue (code, period, rate factor, name), then the care
    measures computed from the hub's care records (per period on /care/measures/)."""
    from wellbeat.analytics.indicators import default_catalogue
    from wellbeat.care.measures import MEASURES

    catalogue = default_catalogue()
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


@indicators_group.command("compute")
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)
@click.option(
    "--indicator",
    "codes",
    required=True,
    multiple=True,
    help="Indicator code (repeat for several; see `wellbeat indicators list`).",
)
@click.option("--layer", help="Area layer to break counts down by (e.g. beat, tract).")
@click.option(
    "--period",
    type=click.Choice(PERIODS),
    help="Period type of the series (default: each indicator's own).",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day, inclusive, UTC (default: the lake's first event day).",
)
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Day after the last, exclusive, UTC (default: the day after the lake's last event).",
)
@click.option(
    "--table",
    type=click.Choice(["series", "areas"]),
    default="series",
    show_default=True,
    help="series: period x indicator [x area], zero-filled; areas: area x indicator over the "
    "whole window (needs --layer).",
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
    codes: tuple[str, ...],
    layer: str | None,
    period: str | None,
    start: datetime | None,
    end: datetime | None,
    table: str,
    out: Path,
    as_json: bool,
) -> None:
    """Compute indicators from the hub's lake and write them as CSV or Parquet.

    For hub administrators: this reads the whole lake as the hub, with no agreement applied
    and no entry in the web app's audit log; share results only as agreements allow. Rates use
    the layer's populations (without --layer, the first layer's total population); rates on
    fewer than 20 events are flagged unreliable.
    """
    from wellbeat.analytics.indicators import (
        area_table,
        default_catalogue,
        time_series,
        write_table,
    )
    from wellbeat.geo import AreaLayerError, load_layers
    from wellbeat.lake.engine import DuckDBEngine, EngineError
    from wellbeat.lake.query import QueryError

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise click.ClickException(f"--out {out}: expected a .csv or .parquet file")
    catalogue = default_catalogue()
    try:
        indicators = [catalogue.get(code) for code in codes]
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    window = _lake_window(data_dir)
    first = start.date() if start is not None else (window[0] if window else None)
    stop = end.date() if end is not None else (window[1] if window else None)
    if first is None or stop is None:
        raise click.ClickException(f"{data_dir}: the lake holds no events; give --start and --end")
    if stop <= first:
        raise click.ClickException(f"--end {stop} is not after --start {first}")
    try:
        layers = {lay.name: lay for lay in load_layers(data_dir / "areas")}
    except (AreaLayerError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    areas = None
    if layer is not None:
        if layer not in layers:
            raise click.ClickException(
                f"--layer {layer!r}: no such area layer (layers: {', '.join(layers) or 'none'})"
            )
        areas = layers[layer]
    if table == "areas" and areas is None:
        raise click.ClickException("--table areas needs --layer")
    population = next(iter(layers.values())).total_population if layers else None
    engine = DuckDBEngine(data_dir)
    try:
        if table == "areas":
            assert areas is not None
            result = area_table(engine, indicators, areas=areas, start=first, end=stop)
        else:
            result = time_series(
                engine,
                indicators,
                start=first,
                end=stop,
                period=cast(Period | None, period),
                areas=areas,
                population=population,
            )
    except (EngineError, QueryError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from exc
    finally:
        engine.close()
    write_table(result, out)
    summary = {
        "out": str(out),
        "rows": result.num_rows,
        "indicators": list(codes),
        "start": first.isoformat(),
        "end": stop.isoformat(),
        "layer": layer,
        "table": table,
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {result.num_rows:,} rows to {out} ({first} to {stop}, exclusive)")
