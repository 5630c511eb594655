"""What every connector shares: the rows it is handed, its contract, and per-row list helpers.

A connector receives the extract already mapped by the profile (``SourceRows.events`` in
``events.schema.BATCH_SCHEMA``) plus the free-text columns the profile keeps for use at the
source, and returns the events with what its source kind implies (syndromes, sensitivity, kind,
attributes) added. The text never leaves through a connector: only the returned table is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.ingest.profile import Profile

LIST_TYPE = BATCH_SCHEMA.field("codes").type
ATTRIBUTES_TYPE = BATCH_SCHEMA.field("attributes").type


@dataclass(frozen=True)
class SourceRows:
    """One slice of an extract, mapped by the profile, as a connector sees it."""

    events: pa.Table
    """The mapped events in BATCH_SCHEMA (identifiers already replaced by pseudonyms)."""
    text: Mapping[str, pa.Array]
    """``keep_text`` name -> free text per row (strings, null when empty); source-only."""
    profile: Profile


Derive = Callable[[SourceRows], pa.Table]


@dataclass(frozen=True)
class Connector:
    """A source kind: its defaults and the derivation run after the profile's mapping."""

    name: str
    description: str
    derive: Derive
    sector: str | None = None
    """Default sector when the profile gives none."""
    kind: str | None = None
    """Default event kind when the profile gives none."""


# ---------------------------------------------------------------------------------------------
# Per-row lists (codes, syndromes, sensitivity) built and merged without Python loops over rows.


def lists_from_pairs(
    n_rows: int, rows: np.ndarray, values: pa.Array, *, unique: bool = True
) -> pa.ListArray:
    """A list per row from (row index, value) pairs; order within a row follows the pairs.

    Null values are skipped; with ``unique`` a value appears once per row (first kept).
    """
    rows = np.asarray(rows, dtype=np.int64)
    if len(values):
        keep = pc.is_valid(values).to_numpy(zero_copy_only=False)
        rows, values = rows[keep], values.filter(pa.array(keep))
    if unique and len(values):
        frame = pd.DataFrame({"row": rows, "value": values.to_numpy(zero_copy_only=False)})
        first = ~frame.duplicated().to_numpy()
        rows, values = rows[first], values.filter(pa.array(first))
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=n_rows) if len(rows) else np.zeros(n_rows, np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    flat = values.take(pa.array(order)) if len(values) else pa.array([], pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), flat.cast(pa.string()))


def merge_lists(n_rows: int, *columns: pa.Array | pa.ChunkedArray) -> pa.ListArray:
    """Element-wise union of several per-row string lists, first occurrence order kept."""
    rows: list[np.ndarray] = []
    values: list[pa.Array] = []
    for column in columns:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if len(array) != n_rows:
            raise ValueError(f"list column has {len(array)} rows, expected {n_rows}")
        rows.append(pc.list_parent_indices(array).to_numpy(zero_copy_only=False))
        values.append(pc.list_flatten(array).cast(pa.string()))
    if not rows:
        return constant_lists(n_rows, ())
    return lists_from_pairs(n_rows, np.concatenate(rows), pa.concat_arrays(values))


def constant_lists(n_rows: int, items: Sequence[str]) -> pa.ListArray:
    """The same list on every row."""
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), len(items))
    values = pa.array(list(items) * n_rows, pa.string())
    return lists_from_pairs(n_rows, rows, values, unique=False)


def lists_where(mask: np.ndarray, item: str) -> pa.ListArray:
    """``[item]`` on the rows where ``mask`` is true, ``[]`` elsewhere."""
    rows = np.flatnonzero(mask)
    return lists_from_pairs(len(mask), rows, pa.array([item] * len(rows), pa.string()))


def add_to_lists(events: pa.Table, column: str, *additions: pa.Array | pa.ChunkedArray) -> pa.Table:
    """``events`` with each row's ``column`` list extended by the rows of ``additions``."""
    merged = merge_lists(events.num_rows, events.column(column), *additions)
    return events.set_column(events.schema.get_field_index(column), column, merged)


def with_attributes(events: pa.Table, new: Mapping[str, pa.Array]) -> pa.Table:
    """``events`` with per-row attributes added (null values skipped; existing keys win)."""
    n = events.num_rows
    existing = events.column("attributes").combine_chunks()
    as_lists = existing.cast(pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())])))
    entries = as_lists.flatten()
    rows = [pc.list_parent_indices(as_lists).to_numpy(zero_copy_only=False)]
    keys = [entries.field(0)]
    items = [entries.field(1)]
    for name, values in new.items():
        valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(valid)
        rows.append(idx)
        keys.append(pa.array([name] * len(idx), pa.string()))
        items.append(values.filter(pa.array(valid)).cast(pa.string()))
    all_rows = np.concatenate(rows)
    all_keys = pa.concat_arrays([k.cast(pa.string()) for k in keys])
    all_items = pa.concat_arrays([i.cast(pa.string()) for i in items])
    frame = pd.DataFrame({"row": all_rows, "key": all_keys.to_numpy(zero_copy_only=False)})
    first = ~frame.duplicated().to_numpy()
    all_rows = all_rows[first]
    order = np.argsort(all_rows, kind="stable")
    take = pa.array(np.flatnonzero(first)[order])
    counts = np.bincount(all_rows, minlength=n) if len(all_rows) else np.zeros(n, np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32), pa.int32())
    attributes = pa.MapArray.from_arrays(offsets, all_keys.take(take), all_items.take(take))
    index = events.schema.get_field_index("attributes")
    return events.set_column(index, "attributes", attributes.cast(ATTRIBUTES_TYPE))


def set_constant(events: pa.Table, column: str, value: str) -> pa.Table:
    """``events`` with ``column`` set to ``value`` on every row."""
    index = events.schema.get_field_index(column)
    return events.set_column(index, column, pa.array([value] * events.num_rows, pa.string()))


def list_contains_any(lists: pa.Array | pa.ChunkedArray, wanted: Sequence[str]) -> np.ndarray:
    """Per row: does the list hold any of ``wanted``?"""
    array = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    hit = np.zeros(len(array), dtype=bool)
    if len(array) == 0:
        return hit
    flat = pc.list_flatten(array)
    parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
    found = pc.is_in(flat, value_set=pa.array(list(wanted), pa.string()))
    hit[parents[found.to_numpy(zero_copy_only=False)]] = True
    return hit
