"""Invariants of the detectors on arbitrary count series (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wellbeat.analytics.aberration import cusum, ears, farrington, farrington_flexible
from wellbeat.analytics.aberration.nssp import ewma

counts = arrays(
    np.int64, st.tuples(st.integers(2, 4), st.integers(40, 80)), elements=st.integers(0, 30)
)


@settings(max_examples=40, deadline=None)
@given(counts, st.sampled_from(["C1", "C2", "C3"]))
def test_ears_alarm_is_strictly_above_the_bound(matrix: np.ndarray, method: str) -> None:
    result = ears(matrix, method=method)  # type: ignore[arg-type]
    finite = np.isfinite(result.upperbound)
    assert np.array_equal(result.alarm[finite], (result.observed > result.upperbound)[finite])
    assert not result.alarm[~finite].any()


@settings(max_examples=40, deadline=None)
@given(counts)
def test_each_series_is_detected_as_if_alone(matrix: np.ndarray) -> None:
    """Vectorising over series never changes a series' result."""
    together = [ears(matrix, method="C2"), cusum(matrix, range_=range(30, 41)), ewma(matrix)]
    for row in range(matrix.shape[0]):
        alone = [
            ears(matrix[row], method="C2"),
            cusum(matrix[row], range_=range(30, 41)),
            ewma(matrix[row]),
        ]
        for both, single in zip(together, alone, strict=True):
            np.testing.assert_array_equal(both.alarm[row], single.alarm[0])
            np.testing.assert_allclose(both.upperbound[row], single.upperbound[0], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(counts, st.floats(0.1, 2.0), st.floats(0.5, 5.0))
def test_cusum_never_resets_and_alarms_at_h(matrix: np.ndarray, k: float, h: float) -> None:
    result = cusum(matrix + 1, range_=range(20, matrix.shape[1] + 1), k=k, h=h)
    assert np.all(result.score >= 0)
    assert np.array_equal(result.alarm, result.score >= h)


weekly = arrays(
    np.int64, st.tuples(st.integers(2, 3), st.just(3 * 52 + 20)), elements=st.integers(0, 12)
)


@settings(max_examples=10, deadline=None)
@given(weekly)
def test_farrington_alarms_need_cases_and_a_count_above_the_bound(matrix: np.ndarray) -> None:
    for detector in (farrington, farrington_flexible):
        result = detector(matrix, b=3, range_=range(3 * 52 + 5, matrix.shape[1] + 1))
        recent = np.stack([matrix[:, i - 4 : i].sum(axis=1) for i in result.index], axis=1)
        assert not result.alarm[recent < 5].any()
        alarmed = result.alarm
        assert np.all(result.observed[alarmed] > result.upperbound[alarmed])
        single = detector(matrix[:1], b=3, range_=range(3 * 52 + 5, matrix.shape[1] + 1))
        np.testing.assert_array_equal(single.alarm[0], result.alarm[0])
        np.testing.assert_allclose(single.upperbound[0], result.upperbound[0], rtol=1e-9)
