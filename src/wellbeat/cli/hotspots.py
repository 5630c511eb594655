"""`wellbeat hotspots`: Getis-Ord Gi* or local Moran's I on an analyst's own area file.

Reproduces R ``spdep`` (``localG`` with ``include.self`` and binary weights; ``localmoran`` with
row-standardised weights) for the z-scores, PySAL ``esda`` for the permutation pseudo p-values.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import click
import numpy as np

from wellbeat.analytics.spatial import (
    DEFAULT_PERMUTATIONS,
    WEIGHTS_HELP,
    SpatialInputError,
    gi_star,
    hotspot_classes,
    local_moran,
    moran_classes,
    neighbour_structure,
)
from wellbeat.analytics.spatial.classes import DEFAULT_ALPHA
from wellbeat.geo.contiguity import islands
from wellbeat.geo.layers import AreaLayer, AreaLayerError, load_layer_by_field

METHODS = ("gi-star", "local-moran")
AREA_COLUMN = "area"
DEFAULT_SEED = 12345
"""Seed of the permutations when none is given, so two runs on the same files agree."""


def read_values(path: Path, column: str, layer: AreaLayer, areas_path: Path) -> np.ndarray:
    """One number per area of ``layer`` (in layer order) from VALUES.csv's ``area`` and ``column``.

    Every row must name a known area once, with a number; every area must have a row.
    """
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for needed in (AREA_COLUMN, column):
            if needed not in header:
                raise click.ClickException(
                    f"{path}: no column {needed!r} (columns: {', '.join(header) or 'none'}); "
                    f"expected {AREA_COLUMN!r} with the area ids and {column!r} with the values"
                )
        values = np.full(len(layer), np.nan)
        seen: dict[str, int] = {}
        try:
            for row in reader:
                line = reader.line_num
                area = (row.get(AREA_COLUMN) or "").strip()
                if not area:
                    raise click.ClickException(
                        f"{path} line {line}: field {AREA_COLUMN!r} is empty"
                    )
                if area in seen:
                    raise click.ClickException(
                        f"{path} line {line}: area {area!r} already given on line {seen[area]}"
                    )
                seen[area] = line
                try:
                    position = layer.index_of(area)
                except KeyError:
                    raise click.ClickException(
                        f"{path} line {line}: area {area!r} is not in {areas_path}"
                    ) from None
                text = (row.get(column) or "").strip()
                if not text or text.upper() in ("NA", "NAN", "NULL"):
                    raise click.ClickException(
                        f"{path} line {line}: field {column!r} is missing for area {area!r}; "
                        "every area needs a value (drop the area from the layer or fill it in)"
                    )
                try:
                    number = float(text)
                except ValueError:
                    number = math.nan
                if not math.isfinite(number):
                    raise click.ClickException(
                        f"{path} line {line}: field {column!r} is {text!r}, not a number"
                    )
                values[position] = number
        except csv.Error as exc:
            raise click.ClickException(f"{path} line {reader.line_num}: {exc}") from None
    missing = [layer.ids[i] for i in np.flatnonzero(np.isnan(values))]
    if missing:
        shown = ", ".join(repr(a) for a in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise click.ClickException(
            f"{path}: no row for {len(missing)} area(s) of {areas_path}: {shown}"
        )
    return values


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.15g}"


@click.command("hotspots")
@click.option("--method", required=True, type=click.Choice(METHODS), help="Statistic to run.")
@click.option(
    "--areas",
    "areas_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="AREAS.geojson: polygons in WGS84 lon/lat.",
)
@click.option("--id-field", required=True, help="Property of AREAS holding each area's id.")
@click.option(
    "--values",
    "values_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="VALUES.csv with an 'area' column matching --id-field and the value column.",
)
@click.option("--value-column", required=True, help="Column of VALUES.csv to analyse.")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="OUT.csv: area, value, z, ii (local Moran), p_value, p_sim, class.",
)
@click.option("--weights", default="queen", show_default=True, help=f"Neighbours: {WEIGHTS_HELP}.")
@click.option(
    "--permutations",
    default=DEFAULT_PERMUTATIONS,
    show_default=True,
    type=click.IntRange(min=0),
    help="Conditional permutations for p_sim; 0 for analytical p-values only.",
)
@click.option(
    "--seed", default=DEFAULT_SEED, show_default=True, type=int, help="Seed of the permutations."
)
@click.option(
    "--alpha",
    type=click.FloatRange(min=0, max=1, min_open=True),
    help="Local Moran: significance level of the quadrant classes (0.05). Gi* classes are "
    "always at 99, 95 and 90 %.",
)
@click.option("--fdr", is_flag=True, help="Classes use Benjamini-Hochberg FDR cut-offs.")
@click.option(
    "--keep-islands",
    is_flag=True,
    help="Allow areas without neighbours (as spdep zero.policy = TRUE): they count in the mean "
    "and variance, their z and p are left empty and their class is 'no neighbours'. Without "
    "this flag such areas are an error.",
)
def hotspots(
    method: str,
    areas_path: Path,
    id_field: str,
    values_path: Path,
    value_column: str,
    out_path: Path,
    weights: str,
    permutations: int,
    seed: int,
    alpha: float | None,
    fdr: bool,
    keep_islands: bool,
) -> None:
    """Hot and cold spots (Getis-Ord Gi*) or clusters and outliers (local Moran's I) of one
    value per area. z-scores equal R spdep's; p_sim is esda's pseudo p-value (class uses it
    when permuting, the analytical p-value otherwise).

    Example: wellbeat hotspots --method gi-star --areas tracts.geojson --id-field GEOID
    --values overdoses.csv --value-column rate --out hotspots.csv
    """
    if alpha is not None and method == "gi-star":
        raise click.ClickException(
            "--alpha applies to --method local-moran; Gi* classes are at 99, 95 and 90 %"
        )
    try:
        layer = load_layer_by_field(areas_path, id_field)
    except AreaLayerError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        structure = neighbour_structure(layer, weights)
    except ValueError as exc:
        raise click.ClickException(f"--weights: {exc}") from None
    lonely = islands({area: structure[i].indices.tolist() for i, area in enumerate(layer.ids)})
    if lonely and not keep_islands:
        shown = ", ".join(repr(a) for a in lonely[:5]) + (" ..." if len(lonely) > 5 else "")
        raise click.ClickException(
            f"{areas_path}: {len(lonely)} area(s) have no neighbours under --weights {weights}: "
            f"{shown}; pass --keep-islands to report them as 'no neighbours', or use "
            "--weights knn:K"
        )
    values = read_values(values_path, value_column, layer, areas_path)
    try:
        if method == "gi-star":
            gi = gi_star(values, structure, permutations=permutations, seed=seed)
            z, p_value, p_sim, ii = gi.z, gi.p_value, gi.p_sim, None
            classes = hotspot_classes(z, p_sim if p_sim is not None else p_value, fdr=fdr)
        else:
            lisa = local_moran(values, structure, permutations=permutations, seed=seed)
            z, p_value, p_sim, ii = lisa.z, lisa.p_value, lisa.p_sim, lisa.ii
            classes = moran_classes(
                lisa.quadrant,
                p_sim if p_sim is not None else p_value,
                alpha=DEFAULT_ALPHA if alpha is None else alpha,
                fdr=fdr,
            )
    except SpatialInputError as exc:
        raise click.ClickException(f"{values_path}: {exc}") from None
    header = ["area", "value", "z", *(["ii"] if ii is not None else []), "p_value"]
    header += [*(["p_sim"] if p_sim is not None else []), "class"]
    try:
        with out_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for i, area in enumerate(layer.ids):
                row = [area, _number(values[i]), _number(z[i])]
                row += [_number(ii[i])] if ii is not None else []
                row += [_number(p_value[i])]
                row += [_number(p_sim[i])] if p_sim is not None else []
                writer.writerow([*row, classes[i]])
    except OSError as exc:
        raise click.ClickException(f"cannot write {out_path}: {exc.strerror or exc}") from None
    counted = {label: int(np.sum(classes == label)) for label in sorted(set(classes.tolist()))}
    summary = ", ".join(f"{count} {label}" for label, count in counted.items())
    seeded = f", {permutations} permutations (seed {seed})" if permutations else ""
    click.echo(f"{method}: {len(layer)} areas{seeded}: {summary}; wrote {out_path}")


def register(cli: click.Group) -> None:
    """Add `wellbeat hotspots` to the `wellbeat` group."""
    cli.add_command(hotspots)
