"""Releasing query results under a plan: narrow, suppress, truncate, re-key.

``release(plan, table, hub_key)`` takes what the engine returned for the plan's providers (one
table with an ``agency`` column) and returns only what the agreements allow. It re-checks
everything the query already narrowed (defence in depth: rows of agencies outside the plan,
syndromes outside an agreement's scope), so a faulty query can never widen a release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.periods import local_date
from wellbeat.events.schema import Sensitivity
from wellbeat.governance.decision import TIME_COLUMNS, Grant, Plan
from wellbeat.governance.resolution import period_start
from wellbeat.lake.query import AREA_BY_PREFIX, SYNDROME_SET, attribute_dimension, attribute_name
from wellbeat.privacy.keys import recipient_key
from wellbeat.privacy.pseudonym import rekey_many

AREA = "area"
PERIOD = "period"
COUNT = "count"
SUPPRESSED = "suppressed"

EXTRACT_CONTROL_COLUMNS = ("agency", "sector", "kind", "syndromes", "sensitivity", "person_token")
"""Columns every extract query reads so the release can enforce scope, consent and re-keying;
those the user did not ask for are dropped before release."""


@dataclass(frozen=True)
class ProtectedBase:
    """One provider's base table as protected for a release: a row per non-empty grid cell
    (place, period and ``base_dimensions``), its true ``count`` and ``suppressed`` flag."""

    provider: str
    cells: pa.Table


@dataclass(frozen=True)
class Release:
    """What a user receives, with the facts the audit entry records."""

    table: pa.Table
    plan: Plan
    suppressed_cells: int = 0
    withheld_part2_rows: int = 0
    notes: tuple[str, ...] = ()
    bases: tuple[ProtectedBase, ...] = ()
    """Each other agency's protected base table (true counts, which cells are hidden), for
    checking that nothing hidden is recoverable; never shown to the user."""

    def audit_details(self) -> dict[str, Any]:
        """The audit row's details: who read what under which agreements, and how much."""
        req = self.plan.request
        return {
            "purpose": self.plan.purpose,
            "kind": req.kind,
            "agreements": list(self.plan.agreement_ids),
            "providers": list(self.plan.providers),
            "area_layer": self.plan.area_layer,
            "period": self.plan.period,
            "by": list(self.plan.by),
            "columns": list(self.plan.columns),
            "syndromes": sorted(req.syndromes) if req.syndromes else None,
            "attributes": [c.describe() for c in req.attributes] or None,
            "start": req.start.isoformat() if req.start else None,
            "end": req.end.isoformat() if req.end else None,
            "window_start": self.plan.start.isoformat() if self.plan.start else None,
            "window_end": self.plan.end.isoformat() if self.plan.end else None,
            "time_zone": self.plan.time_zone,
            "rows": self.table.num_rows,
            "suppressed_cells": self.suppressed_cells,
            "withheld_part2_rows": self.withheld_part2_rows,
            "notes": list(self.notes),
        }


def agreement_rekey_key(hub_key: bytes, agreement_id: str) -> bytes:
    """The re-keying key of one agreement: two agreements' extracts never share pseudonyms."""
    return recipient_key(hub_key, f"agreement:{agreement_id}")


def aggregate_dimensions(plan: Plan) -> list[str]:
    """Cell dimensions of an aggregate release, in output order."""
    dims = []
    if plan.area_layer is not None:
        dims.append(AREA)
    if plan.period is not None:
        dims.append(PERIOD)
    dims.extend(plan.by)
    return dims


def release(plan: Plan, table: pa.Table, hub_key: bytes) -> Release:
    """Apply ``plan`` to the engine's ``table`` (it must carry an ``agency`` column)."""
    if "agency" not in table.column_names:
        raise ValueError(
            f"release: the query result has no 'agency' column (columns: {table.column_names})"
        )
    table = table.filter(pc.is_in(table["agency"], pa.array(list(plan.providers), pa.string())))
    if plan.kind == "aggregate":
        return _release_aggregate(plan, table)
    return _release_extract(plan, table, hub_key)


# -- aggregates ---------------------------------------------------------------------------------


def base_dimensions(grant: Grant) -> tuple[str, ...]:
    """The dimensions of a provider's protected base table besides place and time: every
    dimension a request may filter or break down by (sector, kind, the event's set of
    syndromes, sex / age band when an agreement shares them, and each event attribute an
    agreement names as ``attribute:<name>``), so that every count a request can ask for is a
    sum of base cells."""
    shared = grant.base_fields
    attributes = sorted(f for f in shared if attribute_name(f) is not None)
    return (
        "sector",
        "kind",
        SYNDROME_SET,
        *(d for d in ("sex", "age_band") if d in shared),
        *attributes,
    )


