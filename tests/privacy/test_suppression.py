"""Small-cell and complementary suppression: nothing small released, nothing recoverable."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wellbeat.privacy.suppression import (
    DEFAULT_MIN_CELL,
    UNRELIABLE_BELOW,
    MarginMask,
    recoverable_cells,
    suppress_list,
    suppress_small_cells,
    suppress_table,
    suppress_with_margins,
    unreliable_rate,
)


def no_margins(n_rows: int, n_cols: int) -> MarginMask:
    return MarginMask(np.zeros(n_rows, bool), np.zeros(n_cols, bool), False)


def test_primary_suppression_hides_1_to_k_minus_1_and_publishes_zero() -> None:
    counts = np.array([0, 1, 5, 9, 10, 250])
    assert suppress_small_cells(counts, 10).tolist() == [False, True, True, True, False, False]
    with_zero = suppress_small_cells(counts, 10, suppress_zero=True)
    assert with_zero.tolist() == [True, True, True, True, False, False]
    assert DEFAULT_MIN_CELL == 10
    with pytest.raises(ValueError, match="at \\(1,\\) is negative"):
        suppress_small_cells([3, -1], 10)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        suppress_small_cells([3], 0)


def test_rates_on_fewer_than_20_are_unreliable() -> None:
    assert UNRELIABLE_BELOW == 20
    assert unreliable_rate([0, 19, 20, 300]).tolist() == [True, True, False, False]


def test_a_lone_hidden_cell_in_a_row_is_recoverable_from_the_total() -> None:
    table = np.array([[3, 20], [30, 40]])
    hidden = np.array([[True, False], [False, False]])
    assert recoverable_cells(table, hidden, None) == {(0, 0)}
    # Withholding row 0's total is not enough: column 0's total still gives it away.
    margins = MarginMask(np.array([True, False]), np.zeros(2, bool), False)
    assert recoverable_cells(table, hidden, margins) == {(0, 0), (0, 2)}


def test_two_hidden_per_row_and_column_is_not_enough() -> None:
    # Two 2x2 blocks of hidden cells joined by one hidden cell (0, 2): every row and column
    # with a hidden cell has at least two, yet (0, 2) is a bridge and is determined.
    hidden = np.zeros((4, 4), bool)
    hidden[:2, :2] = True
    hidden[2:, 2:] = True
    hidden[0, 2] = True
    table = np.full((4, 4), 50)
    assert hidden.sum(axis=0).min() >= 2 and hidden.sum(axis=1).min() >= 2
    assert recoverable_cells(table, hidden, None) == {(0, 2)}
    plan = suppress_with_margins(table, 10, forced=hidden)
    assert recoverable_cells(table, plan.cells, plan.margins) == set()
    assert (plan.cells >= hidden).all()


def test_complements_are_the_smallest_cells_that_close_a_cycle() -> None:
    table = np.array([[3, 20, 30], [15, 40, 90], [50, 60, 70]])
    plan = suppress_with_margins(table, 10)
    assert plan.primary.sum() == 1
    # The cheapest rectangle through (0, 0): 20 + 15 + 40.
    assert np.argwhere(plan.cells).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert not plan.rows.any() and not plan.cols.any() and not plan.total


def test_small_margins_are_hidden_and_protected() -> None:
    table = np.array([[2, 3, 0], [40, 50, 60]])
    plan = suppress_with_margins(table, 10)
    assert plan.rows.tolist()[0] is True  # row total 5
    assert recoverable_cells(table, plan.cells, plan.margins) == set()
    one_row = suppress_with_margins(np.array([[4, 30, 70]]), 10)
    assert recoverable_cells(np.zeros((1, 3)), one_row.cells, one_row.margins) == set()


def test_list_with_total_hides_a_second_cell() -> None:
    plan = suppress_list([3, 50, 12, 0], 10)
    assert plan.cells.tolist() == [True, False, True, False]
    assert not plan.total
    assert recoverable_cells(np.zeros(4), plan.cells, plan.total) == set()
    assert recoverable_cells(np.zeros(2), np.array([True, False]), False) == {(0,)}
    small = suppress_list([3, 4, 0], 10)
    assert small.total and recoverable_cells(np.zeros(3), small.cells, small.total) == set()


def test_withheld_margins_protect_for_free() -> None:
    table = np.array([[3, 20], [30, 40]])
    plan = suppress_with_margins(table, 10, margins_published=False)
    assert plan.cells.tolist() == [[True, False], [False, False]]
    assert plan.rows.all() and plan.cols.all() and plan.total
    # Only totals of released cells can be worked out; the hidden 3 cannot.
    assert recoverable_cells(table, plan.cells, plan.margins) == {(1, 2), (2, 1)}


# --- Property tests ---------------------------------------------------------------------------

small_counts = st.one_of(st.integers(0, 12), st.integers(0, 60))
tables = st.tuples(st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=small_counts)
)


def _bridges(n_rows: int, n_cols: int, hidden: np.ndarray, margins: MarginMask) -> set:
    """Hidden values that are bridges of the graph of hidden edges (independent of the SVD)."""
    t, s = n_rows + n_cols, n_rows + n_cols + 1
    edges = [((i, n_rows + j), (i, j)) for i, j in np.argwhere(hidden)]
    edges += [((i, t), (i, n_cols)) for i in range(n_rows) if margins.rows[i]]
    edges += [((n_rows + j, s), (n_rows, j)) for j in range(n_cols) if margins.cols[j]]
    if margins.total:
        edges.append(((t, s), (n_rows, n_cols)))
    found = set()
    for skip, ((a, b), pos) in enumerate(edges):
        seen, queue = {a}, deque([a])
        while queue:
            node = queue.popleft()
            for other, ((x, y), _) in enumerate(edges):
                if other == skip or node not in (x, y):
                    continue
                nxt = y if node == x else x
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        if b not in seen:
            found.add(tuple(int(v) for v in pos))
    return found


@settings(max_examples=150, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    data=st.data(),
)
def test_linear_algebra_check_equals_bridges_of_the_hidden_graph(
    shape: tuple[int, int], data: st.DataObject
) -> None:
    n_rows, n_cols = shape
    hidden = data.draw(arrays(bool, shape))
    margins = MarginMask(
        data.draw(arrays(bool, (n_rows,))),
        data.draw(arrays(bool, (n_cols,))),
        data.draw(st.booleans()),
    )
    expected = _bridges(n_rows, n_cols, hidden, margins)
    assert recoverable_cells(np.zeros(shape), hidden, margins) == expected


@settings(max_examples=200, deadline=None)
@given(
    table=tables,
    k=st.integers(1, 12),
    suppress_zero=st.booleans(),
    margins_published=st.booleans(),
)
def test_table_suppression_releases_nothing_small_or_recoverable(
    table: np.ndarray, k: int, suppress_zero: bool, margins_published: bool
) -> None:
    plan = suppress_with_margins(
        table, k, suppress_zero=suppress_zero, margins_published=margins_published
    )
    low = 0 if suppress_zero else 1
    released = table[~plan.cells]
    assert not ((released >= low) & (released <= k - 1)).any()
    for totals, hidden in ((table.sum(axis=1), plan.rows), (table.sum(axis=0), plan.cols)):
        shown = totals[~hidden]
        assert not ((shown >= low) & (shown <= k - 1)).any()
    if not plan.total:
        assert not (low <= table.sum() <= k - 1)
    recovered = recoverable_cells(table, plan.cells, plan.margins)
    if margins_published:
        assert recovered == set()
    else:
        # Unpublished margins may equal sums of released cells; no hidden cell is recoverable
        # and neither is any small margin.
        n_rows, n_cols = table.shape
        for i, j in recovered:
            assert i == n_rows or j == n_cols
            total = (
                table.sum()
                if (i, j) == (n_rows, n_cols)
                else (table[i].sum() if j == n_cols else table[:, j].sum())
            )
            assert not (low <= total <= k - 1)
    assert (plan.cells >= plan.primary).all()
    # Complements are never released zeros.
    assert (table[plan.cells & ~plan.primary] > 0).all()
    again = suppress_with_margins(
        table, k, suppress_zero=suppress_zero, margins_published=margins_published
    )
    assert np.array_equal(again.cells, plan.cells)
    assert np.array_equal(again.rows, plan.rows) and np.array_equal(again.cols, plan.cols)


@settings(max_examples=150, deadline=None)
@given(
    counts=arrays(np.int64, st.integers(1, 8), elements=small_counts),
    k=st.integers(1, 12),
    suppress_zero=st.booleans(),
)
def test_list_suppression_releases_nothing_small_or_recoverable(
    counts: np.ndarray, k: int, suppress_zero: bool
) -> None:
    plan = suppress_list(counts, k, suppress_zero=suppress_zero)
    low = 0 if suppress_zero else 1
    released = counts[~plan.cells]
    assert not ((released >= low) & (released <= k - 1)).any()
    if not plan.total:
        assert not (low <= counts.sum() <= k - 1)
    assert recoverable_cells(counts, plan.cells, plan.total) == set()
    assert plan.cells.sum() != 1 or plan.total


# --- Long-format tables -----------------------------------------------------------------------


def _long(grid: np.ndarray, syndrome: str, skip_zeros: bool = False) -> list[dict]:
    return [
        {"syndrome": syndrome, "area": f"A{i}", "week": j, "count": int(grid[i, j])}
        for i in range(grid.shape[0])
        for j in range(grid.shape[1])
        if not (skip_zeros and grid[i, j] == 0)
    ]


def _grids(result: pa.Table) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for row in result.to_pylist():
        if row.get("margin", "cell") != "cell":
            continue
        grid = out.setdefault(row["syndrome"], np.zeros((3, 4), bool))
        grid[int(row["area"][1:]), row["week"]] = row["suppressed"]
    return out


def test_suppress_table_suppresses_each_group_with_its_margins() -> None:
    overdose = np.array([[3, 20, 30, 11], [15, 40, 90, 12], [50, 60, 70, 13]])
    self_harm = np.array([[30, 20, 30, 11], [15, 40, 90, 12], [50, 60, 70, 13]])
    rows = _long(overdose, "overdose") + _long(self_harm, "self_harm")
    table = pa.Table.from_pylist(rows)
    result = suppress_table(table, 10, "area", "week", ["syndrome"])
    assert result.num_rows == table.num_rows
    assert result.column_names == [*table.column_names, "suppressed"]
    assert not any(r["suppressed"] for r in result.to_pylist() if r["syndrome"] == "self_harm")
    for before, after in zip(rows, result.to_pylist(), strict=True):
        if after["suppressed"]:
            assert after["count"] is None
        else:
            assert after["count"] == before["count"]
    hidden = _grids(result)["overdose"]
    assert hidden[0, 0]
    assert recoverable_cells(overdose, hidden, None) == set()


def test_suppress_table_with_margins_publishes_only_safe_totals() -> None:
    grid = np.array([[2, 3, 0, 0], [40, 50, 60, 10], [11, 12, 13, 14]])
    table = pa.Table.from_pylist(_long(grid, "overdose", skip_zeros=True))
    result = suppress_table(table, 10, "area", "week", ["syndrome"], with_margins=True)
    margins = [r for r in result.to_pylist() if r["margin"] != "cell"]
    assert len(margins) == 3 + 4 + 1
    row0 = next(r for r in margins if r["margin"] == "row" and r["area"] == "A0")
    assert row0["suppressed"] and row0["count"] is None
    total = next(r for r in margins if r["margin"] == "total")
    assert total["count"] == int(grid.sum()) and total["area"] is None and total["week"] is None
    for r in margins:
        if not r["suppressed"]:
            assert r["count"] >= 10 or r["count"] == 0


def test_suppress_table_with_suppress_zero_adds_hidden_rows_for_absent_zeros() -> None:
    grid = np.array([[2, 30, 0], [40, 0, 60]])
    table = pa.Table.from_pylist(_long(grid, "overdose", skip_zeros=True))
    result = suppress_table(table, 10, "area", "week", suppress_zero=True)
    assert result.num_rows > table.num_rows
    added = result.slice(table.num_rows).to_pylist()
    assert all(r["suppressed"] and r["count"] is None for r in added)


def test_suppress_table_reports_bad_input() -> None:
    table = pa.table({"area": ["A", "A"], "week": [1, 1], "count": [5, 7]})
    with pytest.raises(ValueError, match=r"two rows for area='A', week=1 .*row 2"):
        suppress_table(table, 10, "area", "week")
    with pytest.raises(ValueError, match="column 'syndrome' not in table"):
        suppress_table(table, 10, "area", "week", ["syndrome"])
    nulls = pa.table({"area": ["A"], "week": [1], "count": pa.array([None], pa.int64())})
    with pytest.raises(ValueError, match="null in row 1"):
        suppress_table(nulls, 10, "area", "week")


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    k=st.integers(2, 11),
    n_groups=st.integers(1, 3),
)
def test_suppress_table_property(data: st.DataObject, k: int, n_groups: int) -> None:
    rows = []
    grids = {}
    for g in range(n_groups):
        grid = data.draw(arrays(np.int64, (3, 4), elements=small_counts))
        grids[f"s{g}"] = grid
        rows += _long(grid, f"s{g}", skip_zeros=data.draw(st.booleans()))
    if not rows:
        return
    table = pa.Table.from_pylist(rows)
    result = suppress_table(table, k, "area", "week", ["syndrome"])
    for before, after in zip(rows, result.to_pylist(), strict=True):
        if after["suppressed"]:
            assert after["count"] is None
        else:
            assert after["count"] == before["count"]
            assert not (1 <= after["count"] <= k - 1)
    for name, hidden in _grids(result).items():
        grid = grids[name]
        present_areas = {int(r["area"][1:]) for r in rows}
        present_weeks = {r["week"] for r in rows}
        sub = grid[np.ix_(sorted(present_areas), sorted(present_weeks))]
        sub_hidden = hidden[np.ix_(sorted(present_areas), sorted(present_weeks))]
        primary = suppress_small_cells(sub, k)
        assert (sub_hidden >= primary).all()
