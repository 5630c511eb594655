"""Small-cell suppression with complementary suppression that provably blocks recovery.

Primary suppression hides counts 1..k-1 (CDC WONDER hides 1-9, so k = 10). Hiding them is not
enough when totals are published: a hidden cell alone in its row is the row total minus the
others. Complementary suppression hides more cells until no hidden value, cell or margin, can
be computed exactly from what is released.

The check is linear algebra (``recoverable_cells``): a hidden value is exactly recoverable iff
its unit vector lies in the row space of the margin equations restricted to the hidden
unknowns. The same equations are the flow-conservation equations of a small graph (row nodes,
column nodes and two total nodes, one edge per cell or margin), so a hidden value is
recoverable exactly when its edge is a *bridge* of the graph of hidden edges. Complementary
suppression therefore walks the hidden values and, for each one, hides the cheapest path of
released values that closes a cycle through it (Dijkstra; interior cells before margins,
smallest counts first, never a released zero). Hiding more never makes a hidden value
recoverable again, so one pass suffices.

References: CDC WONDER data use restrictions (counts 1-9 suppressed, rates on fewer than 20
flagged unreliable); NCHS Data Presentation Standards for Proportions; Cox, "Network models for
complementary cell suppression", JASA 1995; Willenborg and de Waal, "Elements of Statistical
Disclosure Control", 2001, ch. 6.

Which suppression runs where: this module holds the reference methods (arrays and tables,
complementary suppression for tables published with their margins). The governed release of
shared data does not call it: ``wellbeat.governance.release`` (``protect_base`` and
``cells_from_base``) marks small cells of the long tables it releases and makes every released
count a sum of released base cells, so no complement is needed. Merging the two into one
long-table path is issue 10 item 3.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

BoolArray = npt.NDArray[np.bool_]

DEFAULT_MIN_CELL: Final = 10
"""k: counts 1..9 are suppressed (CDC WONDER; most state health departments use 10 or 11)."""

UNRELIABLE_BELOW: Final = 20
"""Rates on fewer than 20 events are flagged unreliable (NCHS / CDC WONDER: relative
standard error of 23 % or more)."""

SUPPRESSED_COLUMN: Final = "suppressed"
MARGIN_COLUMN: Final = "margin"
"""With ``with_margins=True``: "cell", "row", "column" or "total" for each output row."""


def suppress_small_cells(
    counts: npt.ArrayLike, k: int = DEFAULT_MIN_CELL, *, suppress_zero: bool = False
) -> BoolArray:
    """Primary suppression: True where 1 <= count <= k-1 (0 too when ``suppress_zero``).

    Zero is published by default: by convention it is not a disclosure, and hiding it would
    make every hidden cell read as "small but not zero".
    """
    values = _counts(counts, "counts")
    _check_k(k)
    low = 0 if suppress_zero else 1
    return np.asarray((values >= low) & (values <= k - 1), dtype=np.bool_)


def unreliable_rate(counts: npt.ArrayLike) -> BoolArray:
    """True where a rate built on this count is unreliable (count < ``UNRELIABLE_BELOW``)."""
    values = np.asarray(counts, dtype=np.float64)
    return np.asarray(values < UNRELIABLE_BELOW, dtype=np.bool_)


@dataclass(frozen=True)
class MarginMask:
    """Which margins of a 2-D table are withheld: row totals, column totals, grand total."""

    rows: BoolArray
    cols: BoolArray
    total: bool


@dataclass(frozen=True)
class ListSuppression:
    """Suppression of a 1-D list of cells published with its total."""

    cells: BoolArray
    total: bool
    primary: BoolArray
    """The cells hidden for being small (or forced); the others in ``cells`` are complements."""


@dataclass(frozen=True)
class TableSuppression:
    """Suppression of a 2-D table published with row, column and grand totals."""

    cells: BoolArray
    rows: BoolArray
    cols: BoolArray
    total: bool
    primary: BoolArray
    """The interior cells hidden for being small (or forced)."""

    @property
    def margins(self) -> MarginMask:
        """The withheld margins, in the form ``recoverable_cells`` takes."""
        return MarginMask(rows=self.rows, cols=self.cols, total=self.total)


# ---------------------------------------------------------------------------------------------
# The checker: linear algebra over the margin equations


def recoverable_cells(
    table: npt.ArrayLike,
    mask: npt.ArrayLike,
    margins: MarginMask | bool | None = None,
) -> set[tuple[int, ...]]:
    """Hidden values that released cells and margins determine exactly.

    ``table`` gives the shape (R, C) or (n,); ``mask`` is True where a cell is hidden;
    ``margins`` says which margins are withheld (a ``MarginMask`` for 2-D, a bool for the total
    of a 1-D list; None: all released). Positions are in the table extended by its margins:
    2-D (i, j) a cell, (i, C) row total i, (R, j) column total j, (R, C) the grand total;
    1-D (i,) a cell and (n,) the total.
    """
    shape = np.shape(table)
    hidden = np.asarray(mask, dtype=np.bool_)
    if hidden.shape != shape:
        raise ValueError(f"mask has shape {hidden.shape}; the table has shape {shape}")
    if len(shape) == 1:
        return _recoverable_1d(shape[0], hidden, margins)
    if len(shape) == 2:
        return _recoverable_2d(shape[0], shape[1], hidden, margins)
    raise ValueError(f"recoverable_cells: table must be 1-D or 2-D; got shape {shape}")


def _recoverable_1d(
    n: int, hidden: BoolArray, margins: MarginMask | bool | None
) -> set[tuple[int, ...]]:
    if isinstance(margins, MarginMask):
        raise ValueError("a 1-D list has only a total: pass margins=True/False, not MarginMask")
    unknowns: list[tuple[int, ...]] = [(i,) for i in range(n) if hidden[i]]
    if margins:
        unknowns.append((n,))
    index = {pos: u for u, pos in enumerate(unknowns)}
    equation = np.zeros((1, len(unknowns)))
    for pos, u in index.items():
        equation[0, u] = -1.0 if pos == (n,) else 1.0
    return _determined(equation, unknowns)


def _recoverable_2d(
    n_rows: int, n_cols: int, hidden: BoolArray, margins: MarginMask | bool | None
) -> set[tuple[int, ...]]:
    if margins is None:
        margins = MarginMask(
            rows=np.zeros(n_rows, dtype=np.bool_),
            cols=np.zeros(n_cols, dtype=np.bool_),
            total=False,
        )
    if not isinstance(margins, MarginMask):
        raise ValueError("a 2-D table needs margins=MarginMask(rows, cols, total) or None")
    rows_hidden = np.asarray(margins.rows, dtype=np.bool_)
    cols_hidden = np.asarray(margins.cols, dtype=np.bool_)
    if rows_hidden.shape != (n_rows,) or cols_hidden.shape != (n_cols,):
        raise ValueError(
            f"margins: expected {n_rows} row and {n_cols} column flags; "
            f"got {rows_hidden.shape} and {cols_hidden.shape}"
        )
    unknowns: list[tuple[int, ...]] = [tuple(int(x) for x in p) for p in np.argwhere(hidden)]
    unknowns += [(i, n_cols) for i in range(n_rows) if rows_hidden[i]]
    unknowns += [(n_rows, j) for j in range(n_cols) if cols_hidden[j]]
    if margins.total:
        unknowns.append((n_rows, n_cols))
    index = {pos: u for u, pos in enumerate(unknowns)}
    # Equations, each "sum of parts - whole = 0" with released values moved to the right:
    # one per row (cells - row total), one per column (cells - column total), and
    # row totals - grand total, column totals - grand total.
    equations = np.zeros((n_rows + n_cols + 2, len(unknowns)))
    for pos, u in index.items():
        i, j = pos
        if i < n_rows and j < n_cols:
            equations[i, u] = 1.0
            equations[n_rows + j, u] = 1.0
        elif j == n_cols and i < n_rows:
            equations[i, u] = -1.0
            equations[n_rows + n_cols, u] = 1.0
        elif i == n_rows and j < n_cols:
            equations[n_rows + j, u] = -1.0
            equations[n_rows + n_cols + 1, u] = 1.0
        else:
            equations[n_rows + n_cols, u] = -1.0
            equations[n_rows + n_cols + 1, u] = -1.0
    return _determined(equations, unknowns)


def _determined(
    equations: npt.NDArray[np.float64], unknowns: list[tuple[int, ...]]
) -> set[tuple[int, ...]]:
    """Unknowns whose unit vector lies in the row space of ``equations``.

    The squared length of e_u's projection onto the row space (its leverage) is 1 exactly when
    e_u is in it. These equations form a network matrix (totally unimodular), so a free unknown
    lies on a cycle of at most U unknowns and its leverage is at most 1 - 1/U: a threshold of
    1 - 1/(2U) separates the two cases far above rounding error.
    """
    n = len(unknowns)
    if n == 0:
        return set()
    _, singular, vt = np.linalg.svd(equations, full_matrices=False)
    tol = max(equations.shape) * np.finfo(np.float64).eps * (singular[0] if singular.size else 0)
    rank = int((singular > tol).sum())
    leverage = (vt[:rank] ** 2).sum(axis=0) if rank else np.zeros(n)
    return {unknowns[u] for u in np.flatnonzero(leverage > 1.0 - 0.5 / n)}


# ---------------------------------------------------------------------------------------------
# Complementary suppression on the margin graph


class _Edges:
    """The margin graph's edges as parallel lists (one entry per cell or margin), built from
    NumPy in one go: the graph walks below index plain lists, far faster than objects."""

    __slots__ = ("hidden", "is_margin", "protect", "u", "v", "value")

    def __init__(
        self,
        u: npt.NDArray[np.int64],
        v: npt.NDArray[np.int64],
        value: npt.NDArray[np.int64],
        is_margin: BoolArray,
        hidden: BoolArray,
        protect: BoolArray,
    ) -> None:
        self.u: list[int] = u.tolist()
        self.v: list[int] = v.tolist()
        self.value: list[int] = value.tolist()
        self.is_margin: list[bool] = is_margin.tolist()
        self.hidden: list[bool] = hidden.tolist()
        self.protect: list[bool] = protect.tolist()
        """Hidden for disclosure reasons and so must not be recoverable (a margin that is
        merely not published is hidden without needing protection)."""

    def __len__(self) -> int:
        return len(self.u)


def _adjacency(edges: _Edges, n_nodes: int, only_hidden: bool) -> list[list[int]]:
    """Each node's edges (all, or the hidden ones), in edge order."""
    adjacency: list[list[int]] = [[] for _ in range(n_nodes)]
    hidden = edges.hidden
    for e, (a, b) in enumerate(zip(edges.u, edges.v, strict=True)):
        if only_hidden and not hidden[e]:
            continue
        adjacency[a].append(e)
        adjacency[b].append(e)
    return adjacency