def base_layers(plan: Plan, grant: Grant) -> list[str]:
    """Area layers besides ``area`` (the governing agreement's finest) that key the base
    cells: the other base agreements' finest layers, then the plan's layer (to sum into)."""
    layers = [a.finest_layer for a in grant.base_agreements[1:] if a.finest_layer is not None]
    if plan.area_layer is not None:
        layers.append(plan.area_layer)
    return [x for x in dict.fromkeys(layers) if x != grant.finest_layer]


def base_period(grant: Grant) -> str | None:
    """The period the engine reads a provider's base cells at: the agreements' common finest
    period, or days when they differ (each agreement's periods are then keys of their own)."""
    periods = {a.finest_period for a in grant.base_agreements if a.finest_period is not None}
    if not periods:
        return None
    return periods.pop() if len(periods) == 1 else "day"


def base_columns(plan: Plan, grant: Grant) -> list[str]:
    """Key columns of a provider's base cells as the engine returns them for ``plan``."""
    keys = [AREA] if grant.finest_layer is not None else []
    keys += [PERIOD] if base_period(grant) is not None else []
    keys += base_dimensions(grant)
    keys += [f"{AREA_BY_PREFIX}{layer}" for layer in base_layers(plan, grant)]
    return keys


def _sum_by(table: pa.Table, dims: Sequence[str], hidden: bool = False) -> pa.Table:
    """Counts summed per combination of ``dims`` (with ``hidden``: and whether any summed
    cell was suppressed)."""
    measures = [(COUNT, "sum")] + ([(SUPPRESSED, "any")] if hidden else [])
    if not dims:
        if not table.num_rows:
            empty = {COUNT: pa.array([], pa.int64())}
            if hidden:
                empty[SUPPRESSED] = pa.array([], pa.bool_())
            return pa.table(empty)
        total = {COUNT: pa.array([pc.sum(table[COUNT]).as_py()], pa.int64())}
        if hidden:
            total[SUPPRESSED] = pa.array([pc.any(table[SUPPRESSED]).as_py()], pa.bool_())
        return pa.table(total)
    grouped = table.group_by(list(dims), use_threads=False).aggregate(measures)
    names = [*dims, COUNT] + ([SUPPRESSED] if hidden else [])
    return grouped.rename_columns([*dims, *names[len(dims) :]]).select(names)


def _map_values(column: pa.ChunkedArray | pa.Array, fn: Any, typ: pa.DataType) -> pa.Array:
    """``fn`` applied to each distinct value of ``column`` once, then spread to every row."""
    encoded = pc.dictionary_encode(
        column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    )
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], typ)
    return mapped.take(encoded.indices)


def _window_day(value: date | datetime, time_zone: str) -> date:
    """A window bound as a local day (an instant's local day in ``time_zone``)."""
    return local_date(value, time_zone) if isinstance(value, datetime) else value


def _narrow_labels(labels: str, allowed: frozenset[str] | None) -> str:
    kept = [s for s in labels.split("|") if s and (allowed is None or s in allowed)]
    return "|".join(sorted(set(kept)))


def _keyed_periods(grant: Grant, part: pa.Table) -> tuple[pa.Table, list[str]]:
    """When the engine read days (agreements with different finest periods), the day stays a
    key (every agreement's periods are then unions of base cells) and ``period`` becomes the
    governing agreement's period, which decides the window and coarser periods."""
    governing = grant.finest_period
    if base_period(grant) != "day" or governing is None or governing == "day":
        return part, []
    days = part[PERIOD]
    part = part.append_column(f"{PERIOD}_day", days)
    mapped = _map_values(days, lambda d: period_start(d, governing), pa.date32())
    return part.set_column(part.column_names.index(PERIOD), PERIOD, mapped), [f"{PERIOD}_day"]


