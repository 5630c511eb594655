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


_DATA_DIR = click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)


@areas_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DATA_DIR
@click.option("--name", default=None, help="Layer name (default: the file name without suffix).")
@click.option("--replace", is_flag=True, help="Replace an existing layer of that name.")
@click.option("--id-field", default="id", show_default=True, help="Attribute holding area ids.")
@click.option(
    "--name-field", default="name", show_default=True, help="Attribute holding area names."
)
@click.option(
    "--population-field",
    default="population",
    show_default=True,
    help="Attribute (or, with --population-csv, CSV column) holding populations.",
)
@click.option(
    "--population-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV of populations joined on the area id (instead of a population attribute).",
)
@click.option(
    "--population-key",
    default=None,
    help="Column of --population-csv holding the area id (default: --id-field).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object: the layer and the lake update."
)
def add_command(
    file: Path,
    data_dir: Path,
    name: str | None,
    replace: bool,
    id_field: str,
    name_field: str,
    population_field: str,
    population_csv: Path | None,
    population_key: str | None,
    as_json: bool,
) -> None:
    """Add FILE as an area layer and give every event already in the lake its areas.

    FILE is GeoJSON in the layer format (properties id, name, population; docs/geography.md),
    or any vector file GDAL reads (Shapefile .shp, GeoPackage .gpkg...) in any coordinate
    system: it is reprojected to WGS84 and its id, name and population taken from the fields
    named by the options (populations may come from a CSV joined on the id). Then every
    committed batch gets the layer's area column (a new revision of each batch, atomic; see
    `wellbeat areas reassign`). Adding the same layer again changes nothing.
    """
    from wellbeat.geo import AreaLayerError, LayerFields, add_layer

    defaults = LayerFields()
    fields = LayerFields(id_field, name_field, population_field, population_csv, population_key)
    try:
        layer = add_layer(
            data_dir, file, name, replace=replace, fields=None if fields == defaults else fields
        )
    except (AreaLayerError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    population = int(layer.population.sum())
    update = _reassign(data_dir, f"cli:areas-add {layer.name}")
    if as_json:
        click.echo(
            json.dumps(
                {"layer": layer.name, "areas": len(layer.ids), "population": population, **update}
            )
        )
        return
    click.echo(f"added layer {layer.name!r}: {len(layer.ids)} areas, population {population:,}")
    _say(update)


@areas_group.command("reassign")
@_DATA_DIR
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts.")
def reassign_command(data_dir: Path, as_json: bool) -> None:
    """Bring every batch in the lake up to the hub's current area layers.

    A batch ingested before a layer was added or replaced has its area columns derived again
    from its coordinates and its cube rebuilt, committed as a new revision (atomic per batch;
    ingests wait). Batches already current are left alone: running it again changes nothing.
    """
    update = _reassign(data_dir, "cli:areas-reassign")
    if as_json:
        click.echo(json.dumps(update))
        return
    _say(update)


def _reassign(data_dir: Path, actor_label: str) -> dict[str, object]:
    from wellbeat.geo import AreaLayerError
    from wellbeat.ingest.areas import reassign_areas
    from wellbeat.lake.store import LakeError

    try:
        result = reassign_areas(data_dir)
    except (AreaLayerError, LakeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    update: dict[str, object] = {
        "layers": list(result.layers),
        "batches_revised": len(result.batches_revised),
        "batches_current": result.batches_current,
        "events_revised": result.events_revised,
        "located": result.located,
        "outside": result.outside,
    }
    update["audited"] = _audit(data_dir, actor_label, update)
    return update


def _audit(data_dir: Path, actor_label: str, details: dict[str, object]) -> bool:
    """Record the lake update in the hub's audit log, when the data directory has a hub
    database (a bare lake has no audit log). Returns whether it was recorded."""
    from wellbeat.web.bootstrap import has_hub_database, setup_django

    if not has_hub_database(data_dir):
        return False
    setup_django(data_dir, create=False)
    from wellbeat.web.audit.actions import record

    record(
        "lake.areas_reassigned", actor=None, agency=None, details=details, actor_label=actor_label
    )
    return True


def _say(update: dict[str, object]) -> None:
    revised = update["batches_revised"]
    if not revised:
        click.echo(f"lake already current with layers {update['layers']}: nothing to change")
        return
    click.echo(
        f"re-derived areas of {update['events_revised']:,} events in {revised} batches "
        f"(located per layer: {update['located']}; outside every area: {update['outside']})"
        + ("" if update["audited"] else "; no hub database here, so not audited")
    )


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