def _protect(edges: _Edges, n_nodes: int, order: Sequence[int]) -> None:
    """Hide released edges until no hidden edge is a bridge (see the module docstring)."""
    if not order:
        return
    adjacency: list[list[int]] | None = None  # every edge; built when a path is first needed
    bridges = _hidden_bridges(edges, n_nodes)
    for e in order:
        if e not in bridges:
            continue
        if adjacency is None:
            adjacency = _adjacency(edges, n_nodes, only_hidden=False)
        for f in _cheapest_cycle_path(edges, adjacency, e):
            edges.hidden[f] = True
            edges.protect[f] = True
        bridges = _hidden_bridges(edges, n_nodes)


def _hidden_bridges(edges: _Edges, n_nodes: int) -> set[int]:
    """Bridges of the multigraph of hidden edges (Tarjan's low-link, iterative)."""
    adjacency = _adjacency(edges, n_nodes, only_hidden=True)
    us, vs = edges.u, edges.v
    order = [-1] * n_nodes
    low = [0] * n_nodes
    bridges: set[int] = set()
    counter = 0
    for root in range(n_nodes):
        if order[root] != -1 or not adjacency[root]:
            continue
        order[root] = low[root] = counter
        counter += 1
        # Stack of (node, edge used to reach it, position in its adjacency list).
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]
        while stack:
            node, via, pos = stack[-1]
            around = adjacency[node]
            if pos < len(around):
                stack[-1] = (node, via, pos + 1)
                e = around[pos]
                if e == via:
                    continue
                other = vs[e] if us[e] == node else us[e]
                if order[other] == -1:
                    order[other] = low[other] = counter
                    counter += 1
                    stack.append((other, e, 0))
                elif order[other] < low[node]:
                    low[node] = order[other]
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                    if low[node] > order[parent]:
                        bridges.add(via)
    return bridges


