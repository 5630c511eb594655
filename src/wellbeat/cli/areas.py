"""``wellbeat areas``: the geography layers the hub assigns events to at ingest."""

from __future__ import annotations

import json
from pathlib import Path

import click


def register(cli: click.Group) -> None:
    """Add the ``areas`` command group to ``wellbeat``."""
    cli.add_command(areas_group)


@click.group("areas")
def areas_group() -> None:
    """Manage area layers (GeoJSON) in DATA/areas/ (docs/geography.md)."""


@areas_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)
@click.option("--name", default=None, help="Layer name (default: the file name without .geojson).")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace an existing layer of that name (affects events ingested afterwards only).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object {layer, areas, population}."
)
def add_command(file: Path, data_dir: Path, name: str | None, replace: bool, as_json: bool) -> None:
    """Validate FILE (GeoJSON areas with id, name, population) and add it as a layer.

    Events ingested from now on get an area_<layer> column; earlier batches keep theirs.
    """
    from wellbeat.geo import AreaLayerError, add_layer

    try:
        layer = add_layer(data_dir, file, name, replace=replace)
    except (AreaLayerError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    population = int(layer.population.sum())
    if as_json:
        click.echo(
            json.dumps({"layer": layer.name, "areas": len(layer.ids), "population": population})
        )
        return
    click.echo(f"added layer {layer.name!r}: {len(layer.ids)} areas, population {population:,}")


@areas_group.command("list")
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {layers: [...]}.")
def list_command(data_dir: Path, as_json: bool) -> None:
    """List the hub's area layers with their number of areas."""
    from wellbeat.geo import AREAS_DIRNAME, AreaLayerError, load_layers

    try:
        layers = load_layers(data_dir / AREAS_DIRNAME)
    except AreaLayerError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [{"layer": layer.name, "areas": len(layer.ids)} for layer in layers]
    if as_json:
        click.echo(json.dumps({"layers": rows}))
        return
    for row in rows:
        click.echo(f"{row['layer']}: {row['areas']} areas")
