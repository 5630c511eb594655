"""Releasing query results under a plan: narrow, suppress, truncate, re-key.

``release(plan, table, hub_key)`` takes what the engine returned for the plan's providers (one
table with an ``agency`` column) and returns only what the agreements allow. It re-checks
everything the query already narrowed (defence in depth: rows of agencies outside the plan,
syndromes outside an agreement's scope), so a faulty query can never widen a release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import Sensitivity
from wellbeat.governance.decision import TIME_COLUMNS, Grant, Plan
from wellbeat.governance.suppression import GridSuppression, key_codes, suppress_cells
from wellbeat.privacy.keys import recipient_key
from wellbeat.privacy.pseudonym import rekey_many

AREA = "area"
PERIOD = "period"
COUNT = "count"
SUPPRESSED = "suppressed"

EXTRACT_CONTROL_COLUMNS = ("agency", "sector", "kind", "syndromes", "sensitivity", "person_token")
"""Columns every extract query reads so the release can enforce scope, consent and re-keying;
those the user did not ask for are dropped before release."""

_DIM_SCOPE = {"sector": "sectors", "kind": "kinds", "syndrome": "syndromes"}


@dataclass(frozen=True)
class Release:
    """What a user receives, with the facts the audit entry records."""

    table: pa.Table
    plan: Plan
    suppressed_cells: int = 0
    withheld_part2_rows: int = 0
    notes: tuple[str, ...] = ()
    grids: tuple[GridSuppression, ...] = ()
    """How other agencies' counts were suppressed (true counts and hidden cells/margins), for
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
            "start": req.start.isoformat() if req.start else None,
            "end": req.end.isoformat() if req.end else None,
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


def _narrow_cells(grant: Grant, part: pa.Table) -> pa.Table:
    for dim, scope_name in _DIM_SCOPE.items():
        allowed = getattr(grant, scope_name)
        if allowed is not None and dim in part.column_names:
            part = part.filter(pc.is_in(part[dim], pa.array(sorted(allowed), pa.string())))
    return part


def _sum_by(table: pa.Table, dims: Sequence[str]) -> pa.Table:
    if not dims:
        total = pc.sum(table[COUNT]).as_py() if table.num_rows else None
        return pa.table({COUNT: pa.array([] if total is None else [total], pa.int64())})
    grouped = table.group_by(list(dims)).aggregate([(COUNT, "sum")])
    return grouped.rename_columns([*dims, COUNT]).select([*dims, COUNT])


def _release_aggregate(plan: Plan, table: pa.Table) -> Release:
    dims = aggregate_dimensions(plan)
    cell_dims = [d for d in dims if d != "agency"]
    parts: dict[str, pa.Table] = {}
    for grant in plan.grants:
        part = _narrow_cells(grant, table.filter(pc.equal(table["agency"], grant.provider)))
        part = part.set_column(
            part.column_names.index(COUNT), COUNT, pc.cast(part[COUNT], pa.int64())
        )
        parts[grant.provider] = _sum_by(part, cell_dims)

    # Each provider's cells on their own, suppressed with that provider's k (own data: none).
    released: list[pa.Table] = []
    grids: list[GridSuppression] = []
    hidden_keys: list[pa.Table] = []
    for grant in plan.grants:
        cells = parts[grant.provider]
        if grant.own:
            done = cells.append_column(SUPPRESSED, pa.repeat(pa.scalar(False), cells.num_rows))
        else:
            outcome = suppress_cells(cells, cell_dims, grant.min_cell)
            done = outcome.table
            if "agency" in dims:
                grids.extend(outcome.grids)
            hidden_keys.append(done.filter(done[SUPPRESSED]).select(cell_dims))
        if "agency" in dims:
            agency = pa.repeat(pa.scalar(grant.provider, pa.string()), done.num_rows)
            released.append(done.append_column("agency", agency).select([*dims, COUNT, SUPPRESSED]))

    if "agency" in dims:
        result = pa.concat_tables(released)
    else:
        result, combined_grids = _combine(plan, parts, cell_dims, hidden_keys)
        grids.extend(combined_grids)
    if dims and result.num_rows:
        result = result.sort_by([(d, "ascending") for d in dims])
    suppressed = int(pc.sum(result[SUPPRESSED]).as_py() or 0) if result.num_rows else 0
    notes = list(plan.notes)
    if suppressed:
        notes.append(
            f"{suppressed} cell(s) suppressed: counts 1..k-1 and the cells that would let "
            "anyone recover them from totals"
        )
    return Release(
        result, plan, suppressed_cells=suppressed, notes=tuple(notes), grids=tuple(grids)
    )