def _cheapest_cycle_path(edges: _Edges, adjacency: list[list[int]], banned: int) -> list[int]:
    """Released edges on the cheapest path between the ends of ``banned`` that avoids it.

    Hidden edges cost nothing; a released edge costs (is a margin, its value, 1), compared in
    that order. Released zeros are never used: a circulation argument (the table is a flow on
    the graph) guarantees a path of non-zero or hidden edges exists around any non-zero edge.
    """
    us, vs, hidden = edges.u, edges.v, edges.hidden
    values, margins = edges.value, edges.is_margin
    start, goal = us[banned], vs[banned]
    best: dict[int, tuple[int, int, int]] = {start: (0, 0, 0)}
    via: dict[int, int] = {}
    heap: list[tuple[tuple[int, int, int], int]] = [((0, 0, 0), start)]
    done: set[int] = set()
    while heap:
        cost, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        if node == goal:
            break
        for e in adjacency[node]:
            if e == banned:
                continue
            if hidden[e]:
                candidate = cost
            elif values[e] == 0:
                continue
            else:
                candidate = (cost[0] + int(margins[e]), cost[1] + values[e], cost[2] + 1)
            other = vs[e] if us[e] == node else us[e]
            if other not in best or candidate < best[other]:
                best[other] = candidate
                via[other] = e
                heapq.heappush(heap, (candidate, other))
    if goal not in done:
        # Only reachable when a hidden zero has no non-zero detour; hide every released edge
        # at the two ends (still correct, just not minimal).
        return [e for node in (start, goal) for e in adjacency[node] if not hidden[e]]
    path: list[int] = []
    node = goal
    while node != start:
        e = via[node]
        if not hidden[e]:
            path.append(e)
        node = vs[e] if us[e] == node else us[e]
    return path


