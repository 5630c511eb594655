"""Derived lake columns (areas, local day), computed at ingest and re-derived when the hub's
layers or time zone change.

Every lake row carries one ``area_<layer>`` column per area layer of the hub. A layer added after
events arrived (an agency brings its neighbourhoods later), or replaced (new boundaries), would
otherwise leave those events without an area, or with the old one. ``reassign_areas`` brings
every committed batch up to the hub's current layers: each batch whose manifest records other
layers, or other layer files (by SHA-256), is read, its area columns derived again from its
coordinates, its cube rebuilt, and a new revision of it committed atomically
(``lake.store.revise_batch``). Batches already current are left alone, so running it again
changes nothing. See docs/geography.md.

The same goes for the ``local_day`` column (docs/engine.md): it is the event's calendar day in
the lake's time zone (``lake/settings.json``), or in its area's zone when the lake names a
``zone_layer``; a batch derived under other settings (or before local days existed) is revised
the same way, so ``wellbeat lake time-zone`` re-derives every batch atomically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wellbeat.events.periods import zone
from wellbeat.events.schema import (
    AREA_PREFIX,
    LOCAL_DAY,
    OUTSIDE_AREA,
    area_column,
    lake_schema,
)
from wellbeat.geo import AreaLayer, assign_all, load_layers
from wellbeat.geo.layers import LAYER_SUFFIX
from wellbeat.lake.cube import build_cube
from wellbeat.lake.store import (
    ZONE_PROPERTY,
    BatchManifest,
    LakeError,
    LakePaths,
    LakeSettings,
    lake_lock,
    list_batches,
    read_lake_settings,
    remove_orphans,
    revise_batch,
    write_lake_settings,
)


def layer_fingerprints(areas_dir: Path) -> dict[str, str]:
    """SHA-256 of each layer file in the hub's ``areas/`` folder, by layer name."""
    if not areas_dir.is_dir():
        return {}
    return {
        path.name.removesuffix(LAYER_SUFFIX): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(areas_dir.glob(f"*{LAYER_SUFFIX}"))
    }


def local_days(occurred: pa.ChunkedArray | pa.Array, time_zone: str) -> pa.Array:
    """The local calendar day (date32) of each UTC timestamp in ``time_zone``."""
    zone(time_zone)
    values = occurred.combine_chunks() if isinstance(occurred, pa.ChunkedArray) else occurred
    zoned = values.cast(pa.timestamp("us", tz=time_zone))
    return pc.local_timestamp(zoned).cast(pa.date32())


def area_zones(layer: AreaLayer, default: str) -> dict[str, str]:
    """Each area's IANA zone in a zone layer (its ``time_zone`` property; ``default`` when
    empty). An unknown zone name is an error naming the layer and area."""
    zones: dict[str, str] = {}
    for area_id, props in zip(layer.ids, layer.properties, strict=True):
        name = props.get(ZONE_PROPERTY) or default
        try:
            zone(str(name))
        except ValueError as exc:
            raise ValueError(
                f"area layer {layer.name!r}, area {area_id!r}: property {ZONE_PROPERTY!r}: {exc}"
            ) from exc
        zones[area_id] = str(name)
    return zones


def check_settings(settings: LakeSettings, layers: list[AreaLayer]) -> None:
    """Raise ``LakeError`` unless ``settings`` can derive local days with these layers: a
    known zone, and a ``zone_layer`` that is loaded and names known zones."""
    try:
        zone(settings.time_zone)
        if settings.zone_layer is not None:
            by_name = {layer.name: layer for layer in layers}
            if settings.zone_layer not in by_name:
                known = ", ".join(sorted(by_name)) or "none"
                raise ValueError(
                    f"zone layer {settings.zone_layer!r} is not an area layer of the hub "
                    f"(layers: {known}); add it with 'wellbeat areas add' first"
                )
            area_zones(by_name[settings.zone_layer], settings.time_zone)
    except ValueError as exc:
        raise LakeError(str(exc)) from exc


