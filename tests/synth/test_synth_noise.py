"""Invariants of the identity noise, for any names and dates (Hypothesis)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wellbeat.synth.population import NAME_WIDTH, add_typos, transpose_dob

names = st.lists(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' -", min_size=0,
            max_size=NAME_WIDTH - 1),
    min_size=1, max_size=40,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(names, st.integers(0, 2**32 - 1))
def test_a_typo_changes_only_chosen_names_by_one_keystroke(values: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(values)) < 0.5
    noisy = add_typos(np.array(values, dtype=f"<U{NAME_WIDTH}"), chosen, rng)
    for before, after, picked in zip(values, noisy.tolist(), chosen, strict=True):
        if not picked or len(before) < 3:
            assert after == before
        else:
            assert _keystrokes(before, after) <= 1, (before, after)


def _keystrokes(a: str, b: str) -> int:
    """Optimal-string-alignment distance: edits, with swapping two neighbours as one edit."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


dates = st.lists(st.dates(date(1920, 1, 1), date(2010, 12, 31)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(dates, st.integers(0, 2**32 - 1))
@example([date(1996, 2, 29)], 0)  # the leap day that once became 1969-03-01
@example([date(1948, 2, 29), date(2000, 2, 29), date(1911, 11, 11)], 1)
def test_a_transposed_dob_is_a_real_date_with_the_same_digits(
    values: list[date], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    dob = np.array(values, dtype="datetime64[D]")
    chosen = np.ones(len(values), bool)
    noisy = transpose_dob(dob, chosen, rng)
    assert not np.isnat(noisy).any()
    for before, after in zip(dob.astype(str), noisy.astype(str), strict=True):
        assert sorted(before) == sorted(after)
    untouched = transpose_dob(dob, np.zeros(len(values), bool), rng)
    assert (untouched == dob).all()


@pytest.mark.parametrize(
    ("dob", "expected"),
    [
        # 1969 has no 29 February: no transposition keeps the digits, so the date stays.
        ("1996-02-29", "1996-02-29"),
        # 1984 is a leap year: the year's last digits transpose as for any other date.
        ("1948-02-29", "1984-02-29"),
        ("1996-02-28", "1969-02-28"),
    ],
)
def test_a_leap_day_is_transposed_only_into_a_leap_year(dob: str, expected: str) -> None:
    rng = np.random.default_rng(0)
    noisy = transpose_dob(np.array([dob], dtype="datetime64[D]"), np.ones(1, bool), rng)
    assert str(noisy[0]) == expected