def suppress_list(
    counts: npt.ArrayLike,
    k: int = DEFAULT_MIN_CELL,
    *,
    suppress_zero: bool = False,
    forced: npt.ArrayLike | None = None,
) -> ListSuppression:
    """Primary and complementary suppression of a 1-D list published with its total.

    A small total is hidden too. If exactly one value would be hidden, the smallest non-zero
    released cell (then the total) is hidden with it, so none can be found by subtraction.
    """
    values = _counts(counts, "counts")
    if values.ndim != 1:
        raise ValueError(f"suppress_list: counts must be 1-D; got shape {values.shape}")
    primary = suppress_small_cells(values, k, suppress_zero=suppress_zero)
    if forced is not None:
        primary |= _forced(forced, values.shape)
    total = int(values.sum())
    total_small = bool(suppress_small_cells(np.array([total]), k, suppress_zero=suppress_zero)[0])
    n = values.size
    edges = _Edges(
        u=np.append(np.zeros(n, np.int64), 1),
        v=np.append(np.ones(n, np.int64), 0),
        value=np.append(values.astype(np.int64), total),
        is_margin=np.append(np.zeros(n, np.bool_), True),
        hidden=np.append(primary, total_small),
        protect=np.append(primary, total_small),
    )
    _protect(edges, 2, _processing_order(edges))
    cells = np.array(edges.hidden[:n], dtype=np.bool_)
    return ListSuppression(cells=cells, total=edges.hidden[n], primary=primary)


def suppress_with_margins(
    counts: npt.ArrayLike,
    k: int = DEFAULT_MIN_CELL,
    *,
    suppress_zero: bool = False,
    forced: npt.ArrayLike | None = None,
    margins_published: bool = True,
) -> TableSuppression:
    """Primary and complementary suppression of a 2-D table with row, column and grand totals.

    Small margins are hidden like small cells. ``forced`` marks cells to hide whatever their
    count (for example, hidden in another release). With ``margins_published=False`` no margin
    is released: the margins start withheld (``rows``, ``cols`` and ``total`` all True) and
    protect the cells for free; a withheld margin that is not small may still equal the sum of
    released cells, which discloses nothing.
    """
    values = _counts(counts, "counts")
    if values.ndim != 2:
        raise ValueError(f"suppress_with_margins: counts must be 2-D; got shape {values.shape}")
    n_rows, n_cols = values.shape
    primary = suppress_small_cells(values, k, suppress_zero=suppress_zero)
    if forced is not None:
        primary |= _forced(forced, values.shape)
    row_totals = values.sum(axis=1)
    col_totals = values.sum(axis=0)
    grand = int(values.sum())
    small_rows = suppress_small_cells(row_totals, k, suppress_zero=suppress_zero)
    small_cols = suppress_small_cells(col_totals, k, suppress_zero=suppress_zero)
    small_grand = bool(suppress_small_cells(np.array([grand]), k, suppress_zero=suppress_zero)[0])
    withheld = not margins_published
    # Nodes: rows 0..R-1, columns R..R+C-1, T = R+C (row totals meet), S = R+C+1.
    t_node, s_node = n_rows + n_cols, n_rows + n_cols + 1
    n_cells = n_rows * n_cols
    rows_at, cols_at = np.arange(n_rows, dtype=np.int64), np.arange(n_cols, dtype=np.int64)
    margin_hidden = np.concatenate([small_rows, small_cols, [small_grand]]).astype(np.bool_)
    edges = _Edges(
        u=np.concatenate([np.repeat(rows_at, n_cols), rows_at, n_rows + cols_at, [t_node]]),
        v=np.concatenate(
            [
                n_rows + np.tile(cols_at, n_rows),
                np.full(n_rows, t_node, np.int64),
                np.full(n_cols, s_node, np.int64),
                [s_node],
            ]
        ),
        value=np.concatenate([values.ravel(), row_totals, col_totals, [grand]]).astype(np.int64),
        is_margin=np.concatenate(
            [np.zeros(n_cells, np.bool_), np.ones(len(margin_hidden), np.bool_)]
        ),
        hidden=np.concatenate([primary.ravel(), margin_hidden | withheld]),
        protect=np.concatenate([primary.ravel(), margin_hidden]),
    )
    _protect(edges, n_rows + n_cols + 2, _processing_order(edges))
    hidden = np.array(edges.hidden, dtype=np.bool_)
    cells = hidden[:n_cells].reshape(values.shape)
    rows = hidden[n_cells : n_cells + n_rows]
    cols = hidden[n_cells + n_rows : -1]
    return TableSuppression(
        cells=cells, rows=rows, cols=cols, total=bool(hidden[-1]), primary=primary
    )