def protect_base(grant: Grant, part: pa.Table, plan: Plan) -> pa.Table:
    """One provider's protected base table: the engine's cells (area at the agreements' finest
    layers, period at their finest periods, ``base_dimensions``) narrowed to their scope, kept
    to the plan's window (a period of the governing agreement belongs to the window holding
    its first day), summed, and marked ``suppressed`` where the count is 1..k-1 (the largest
    k of the provider's agreements with this recipient). The decision depends only on the
    cell's own count, so every request sees the same cells hidden."""
    assert grant.agreement is not None
    for dim, name in (("sector", "sectors"), ("kind", "kinds")):
        scope = grant.base_scope(name)
        if scope is not None:
            part = part.filter(pc.is_in(part[dim], pa.array(sorted(scope), pa.string())))
    syndromes = grant.base_scope("syndromes")
    if part.num_rows:
        narrowed = _map_values(
            part[SYNDROME_SET], lambda v: _narrow_labels(v or "", syndromes), pa.string()
        )
        part = part.set_column(part.column_names.index(SYNDROME_SET), SYNDROME_SET, narrowed)
        if syndromes is not None:  # rows without a shared syndrome are not shared
            part = part.filter(pc.not_equal(part[SYNDROME_SET], ""))
    keys = base_columns(plan, grant)
    part, extra = _keyed_periods(grant, part.select([*keys, COUNT]))
    keys += extra
    if PERIOD in part.column_names and part.num_rows:
        if plan.start is not None:
            first = _window_day(plan.start, plan.time_zone)
            part = part.filter(pc.greater_equal(part[PERIOD], pa.scalar(first)))
        if plan.end is not None:
            last = _window_day(plan.end, plan.time_zone)
            part = part.filter(pc.less(part[PERIOD], pa.scalar(last)))
    part = part.set_column(part.column_names.index(COUNT), COUNT, pc.cast(part[COUNT], pa.int64()))
    cells = _sum_by(part.select([*keys, COUNT]), keys)
    counts = cells[COUNT]
    small = pc.and_(pc.greater_equal(counts, 1), pc.less(counts, grant.base_min_cell))
    return cells.append_column(SUPPRESSED, small)


def cells_from_base(plan: Plan, grant: Grant, base: pa.Table) -> pa.Table:
    """The plan's cells (``aggregate_dimensions`` without ``agency``) as sums of base cells,
    each ``suppressed`` when any base cell in it is: every released count is then a sum of
    released base counts, so nothing released can be combined to recover a hidden one."""
    cell_dims = [d for d in aggregate_dimensions(plan) if d != "agency"]
    # The governing agreement's and the request's scope, as sums of base cells.
    for dim, allowed in (("sector", grant.sectors), ("kind", grant.kinds)):
        if allowed is not None:
            base = base.filter(pc.is_in(base[dim], pa.array(sorted(allowed), pa.string())))
    syndromes = grant.syndromes
    if syndromes is not None and base.num_rows:
        shares = _map_values(
            base[SYNDROME_SET], lambda v: bool(set((v or "").split("|")) & syndromes), pa.bool_()
        )
        base = base.filter(shares)
    for condition in plan.request.attributes:  # whole base cells: each attribute is a key
        if base.num_rows:
            holds = _map_values(
                base[attribute_dimension(condition.name)], condition.matches, pa.bool_()
            )
            base = base.filter(pc.fill_null(holds, False))
    columns: dict[str, Any] = {}
    if plan.area_layer is not None:
        parent = f"{AREA_BY_PREFIX}{plan.area_layer}"
        columns[AREA] = base[parent] if parent in base.column_names else base[AREA]
    if plan.period is not None:
        period = plan.period
        columns[PERIOD] = _map_values(
            base[PERIOD], lambda d: None if d is None else period_start(d, period), pa.date32()
        )
    table = pa.table({**columns, SYNDROME_SET: base[SYNDROME_SET]})
    for dim in plan.by:
        if dim not in ("agency", "syndrome"):
            table = table.append_column(dim, base[dim])
    table = table.append_column(COUNT, base[COUNT]).append_column(SUPPRESSED, base[SUPPRESSED])
    if "syndrome" in plan.by:
        labels = pc.split_pattern(table[SYNDROME_SET], "|").combine_chunks()
        flat = pc.list_flatten(labels)
        parents = pc.list_parent_indices(labels)
        keep = pc.not_equal(flat, "")
        if syndromes is not None:
            keep = pc.and_(keep, pc.is_in(flat, pa.array(sorted(syndromes), pa.string())))
        table = table.take(parents.filter(keep)).append_column("syndrome", flat.filter(keep))
    return _sum_by(table.select([*cell_dims, COUNT, SUPPRESSED]), cell_dims, hidden=True)