def _combine(
    plan: Plan,
    parts: dict[str, pa.Table],
    cell_dims: list[str],
    hidden_keys: list[pa.Table],
) -> tuple[pa.Table, tuple[GridSuppression, ...]]:
    """One table across providers: other agencies' counts summed and suppressed with the
    strictest k, and every cell where one provider's own release hid its part (``hidden_keys``)
    hidden too (otherwise the combined cell minus that provider's other released parts gives it
    away).

    The user's own counts are added to released cells only; the suppression decision looks at
    the other agencies' part, because the user knows its own part and could subtract it."""
    others = [parts[g.provider] for g in plan.grants if not g.own]
    own = [parts[g.provider] for g in plan.grants if g.own]
    template = next(iter(parts.values()))
    key_schema = [template.schema.field(d) for d in cell_dims]
    grids: tuple[GridSuppression, ...] = ()
    if others:
        summed = _sum_by(pa.concat_tables(others), cell_dims)
        codes = key_codes([summed, *hidden_keys], cell_dims)
        forced = np.isin(codes[: summed.num_rows], codes[summed.num_rows :])
        outcome = suppress_cells(summed, cell_dims, plan.strictest_min_cell, forced=forced)
        grids = outcome.grids
        other_cells = outcome.table
    else:
        other_cells = pa.table(
            {
                **{f.name: pa.array([], f.type) for f in key_schema},
                COUNT: pa.array([], pa.int64()),
                SUPPRESSED: pa.array([], pa.bool_()),
            }
        )
    hidden = other_cells[SUPPRESSED].to_numpy(zero_copy_only=False).astype(np.bool_)
    counts = pc.fill_null(other_cells[COUNT], 0).to_numpy().astype(np.int64)
    key_tables = [other_cells.select(cell_dims)]
    if own:
        # Own parts summed first: a cell only in the own data is released with its own count;
        # a cell in both gets the own count added unless the other agencies' part was hidden.
        own_cells = _sum_by(pa.concat_tables(own), cell_dims)
        n_others = other_cells.num_rows
        codes = key_codes([other_cells, own_cells], cell_dims)
        other_at = np.full(int(codes.max()) + 1 if codes.size else 0, -1, dtype=np.int64)
        other_at[codes[:n_others]] = np.arange(n_others, dtype=np.int64)
        match = other_at[codes[n_others:]]
        own_counts = own_cells[COUNT].to_numpy().astype(np.int64)
        shared = match >= 0
        add = shared & ~np.append(hidden, False)[match]  # -1 (no match) reads the False
        counts[match[add]] += own_counts[add]
        new = ~shared
        key_tables.append(own_cells.select(cell_dims).filter(pa.array(new, pa.bool_())))
        counts = np.concatenate([counts, own_counts[new]])
        hidden = np.concatenate([hidden, np.zeros(int(new.sum()), dtype=np.bool_)])
    keys = pa.concat_tables([t.cast(pa.schema(key_schema)) for t in key_tables])
    columns: dict[str, pa.Array | pa.ChunkedArray] = {d: keys[d] for d in cell_dims}
    columns[COUNT] = pa.array(np.where(hidden, 0, counts), pa.int64(), mask=hidden)
    columns[SUPPRESSED] = pa.array(hidden, pa.bool_())
    return pa.table(columns), grids


# -- extracts -----------------------------------------------------------------------------------


def _truncate(values: pa.ChunkedArray, period: str) -> pa.ChunkedArray:
    if period == "week":
        return pc.floor_temporal(values, unit="week", week_starts_monday=True)
    if period == "mmwr_week":
        return pc.floor_temporal(values, unit="week", week_starts_monday=False)
    return pc.floor_temporal(values, unit=period)


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
                    part = part.set_column(idx, column, _truncate(part[column], period))
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
