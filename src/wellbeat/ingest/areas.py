"""Area columns of the lake, derived at ingest and re-derived when the hub's layers change.

Every lake row carries one ``area_<layer>`` column per area layer of the hub. A layer added after
events arrived (an agency brings its neighbourhoods later), or replaced (new boundaries), would
otherwise leave those events without an area, or with the old one. ``reassign_areas`` brings
every committed batch up to the hub's current layers: each batch whose manifest records other
layers, or other layer files (by SHA-256), is read, its area columns derived again from its
coordinates, its cube rebuilt, and a new revision of it committed atomically
(``lake.store.revise_batch``). Batches already current are left alone, so running it again
changes nothing. See docs/geography.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wellbeat.events.schema import AREA_PREFIX, OUTSIDE_AREA, area_column, lake_schema
from wellbeat.geo import AreaLayer, assign_all, load_layers
from wellbeat.geo.layers import LAYER_SUFFIX
from wellbeat.lake.cube import build_cube
from wellbeat.lake.store import (
    BatchManifest,
    LakePaths,
    lake_lock,
    list_batches,
    remove_orphans,
    revise_batch,
)


def layer_fingerprints(areas_dir: Path) -> dict[str, str]:
    """SHA-256 of each layer file in the hub's ``areas/`` folder, by layer name."""
    if not areas_dir.is_dir():
        return {}
    return {
        path.name.removesuffix(LAYER_SUFFIX): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(areas_dir.glob(f"*{LAYER_SUFFIX}"))
    }


def with_area_columns(table: pa.Table, layers: list[AreaLayer]) -> pa.Table:
    """``table`` (lake rows, with or without area columns) with one area column per layer
    derived from its ``lat``/``lon``, in the lake schema's column order."""
    names = [layer.name for layer in layers]
    lat = table.column("lat").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = table.column("lon").to_numpy(zero_copy_only=False).astype(np.float64)
    areas = assign_all(layers, lon, lat) if layers else {}
    columns = {
        name: table.column(name) for name in table.column_names if not name.startswith(AREA_PREFIX)
    }
    for name in names:
        columns[area_column(name)] = pa.array(areas[area_column(name)], pa.string())
    schema = lake_schema(names)
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def outside_counts(events: pa.Table, layers: list[str]) -> dict[str, int]:
    """Events outside every area of each layer (kept, marked ``OUTSIDE_AREA``)."""
    return {
        layer: int(pc.sum(pc.equal(events.column(area_column(layer)), OUTSIDE_AREA)).as_py() or 0)
        for layer in layers
    }


@dataclass(frozen=True)
class ReassignResult:
    """What ``reassign_areas`` did."""

    layers: tuple[str, ...]
    batches_revised: tuple[str, ...]
    batches_current: int
    events_revised: int
    located: dict[str, int] = field(default_factory=dict)
    """Per layer: events of the revised batches now inside an area of it."""
    outside: dict[str, int] = field(default_factory=dict)
    """Per layer: events of the revised batches with coordinates outside every area of it."""


def _is_current(manifest: BatchManifest, fingerprints: dict[str, str]) -> bool:
    return tuple(manifest.layers) == tuple(fingerprints) and dict(
        manifest.layer_fingerprints
    ) == dict(fingerprints)


def reassign_areas(data_dir: Path) -> ReassignResult:
    """Re-derive the area columns (and cube) of every batch not current with the hub's layers.

    Holds the lake lock, so ingests wait; each batch switches to its new revision atomically.
    """
    data_dir = Path(data_dir)
    paths = LakePaths(data_dir)
    with lake_lock(data_dir):
        remove_orphans(data_dir)
        layers = load_layers(paths.areas)
        fingerprints = layer_fingerprints(paths.areas)
        names = [layer.name for layer in layers]
        revised: list[str] = []
        current = 0
        events_revised = 0
        located = dict.fromkeys(names, 0)
        outside = dict.fromkeys(names, 0)
        for manifest in list_batches(data_dir):
            if _is_current(manifest, fingerprints):
                current += 1
                continue
            files = [paths.lake / f for f in manifest.files]
            old = (
                pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
                if files
                else lake_schema(list(manifest.layers)).empty_table()
            )
            events = with_area_columns(old, layers)
            con = duckdb.connect()
            try:
                cube = build_cube(events, names, connection=con)
            finally:
                con.close()
            counts = outside_counts(events, names)
            revise_batch(
                data_dir,
                manifest,
                events,
                cube,
                layers=tuple(names),
                outside_area=counts,
                layer_fingerprints=fingerprints,
            )
            revised.append(manifest.batch_id)
            events_revised += events.num_rows
            for name in names:
                column = events.column(area_column(name))
                inside = pc.and_(pc.is_valid(column), pc.not_equal(column, OUTSIDE_AREA))
                located[name] += int(pc.sum(pc.fill_null(inside, False)).as_py() or 0)
                outside[name] += counts[name]
    return ReassignResult(
        layers=tuple(names),
        batches_revised=tuple(revised),
        batches_current=current,
        events_revised=events_revised,
        located=located,
        outside=outside,
    )