def _own_cells(plan: Plan, grant: Grant, part: pa.Table) -> pa.Table:
    """The user's own agency's counts at the plan's cells, in full (never suppressed)."""
    cell_dims = [d for d in aggregate_dimensions(plan) if d != "agency"]
    part = part.set_column(part.column_names.index(COUNT), COUNT, pc.cast(part[COUNT], pa.int64()))
    if grant.syndromes is not None and "syndrome" in part.column_names:
        part = part.filter(pc.is_in(part["syndrome"], pa.array(sorted(grant.syndromes))))
    cells = _sum_by(part.select([*cell_dims, COUNT]), cell_dims)
    return cells.append_column(SUPPRESSED, pa.repeat(pa.scalar(False), cells.num_rows))


def _release_aggregate(plan: Plan, table: pa.Table) -> Release:
    dims = aggregate_dimensions(plan)
    cell_dims = [d for d in dims if d != "agency"]
    parts: dict[str, pa.Table] = {}
    bases: list[ProtectedBase] = []
    for grant in plan.grants:
        part = table.filter(pc.equal(table["agency"], grant.provider))
        if grant.own:
            parts[grant.provider] = _own_cells(plan, grant, part)
        else:
            base = protect_base(grant, part, plan)
            bases.append(ProtectedBase(grant.provider, base))
            parts[grant.provider] = cells_from_base(plan, grant, base)

    if "agency" in dims:
        released = []
        for grant in plan.grants:
            done = parts[grant.provider]
            agency = pa.repeat(pa.scalar(grant.provider, pa.string()), done.num_rows)
            released.append(done.append_column("agency", agency).select([*dims, COUNT, SUPPRESSED]))
        result = _masked(pa.concat_tables(released)) if released else _empty(plan, dims)
    else:
        result = _combine(plan, parts, cell_dims)
    if dims and result.num_rows:
        result = result.sort_by([(d, "ascending") for d in dims])
    suppressed = int(pc.sum(result[SUPPRESSED]).as_py() or 0) if result.num_rows else 0
    notes = list(plan.notes)
    if suppressed:
        notes.append(
            f"{suppressed} cell(s) suppressed: each holds a count of 1..k-1 in the agreement's "
            "finest grid (its whole areas and periods), and a total is released only when "
            "every grid cell in it is"
        )
    return Release(
        result, plan, suppressed_cells=suppressed, notes=tuple(notes), bases=tuple(bases)
    )


def _masked(cells: pa.Table) -> pa.Table:
    """``count`` null wherever ``suppressed``."""
    hidden = cells[SUPPRESSED].to_numpy(zero_copy_only=False).astype(np.bool_)
    counts = pc.fill_null(cells[COUNT], 0).to_numpy(zero_copy_only=False).astype(np.int64)
    masked = pa.array(np.where(hidden, 0, counts), pa.int64(), mask=hidden)
    return cells.set_column(cells.column_names.index(COUNT), COUNT, masked)


def _empty(plan: Plan, dims: Sequence[str]) -> pa.Table:
    types = {AREA: pa.string(), PERIOD: pa.date32()}
    return pa.table(
        {
            **{d: pa.array([], types.get(d, pa.string())) for d in dims},
            COUNT: pa.array([], pa.int64()),
            SUPPRESSED: pa.array([], pa.bool_()),
        }
    )


def _combine(plan: Plan, parts: dict[str, pa.Table], cell_dims: list[str]) -> pa.Table:
    """One table across providers: a cell is the sum of every provider's part, hidden when any
    other agency's part is hidden (the user's own part is never hidden, but it is not added to
    a hidden cell). Each part is a sum of its provider's released base cells, so the sum is
    too: no k is needed for the mix beyond each provider's own."""
    tables = [parts[g.provider] for g in plan.grants]
    if not tables:
        return _empty(plan, cell_dims)
    key_schema = pa.schema([tables[0].schema.field(d) for d in cell_dims])
    unified = [
        t.select([*cell_dims, COUNT, SUPPRESSED]).cast(
            pa.schema([*key_schema, pa.field(COUNT, pa.int64()), pa.field(SUPPRESSED, pa.bool_())])
        )
        for t in tables
    ]
    return _masked(_sum_by(pa.concat_tables(unified), cell_dims, hidden=True))


# -- extracts -----------------------------------------------------------------------------------


