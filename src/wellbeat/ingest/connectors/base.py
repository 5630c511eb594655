"""What every connector shares: the rows it is handed, its contract, and per-row list helpers.

A connector receives the extract already mapped by the profile (``SourceRows.events`` in
``events.schema.BATCH_SCHEMA``) plus the free-text columns the profile keeps for use at the
source, and returns the events with what its source kind implies (syndromes, sensitivity, kind,
attributes) added. The text never leaves through a connector: only the returned table is written.

Direction: ``ingest.profile`` imports the connector registry (to check a profile's
``connector:`` and take its default sector and kind); connectors never import the profile at
run time (``SourceRows.profile`` is typed only), so the two form no import loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import BATCH_SCHEMA
from wellbeat.events.syndromes import classify_many

if TYPE_CHECKING:  # the profile names its connector; a connector sees a profile only as a type
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


def _group_by_row(n_rows: int, rows: np.ndarray, keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the (row, key) pairs to keep, grouped by row, and the per-row offsets.

    Pairs with a null key are skipped; a key repeated on a row is kept once (its first pair);
    within a row the pairs keep their order. Keys are compared through their dictionary codes,
    so the de-duplication hashes integers, not strings.
    """
    rows = np.asarray(rows, dtype=np.int64)
    codes = pc.dictionary_encode(keys).indices
    valid = codes.is_valid().to_numpy(zero_copy_only=False)
    code = pc.fill_null(codes, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    pair = rows * (int(code.max(initial=0)) + 1) + code
    first = valid & ~pd.Series(pair).duplicated().to_numpy()
    keep = np.flatnonzero(first)
    keep = keep[np.argsort(rows[keep], kind="stable")]
    counts = np.bincount(rows[keep], minlength=n_rows)
    offsets = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return keep, offsets


def lists_from_pairs(n_rows: int, rows: np.ndarray, values: pa.Array) -> pa.ListArray:
    """A list per row from (row index, value) pairs, in pair order, each value once per row."""
    keep, offsets = _group_by_row(n_rows, rows, values.cast(pa.string()))
    flat = values.cast(pa.string()).take(pa.array(keep, pa.int64()))
    return pa.ListArray.from_arrays(pa.array(offsets), flat)


def merge_lists(n_rows: int, *columns: pa.Array | pa.ChunkedArray) -> pa.ListArray:
    """Element-wise union of several per-row string lists, first occurrence order kept."""
    rows: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    values: list[pa.Array] = [pa.array([], pa.string())]
    for column in columns:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if len(array) != n_rows:
            raise ValueError(f"list column has {len(array)} rows, expected {n_rows}")
        rows.append(pc.list_parent_indices(array).to_numpy(zero_copy_only=False))
        values.append(pc.list_flatten(array).cast(pa.string()))
    return lists_from_pairs(n_rows, np.concatenate(rows), pa.concat_arrays(values))


def constant_lists(n_rows: int, items: Sequence[str]) -> pa.ListArray:
    """The same list on every row."""
    offsets = pa.array(np.arange(n_rows + 1, dtype=np.int32) * len(items))
    positions = np.tile(np.arange(len(items), dtype=np.int64), n_rows)
    flat = pa.array(list(items), pa.string()).take(pa.array(positions))
    return pa.ListArray.from_arrays(offsets, flat)


def lists_where(mask: np.ndarray, item: str) -> pa.ListArray:
    """``[item]`` on the rows where ``mask`` is true, ``[]`` elsewhere."""
    counts = np.asarray(mask, dtype=np.int32)
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    flat = pa.repeat(pa.scalar(item, pa.string()), int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets), flat)


def add_to_lists(events: pa.Table, column: str, *additions: pa.Array | pa.ChunkedArray) -> pa.Table:
    """``events`` with each row's ``column`` list extended by the rows of ``additions``."""
    merged = merge_lists(events.num_rows, events.column(column), *additions)
    return events.set_column(events.schema.get_field_index(column), column, merged)


_ENTRY_LISTS = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))