def local_day_column(table: pa.Table, settings: LakeSettings, layers: list[AreaLayer]) -> pa.Array:
    """``local_day`` of lake rows: ``occurred_at`` in the hub zone, or, with a ``zone_layer``,
    in the zone of each event's area there (the hub zone outside every area)."""
    occurred = table.column("occurred_at")
    hub = local_days(occurred, settings.time_zone)
    if settings.zone_layer is None:
        return hub
    by_name = {layer.name: layer for layer in layers}
    if settings.zone_layer not in by_name:
        known = ", ".join(sorted(by_name)) or "none"
        raise ValueError(
            f"lake setting 'zone_layer': area layer {settings.zone_layer!r} is not loaded "
            f"(layers: {known})"
        )
    zones = area_zones(by_name[settings.zone_layer], settings.time_zone)
    areas = table.column(area_column(settings.zone_layer))
    result = hub
    for name in sorted(set(zones.values()) - {settings.time_zone}):
        ids = pa.array(sorted(a for a, z in zones.items() if z == name), pa.string())
        mask = pc.fill_null(pc.is_in(areas, ids), False).combine_chunks()
        result = pc.if_else(mask, local_days(occurred, name), result)
    return result


def with_area_columns(
    table: pa.Table, layers: list[AreaLayer], settings: LakeSettings | None = None
) -> pa.Table:
    """``table`` (lake rows, with or without derived columns) with one area column per layer
    derived from its ``lat``/``lon`` and its ``local_day`` under ``settings`` (default: UTC),
    in the lake schema's column order."""
    names = [layer.name for layer in layers]
    lat = table.column("lat").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = table.column("lon").to_numpy(zero_copy_only=False).astype(np.float64)
    areas = assign_all(layers, lon, lat) if layers else {}
    columns = {
        name: table.column(name)
        for name in table.column_names
        if not name.startswith(AREA_PREFIX) and name != LOCAL_DAY
    }
    for name in names:
        columns[area_column(name)] = pa.array(areas[area_column(name)], pa.string())
    schema = lake_schema(names)
    located = pa.Table.from_arrays(
        [columns[f.name] for f in schema if f.name != LOCAL_DAY],
        schema=pa.schema([f for f in schema if f.name != LOCAL_DAY]),
    )
    day = local_day_column(located, settings or LakeSettings(), layers)
    return located.add_column(schema.get_field_index(LOCAL_DAY), schema.field(LOCAL_DAY), day)


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


def _is_current(
    manifest: BatchManifest, fingerprints: dict[str, str], settings: LakeSettings
) -> bool:
    return (
        tuple(manifest.layers) == tuple(fingerprints)
        and dict(manifest.layer_fingerprints) == dict(fingerprints)
        and manifest.time_zone == settings.key
    )


def reassign_areas(data_dir: Path, settings: LakeSettings | None = None) -> ReassignResult:
    """Re-derive the area columns, local days (and cube) of every batch not current with the
    hub's layers and time zone.

    ``settings`` (default: the lake's ``settings.json``) are written, under the lock, before
    the batches are revised, so an ingest never derives under the old ones meanwhile. Holds
    the lake lock, so ingests wait; each batch switches to its new revision atomically.
    """
    data_dir = Path(data_dir)
    paths = LakePaths(data_dir)
    with lake_lock(data_dir):
        remove_orphans(data_dir)
        layers = load_layers(paths.areas)
        if settings is not None:
            check_settings(settings, layers)
            write_lake_settings(data_dir, settings)
        settings = read_lake_settings(data_dir)
        fingerprints = layer_fingerprints(paths.areas)
        names = [layer.name for layer in layers]
        revised: list[str] = []
        current = 0
        events_revised = 0
        located = dict.fromkeys(names, 0)
        outside = dict.fromkeys(names, 0)
        for manifest in list_batches(data_dir):
            if _is_current(manifest, fingerprints, settings):
                current += 1
                continue
            files = [paths.lake / f for f in manifest.files]
            old = (
                pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
                if files
                else lake_schema(list(manifest.layers)).empty_table()
            )
            events = with_area_columns(old, layers, settings)
            cube = build_cube(events, names)
            counts = outside_counts(events, names)
            revise_batch(
                data_dir,
                manifest,
                events,
                cube,
                layers=tuple(names),
                outside_area=counts,
                layer_fingerprints=fingerprints,
                time_zone=settings.key,
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
