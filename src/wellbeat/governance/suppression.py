"""Suppressing a long aggregate table with ``wellbeat.privacy.suppression``, cells forced.

The privacy package does the statistics (primary suppression of counts 1..k-1 and
complementary suppression that leaves no hidden value recoverable from the released cells and
margins). This module only arranges the governed release's long table into the grids it takes:
the first dimension gives the rows, the second the columns, the rest split the table into
separate grids (each with its own margins); one dimension is a list with a total; none is a
single count. ``forced`` cells are hidden whatever their count: a combined cell is hidden when
one provider's own release hid its part, otherwise subtracting would reveal it.

Cells are placed in their grids with pyarrow/numpy (dictionary codes, no per-cell Python), so
the cost of a release is the privacy package's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.privacy.suppression import (
    ListSuppression,
    TableSuppression,
    suppress_list,
    suppress_small_cells,
    suppress_with_margins,
)

SUPPRESSED = "suppressed"
COUNT = "count"


@dataclass(frozen=True)
class GridSuppression:
    """One grid as suppressed: its true counts and what was hidden (cells and margins)."""

    group: tuple[Any, ...]
    values: npt.NDArray[np.int64]
    result: TableSuppression | ListSuppression | None
    """None for a single count (no margins); then ``values`` has one element."""
    hidden_single: bool = False


@dataclass(frozen=True)
class SuppressedCells:
    table: pa.Table
    """The input with ``count`` null where hidden and a boolean ``suppressed`` column."""
    grids: tuple[GridSuppression, ...]


def _ranked_codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[Any]]:
    """Each row's position among the column's distinct values, and those values, in release
    order: nulls last, the rest by their text (the grid's row or column order)."""
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    values = encoded.dictionary.to_pylist()
    order = sorted(range(len(values)), key=lambda v: (values[v] is None, str(values[v])))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values), dtype=np.int64)
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)]
    return codes, [values[v] for v in order]


def _group_codes(
    cells: pa.Table, dims: Sequence[str]
) -> tuple[npt.NDArray[np.int64], list[tuple[Any, ...]]]:
    """Each row's grid (a combination of ``dims``) and the grids' keys, in release order."""
    if cells.num_rows == 0:
        return np.zeros(0, dtype=np.int64), []
    if not dims:
        return np.zeros(cells.num_rows, dtype=np.int64), [()]
    per_dim = [_ranked_codes(cells[d]) for d in dims]
    stacked = np.stack([codes for codes, _ in per_dim], axis=1)
    # Lexicographic order of the per-dimension ranks is the order of the keys' (null, text).
    distinct, inverse = np.unique(stacked, axis=0, return_inverse=True)
    keys = [tuple(per_dim[d][1][int(c)] for d, c in enumerate(row)) for row in distinct]
    return inverse.reshape(-1).astype(np.int64), keys


def key_codes(tables: Sequence[pa.Table], dims: Sequence[str]) -> npt.NDArray[np.int64]:
    """One integer per row of ``tables`` (concatenated), equal exactly when the rows' values
    in ``dims`` are equal (nulls equal to nulls): vectorised matching of cell keys."""
    total = sum(t.num_rows for t in tables)
    codes = np.zeros(total, dtype=np.int64)
    for d in dims:
        typ = tables[0].schema.field(d).type
        column = pa.chunked_array(
            [chunk for t in tables for chunk in t[d].cast(typ).chunks], type=typ
        )
        encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
        part = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        codes = codes * max(len(encoded.dictionary), 1) + part
        codes = np.unique(codes, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return codes


def _counts(cells: pa.Table) -> npt.NDArray[np.int64]:
    column = cells[COUNT]
    if column.null_count:
        raise ValueError(
            f"suppress_cells: column {COUNT!r} has {column.null_count} null value(s); "
            "expected a count in every cell"
        )
    return np.asarray(column.to_numpy(), dtype=np.int64).reshape(-1)


def suppress_cells(
    cells: pa.Table,
    dims: Sequence[str],
    k: int,
    *,
    forced: npt.ArrayLike | None = None,
) -> SuppressedCells:
    """Hide counts 1..k-1, forced cells and their complements; one row per cell in ``cells``
    (absent cells are released zeros, as in the privacy package). ``forced`` is one flag per
    row of ``cells``: True hides that cell whatever its count."""
    n = cells.num_rows
    counts = _counts(cells)
    force_rows = (
        np.zeros(n, dtype=np.bool_) if forced is None else np.asarray(forced, dtype=np.bool_)
    )
    if force_rows.shape != (n,):
        raise ValueError(
            f"suppress_cells: forced has shape {force_rows.shape}; expected ({n},), one flag "
            "per cell"
        )
    hidden = np.zeros(n, dtype=np.bool_)
    grids: list[GridSuppression] = []
    if not dims:
        for r in range(n):
            small = bool(suppress_small_cells(counts[r : r + 1], k)[0])
            hidden[r] = small or bool(force_rows[r])
            grids.append(GridSuppression((), counts[r : r + 1], None, bool(hidden[r])))
    elif len(dims) == 1:
        codes, order = _ranked_codes(cells[dims[0]])
        values = np.zeros(len(order), dtype=np.int64)
        force = np.zeros(len(order), dtype=np.bool_)
        values[codes] = counts
        force[codes] = force_rows
        listed = suppress_list(values, k, forced=force)
        hidden = np.asarray(listed.cells[codes], dtype=np.bool_)
        grids.append(GridSuppression((), values, listed))
    else:
        row_codes, rows = _ranked_codes(cells[dims[0]])
        col_codes, cols = _ranked_codes(cells[dims[1]])
        group_codes, groups = _group_codes(cells, dims[2:])
        by_group = np.argsort(group_codes, kind="stable")
        bounds = np.searchsorted(group_codes[by_group], np.arange(len(groups) + 1))
        for g, group in enumerate(groups):
            members = by_group[bounds[g] : bounds[g + 1]]
            i, j = row_codes[members], col_codes[members]
            grid = np.zeros((len(rows), len(cols)), dtype=np.int64)
            force = np.zeros_like(grid, dtype=np.bool_)
            grid[i, j] = counts[members]
            force[i, j] = force_rows[members]
            plan = suppress_with_margins(grid, k, forced=force)
            hidden[members] = plan.cells[i, j]
            grids.append(GridSuppression(group, grid, plan))
    masked = pa.array(np.where(hidden, 0, counts), type=pa.int64(), mask=hidden)
    table = cells.set_column(cells.column_names.index(COUNT), COUNT, masked)
    table = table.append_column(SUPPRESSED, pa.array(hidden, type=pa.bool_()))
    return SuppressedCells(table, tuple(grids))