def _processing_order(edges: _Edges) -> list[int]:
    """Edges to protect, margins first (they need the longest detours), then in table order."""
    protect = np.array(edges.protect, dtype=np.bool_)
    margin = np.array(edges.is_margin, dtype=np.bool_)
    return [*np.flatnonzero(protect & margin).tolist(), *np.flatnonzero(protect & ~margin).tolist()]


# ---------------------------------------------------------------------------------------------
# Long-format aggregate tables


def suppress_table(
    table: pa.Table,
    k: int = DEFAULT_MIN_CELL,
    row_dim: str = "area",
    col_dim: str = "period",
    group_dims: Sequence[str] = (),
    *,
    count_column: str = "count",
    suppress_zero: bool = False,
    with_margins: bool = False,
    margins_published: bool = True,
) -> pa.Table:
    """Suppress a long aggregate table: ``count`` null where hidden, plus ``suppressed``.

    Each combination of ``group_dims`` (e.g. per syndrome) is its own ``row_dim`` x ``col_dim``
    table with its margins; a combination absent from the input counts as a released zero.
    Released rows keep their count unchanged and their order. With ``with_margins=True`` the
    row, column and grand totals are appended (the summed-over dimension null) and a
    ``margin`` column tells them apart: publish totals only from this output. With
    ``suppress_zero=True`` absent combinations are appended as hidden rows, so that absence
    never reveals a zero.
    """
    for name in (row_dim, col_dim, *group_dims, count_column):
        if name not in table.column_names:
            raise ValueError(
                f"suppress_table: column {name!r} not in table (columns: "
                f"{', '.join(table.column_names)})"
            )
    if len({row_dim, col_dim, *group_dims}) != 2 + len(group_dims):
        raise ValueError("suppress_table: row_dim, col_dim and group_dims must be distinct")
    counts = table.column(count_column)
    if counts.null_count:
        first = pc.index(pc.is_null(counts), True).as_py()
        raise ValueError(f"suppress_table: {count_column!r} is null in row {first + 1}")
    values = _counts(counts.to_numpy(), count_column)

    row_codes, row_values = _codes(table.column(row_dim))
    col_codes, col_values = _codes(table.column(col_dim))
    group_codes, group_keys = _group_codes(table, group_dims)
    n_rows, n_cols = len(row_values), len(col_values)

    hidden = np.zeros(table.num_rows, dtype=np.bool_)
    extra: list[dict[str, object]] = []
    for g, key in enumerate(group_keys):
        members = np.flatnonzero(group_codes == g)
        grid = np.zeros((n_rows, n_cols), dtype=np.int64)
        present = np.zeros((n_rows, n_cols), dtype=np.bool_)
        for r in members:
            i, j = row_codes[r], col_codes[r]
            if present[i, j]:
                raise ValueError(
                    f"suppress_table: two rows for {row_dim}={row_values[i]!r}, "
                    f"{col_dim}={col_values[j]!r}"
                    + "".join(f", {d}={v!r}" for d, v in zip(group_dims, key, strict=True))
                    + f" (second is row {r + 1}); aggregate before suppressing"
                )
            present[i, j] = True
            grid[i, j] = values[r]
        plan = suppress_with_margins(
            grid, k, suppress_zero=suppress_zero, margins_published=margins_published
        )
        hidden[members] = plan.cells[row_codes[members], col_codes[members]]
        base = dict(zip(group_dims, key, strict=True))
        if suppress_zero:
            for i, j in np.argwhere(plan.cells & ~present):
                extra.append(
                    {
                        **base,
                        row_dim: row_values[i],
                        col_dim: col_values[j],
                        "_count": None,
                        "_hidden": True,
                        "_margin": "cell",
                    }
                )
        if with_margins:
            for i in range(n_rows):
                extra.append(
                    {
                        **base,
                        row_dim: row_values[i],
                        col_dim: None,
                        "_margin": "row",
                        "_count": None if plan.rows[i] else int(grid[i].sum()),
                        "_hidden": bool(plan.rows[i]),
                    }
                )
            for j in range(n_cols):
                extra.append(
                    {
                        **base,
                        row_dim: None,
                        col_dim: col_values[j],
                        "_margin": "column",
                        "_count": None if plan.cols[j] else int(grid[:, j].sum()),
                        "_hidden": bool(plan.cols[j]),
                    }
                )
            extra.append(
                {
                    **base,
                    row_dim: None,
                    col_dim: None,
                    "_margin": "total",
                    "_count": None if plan.total else int(grid.sum()),
                    "_hidden": plan.total,
                }
            )

    count_type = counts.type
    masked = pa.array(np.where(hidden, 0, values), type=count_type, mask=hidden)
    position = table.column_names.index(count_column)
    result = table.set_column(position, count_column, masked)
    result = result.append_column(SUPPRESSED_COLUMN, pa.array(hidden, type=pa.bool_()))
    if with_margins:
        result = result.append_column(
            MARGIN_COLUMN, pa.array(["cell"] * table.num_rows, type=pa.string())
        )
    if not extra:
        return result
    columns: dict[str, pa.Array] = {}
    for field in result.schema:
        if field.name == count_column:
            columns[field.name] = pa.array([row["_count"] for row in extra], type=count_type)
        elif field.name == SUPPRESSED_COLUMN:
            columns[field.name] = pa.array([row["_hidden"] for row in extra], type=pa.bool_())
        elif field.name == MARGIN_COLUMN:
            columns[field.name] = pa.array([row["_margin"] for row in extra], type=pa.string())
        else:
            columns[field.name] = pa.array([row.get(field.name) for row in extra], type=field.type)
    appended = pa.table(columns, schema=result.schema)
    return pa.concat_tables([result, appended])


