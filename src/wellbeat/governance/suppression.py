"""Suppressing a long aggregate table with ``wellbeat.privacy.suppression``, cells forced.

The privacy package does the statistics (primary suppression of counts 1..k-1 and
complementary suppression that leaves no hidden value recoverable from the released cells and
margins). This module only arranges the governed release's long table into the grids it takes:
the first dimension gives the rows, the second the columns, the rest split the table into
separate grids (each with its own margins); one dimension is a list with a total; none is a
single count. ``forced`` cells are hidden whatever their count: a combined cell is hidden when
one provider's own release hid its part, otherwise subtracting would reveal it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

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


def _key_rows(table: pa.Table, dims: Sequence[str]) -> list[tuple[Any, ...]]:
    columns = [table[d].to_pylist() for d in dims]
    return [tuple(col[i] for col in columns) for i in range(table.num_rows)]


def _order(values: set[Any]) -> list[Any]:
    return sorted(values, key=lambda v: (v is None, str(v)))


def suppress_cells(
    cells: pa.Table,
    dims: Sequence[str],
    k: int,
    *,
    forced: set[tuple[Any, ...]] | None = None,
) -> SuppressedCells:
    """Hide counts 1..k-1, forced cells and their complements; one row per cell in ``cells``
    (absent cells are released zeros, as in the privacy package)."""
    forced = forced or set()
    counts = np.asarray(cells[COUNT].to_pylist(), dtype=np.int64)
    keys = _key_rows(cells, dims)
    hidden = np.zeros(cells.num_rows, dtype=np.bool_)
    grids: list[GridSuppression] = []
    if not dims:
        for r in range(cells.num_rows):
            small = bool(suppress_small_cells(counts[r : r + 1], k)[0])
            hidden[r] = small or () in forced
            grids.append(GridSuppression((), counts[r : r + 1], None, bool(hidden[r])))
    elif len(dims) == 1:
        order = _order({key[0] for key in keys})
        position = {v: i for i, v in enumerate(order)}
        values = np.zeros(len(order), dtype=np.int64)
        force = np.zeros(len(order), dtype=np.bool_)
        for r, key in enumerate(keys):
            values[position[key[0]]] = counts[r]
            force[position[key[0]]] = key in forced
        listed = suppress_list(values, k, forced=force)
        for r, key in enumerate(keys):
            hidden[r] = listed.cells[position[key[0]]]
        grids.append(GridSuppression((), values, listed))
    else:
        rows = _order({key[0] for key in keys})
        cols = _order({key[1] for key in keys})
        row_at = {v: i for i, v in enumerate(rows)}
        col_at = {v: j for j, v in enumerate(cols)}
        groups: dict[tuple[Any, ...], list[int]] = {}
        for r, key in enumerate(keys):
            groups.setdefault(key[2:], []).append(r)
        for group in _order_groups(groups):
            members = groups[group]
            grid = np.zeros((len(rows), len(cols)), dtype=np.int64)
            force = np.zeros_like(grid, dtype=np.bool_)
            for r in members:
                i, j = row_at[keys[r][0]], col_at[keys[r][1]]
                grid[i, j] = counts[r]
                force[i, j] = keys[r] in forced
            plan = suppress_with_margins(grid, k, forced=force)
            for r in members:
                hidden[r] = plan.cells[row_at[keys[r][0]], col_at[keys[r][1]]]
            grids.append(GridSuppression(group, grid, plan))
    masked = pa.array(np.where(hidden, 0, counts), type=pa.int64(), mask=hidden)
    table = cells.set_column(cells.column_names.index(COUNT), COUNT, masked)
    table = table.append_column(SUPPRESSED, pa.array(hidden, type=pa.bool_()))
    return SuppressedCells(table, tuple(grids))


def _order_groups(groups: dict[tuple[Any, ...], list[int]]) -> list[tuple[Any, ...]]:
    return sorted(groups, key=lambda g: tuple((v is None, str(v)) for v in g))