def _truncate(values: pa.ChunkedArray, period: str, time_zone: str) -> pa.ChunkedArray:
    """Timestamps floored to the start of their local ``period`` in ``time_zone`` (the
    instant that period began, kept in the column's own zone, UTC in the lake)."""
    zoned = values.cast(pa.timestamp(values.type.unit, tz=time_zone))
    if period == "week":
        floored = pc.floor_temporal(zoned, unit="week", week_starts_monday=True)
    elif period == "mmwr_week":
        floored = pc.floor_temporal(zoned, unit="week", week_starts_monday=False)
    else:
        floored = pc.floor_temporal(zoned, unit=period)
    return floored.cast(values.type)


def _has_label(column: pa.ChunkedArray, label: str) -> pa.Array:
    """True for each row whose label list holds ``label`` (a null list holds none)."""
    labels = column.combine_chunks()
    flat = pc.list_flatten(labels)
    parents = pc.list_parent_indices(labels).to_numpy(zero_copy_only=False)
    matches = pc.fill_null(pc.equal(flat, label), False).to_numpy(zero_copy_only=False)
    found = np.zeros(len(labels), dtype=np.bool_)
    found[parents[matches]] = True
    return pa.array(found, pa.bool_())


def _keep_labels(column: pa.ChunkedArray, allowed: frozenset[str]) -> tuple[pa.Array, pa.Array]:
    """Each row's labels narrowed to ``allowed`` (a null list becomes empty), and whether any
    label is left."""
    labels = column.combine_chunks()
    flat = pc.list_flatten(labels)
    parents = pc.list_parent_indices(labels).to_numpy(zero_copy_only=False)
    keep = pc.fill_null(pc.is_in(flat, pa.array(sorted(allowed), pa.string())), False)
    kept_per_row = np.bincount(
        parents[keep.to_numpy(zero_copy_only=False)], minlength=len(labels)
    ).astype(np.int32)
    offsets = np.concatenate([np.zeros(1, dtype=np.int32), np.cumsum(kept_per_row, dtype=np.int32)])
    narrowed = pa.ListArray.from_arrays(pa.array(offsets), flat.filter(keep), type=column.type)
    return narrowed, pa.array(kept_per_row > 0, pa.bool_())


def _release_extract(plan: Plan, table: pa.Table, hub_key: bytes) -> Release:
    parts: list[pa.Table] = []
    withheld = 0
    for grant in plan.grants:
        part = table.filter(pc.equal(table["agency"], grant.provider))
        if not grant.own and part.num_rows:
            for column, scope_name in (("sector", "sectors"), ("kind", "kinds")):
                allowed = getattr(grant, scope_name)
                if allowed is not None:
                    part = part.filter(
                        pc.is_in(part[column], pa.array(sorted(allowed), pa.string()))
                    )
            if grant.syndromes is not None:
                narrowed, any_left = _keep_labels(part["syndromes"], grant.syndromes)
                part = part.set_column(
                    part.schema.get_field_index("syndromes"), "syndromes", narrowed
                ).filter(any_left)
            # 42 CFR Part 2: SUD treatment rows flow only under the patient's valid consent.
            part2 = _has_label(part["sensitivity"], Sensitivity.PART2.value)
            consented = pc.is_in(
                part["person_token"], pa.array(sorted(grant.consented_tokens), pa.string())
            )
            allowed_rows = pc.or_(pc.invert(part2), pc.fill_null(consented, False))
            withheld += part.num_rows - int(pc.sum(allowed_rows).as_py() or 0)
            part = part.filter(allowed_rows)
            period = grant.finest_period
            for column in TIME_COLUMNS:
                if column in part.column_names and period is not None:
                    idx = part.schema.get_field_index(column)
                    part = part.set_column(
                        idx, column, _truncate(part[column], period, plan.time_zone)
                    )
            assert grant.agreement is not None
            key = agreement_rekey_key(hub_key, grant.agreement.id)
            idx = part.schema.get_field_index("person_token")
            part = part.set_column(
                idx, "person_token", pa.array(rekey_many(part["person_token"], key), pa.string())
            )
        out_cols = ["agency", *[c for c in plan.columns if c != "agency"]]
        parts.append(part.select(out_cols))
    result = pa.concat_tables(parts) if parts else pa.table({"agency": pa.array([], pa.string())})
    if plan.request.limit is not None:
        result = result.slice(0, plan.request.limit)
    notes = list(plan.notes)
    if withheld:
        notes.append(
            f"{withheld} row(s) withheld: 42 CFR Part 2 records without a valid consent "
            "covering this recipient and purpose"
        )
    return Release(result, plan, withheld_part2_rows=withheld, notes=tuple(notes))