def with_attributes(
    events: pa.Table, new: Mapping[str, pa.Array], *, replace: bool = False
) -> pa.Table:
    """``events`` with per-row attributes added (null values skipped).

    Where a row already has the key, the existing value wins, or the new one with ``replace``.
    """
    n = events.num_rows
    existing = events.column("attributes").combine_chunks().cast(_ENTRY_LISTS)
    entries = existing.flatten()
    rows = [pc.list_parent_indices(existing).to_numpy(zero_copy_only=False)]
    keys = [entries.field(0)]
    items = [entries.field(1)]
    for name, values in new.items():
        present = np.flatnonzero(values.is_valid().to_numpy(zero_copy_only=False))
        rows.append(present)
        keys.append(pa.repeat(pa.scalar(name, pa.string()), len(present)))
        items.append(values.take(pa.array(present, pa.int64())).cast(pa.string()))
    if replace:  # the first of a row's duplicate keys is kept: put the new entries first
        rows = [*rows[1:], rows[0]]
        keys = [*keys[1:], keys[0]]
        items = [*items[1:], items[0]]
    all_keys = pa.concat_arrays(keys)
    keep, offsets = _group_by_row(n, np.concatenate(rows), all_keys)
    take = pa.array(keep, pa.int64())
    attributes = pa.MapArray.from_arrays(
        pa.array(offsets), all_keys.take(take), pa.concat_arrays(items).take(take)
    )
    index = events.schema.get_field_index("attributes")
    return events.set_column(index, "attributes", attributes.cast(ATTRIBUTES_TYPE))


def set_constant(events: pa.Table, column: str, value: str) -> pa.Table:
    """``events`` with ``column`` set to ``value`` on every row."""
    index = events.schema.get_field_index(column)
    return events.set_column(
        index, column, pa.repeat(pa.scalar(value, pa.string()), events.num_rows)
    )


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


_KEY_SEPARATOR = "\x1f"


def classified_syndromes(events: pa.Table, complaints: pa.Array | None = None) -> pa.ListArray:
    """Syndromes of each row from its codes (and a chief complaint), via the events classifier.

    ``events.syndromes.classify_many`` runs once per distinct (codes, complaint) pair, not once
    per row: a source's rows repeat the same few code combinations.
    """
    codes = events.column("codes").combine_chunks()
    key = pc.binary_join(codes, _KEY_SEPARATOR)
    if complaints is not None:
        key = pc.binary_join_element_wise(key, pc.fill_null(complaints, ""), "\x1e")
    encoded = pc.dictionary_encode(key)
    first = pc.index_in(encoded.dictionary, value_set=key)
    firsts = pa.array(first, pa.int64())
    distinct_codes = codes.take(firsts).to_pylist()
    distinct_complaints = complaints.take(firsts).to_pylist() if complaints is not None else None
    results = classify_many(
        [c or [] for c in distinct_codes],
        distinct_complaints or [None] * len(distinct_codes),
    )
    return pa.array(results, LIST_TYPE).take(encoded.indices)


def with_classified_syndromes(rows: SourceRows, complaint: str | None = None) -> pa.Table:
    """``rows.events`` with the syndromes its codes (and the named kept text) imply added."""
    text = rows.text.get(complaint) if complaint is not None else None
    return add_to_lists(rows.events, "syndromes", classified_syndromes(rows.events, text))


def with_sensitivity(events: pa.Table, *labels: str) -> pa.Table:
    """``events`` with ``labels`` added to every row's sensitivity."""
    return add_to_lists(events, "sensitivity", constant_lists(events.num_rows, labels))


def codes_in(events: pa.Table, namespace: str) -> tuple[np.ndarray, pa.Array]:
    """(row index, code without its namespace) for every code of ``namespace`` on the rows."""
    codes = events.column("codes").combine_chunks()
    flat = pc.list_flatten(codes)
    parents = pc.list_parent_indices(codes).to_numpy(zero_copy_only=False)
    prefix = f"{namespace}:"
    hit = pc.starts_with(flat, prefix).to_numpy(zero_copy_only=False)
    values = pc.utf8_slice_codeunits(flat.filter(pa.array(hit)), len(prefix))
    return parents[hit], values


def attribute(events: pa.Table, name: str) -> pa.Array:
    """The value of attribute ``name`` on each row (null where the row lacks it)."""
    return pc.map_lookup(events.column("attributes").combine_chunks(), name, "first")
