"""Framework-free alert detection: spikes at thresholds, aberrations with a minimum count,
stable signal keys and episodes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.analytics.alerts import (
    AlertConfigError,
    count_matrix,
    detect_aberrations,
    detect_spikes,
    group_episodes,
    neighbours_to_notify,
)

START = dt.date(2025, 1, 1)


def _matrix(counts: list[list[float]]):  # type: ignore[no-untyped-def]
    rows = [
        (f"a{i}", START + dt.timedelta(days=t), v)
        for i, row in enumerate(counts)
        for t, v in enumerate(row)
        if v
    ]
    n = len(counts[0])
    return count_matrix(
        "od",
        "nb",
        "day",
        rows,
        [f"a{i}" for i in range(len(counts))],
        START,
        START + dt.timedelta(days=n - 1),
    )


def test_spikes_use_each_areas_threshold_and_the_default() -> None:
    m = _matrix([[0, 4, 0], [0, 4, 5]])
    spikes = detect_spikes(m, {"a1": 5})
    assert [(s.area, s.period.day, s.threshold) for s in spikes] == [("a0", 2, 4), ("a1", 3, 5)]


def test_ears_c2_needs_the_minimum_count() -> None:
    quiet = [0.0] * 20
    one = [*quiet[:-1], 1.0]
    three = [*quiet[:-1], 3.0]
    m = _matrix([one, three])
    signals = detect_aberrations(m, "ears-c2")
    assert [(s.area, s.observed) for s in signals] == [("a1", 3.0)]
    assert len(detect_aberrations(m, "ears-c2", min_count=1)) == 2


def test_keys_are_stable_and_episodes_merge_close_days() -> None:
    m = _matrix([[0, 5, 5, 0, 0, 0, 5]])
    spikes = detect_spikes(m)
    assert spikes[0].key == "od|nb|a0|threshold|2025-01-02"
    episodes = group_episodes(spikes + spikes)  # duplicates collapse
    assert [[s.period.day for s in e] for e in episodes] == [[2, 3], [7]]


def test_gaps_and_bad_settings_are_named() -> None:
    with pytest.raises(AlertConfigError, match="consecutive"):
        from wellbeat.analytics.alerts import CountMatrix

        CountMatrix("od", "nb", "day", ("a",), (START, START + dt.timedelta(2)), np.zeros((1, 2)))
    with pytest.raises(AlertConfigError, match="method"):
        detect_aberrations(_matrix([[0.0] * 12]), "nonsense")


def test_neighbours_exclude_the_area_itself() -> None:
    assert neighbours_to_notify("b", {"b": ["c", "a", "b"]}) == ["a", "c"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=3, max_size=40), st.integers(1, 8))
def test_every_day_at_or_over_the_threshold_is_exactly_one_signal(
    counts: list[int], threshold: int
) -> None:
    m = _matrix([[float(c) for c in counts]])
    spikes = detect_spikes(m, default=threshold)
    assert [s.period for s in spikes] == [
        START + dt.timedelta(days=i) for i, c in enumerate(counts) if c >= threshold
    ]
    assert len({s.key for s in spikes}) == len(spikes)
    merged = [s for e in group_episodes(spikes) for s in e]
    assert sorted(s.key for s in merged) == sorted(s.key for s in spikes)