def _codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[object]]:
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    values = encoded.dictionary.to_pylist()
    order = sorted(range(len(values)), key=lambda v: (values[v] is None, _sort_key(values[v])))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    return codes, [values[v] for v in order]


def _sort_key(value: object) -> tuple[str, str]:
    return (type(value).__name__, str(value))


def _group_codes(
    table: pa.Table, group_dims: Sequence[str]
) -> tuple[npt.NDArray[np.int64], list[tuple[object, ...]]]:
    if not group_dims:
        return np.zeros(table.num_rows, dtype=np.int64), [()]
    per_dim = [_codes(table.column(d)) for d in group_dims]
    stacked = np.stack([codes for codes, _ in per_dim], axis=1)
    distinct, inverse = np.unique(stacked, axis=0, return_inverse=True)
    keys = [tuple(per_dim[d][1][int(code)] for d, code in enumerate(row)) for row in distinct]
    return inverse.reshape(-1).astype(np.int64), keys


def _counts(counts: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    values = np.asarray(counts)
    if values.dtype == np.bool_ or not (
        np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)
    ):
        raise ValueError(f"{name}: expected integer counts; got dtype {values.dtype}")
    if np.issubdtype(values.dtype, np.floating):
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            where = tuple(int(x) for x in np.argwhere(bad)[0])
            raise ValueError(f"{name}: value {values[where]} at {where} is not a whole count")
    if (values < 0).any():
        where = tuple(int(x) for x in np.argwhere(values < 0)[0])
        raise ValueError(f"{name}: value {values[where]} at {where} is negative")
    return values.astype(np.int64)


def _forced(forced: npt.ArrayLike, shape: tuple[int, ...]) -> BoolArray:
    mask = np.asarray(forced, dtype=np.bool_)
    if mask.shape != shape:
        raise ValueError(f"forced has shape {mask.shape}; the counts have shape {shape}")
    return mask


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"minimum cell size k must be an integer >= 1; got {k!r}")
