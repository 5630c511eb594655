"""The FHIR Task lifecycle of a referral: allowed moves, who makes them, required reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wellbeat.care.lifecycle import (
    CLOSED_STATUSES,
    REASON_REQUIRED,
    TRANSITIONS,
    Side,
    TaskStatus,
    TransitionError,
    allowed_moves,
    check_transition,
    is_overdue,
    parse_status,
)

R, P = Side.REQUESTER, Side.PERFORMER


@pytest.mark.parametrize(
    ("current", "new", "side"),
    [
        ("draft", "requested", R),
        ("requested", "accepted", P),
        ("requested", "rejected", P),
        ("accepted", "in-progress", P),
        ("in-progress", "on-hold", P),
        ("on-hold", "in-progress", P),
        ("in-progress", "completed", P),
        ("in-progress", "failed", P),
        ("requested", "cancelled", R),
        ("accepted", "cancelled", P),
        ("completed", "entered-in-error", R),
    ],
)
def test_the_lifecycle_allows(current: str, new: str, side: Side) -> None:
    check_transition(TaskStatus(current), TaskStatus(new), side, "because")


@pytest.mark.parametrize(
    ("current", "new", "side", "code", "message"),
    [
        ("requested", "completed", P, "conflict", "cannot go from requested to completed"),
        ("requested", "accepted", R, "forbidden", "only the performer"),
        ("draft", "requested", P, "forbidden", "only the requester"),
        ("completed", "in-progress", P, "conflict", "allowed from completed: entered-in-error"),
        ("entered-in-error", "requested", R, "conflict", r"none \(final\)"),
        ("in-progress", "entered-in-error", P, "forbidden", "only the requester"),
    ],
)
def test_the_lifecycle_refuses(current: str, new: str, side: Side, code: str, message: str) -> None:
    with pytest.raises(TransitionError, match=message) as caught:
        check_transition(TaskStatus(current), TaskStatus(new), side, "because")
    assert caught.value.code == code


@pytest.mark.parametrize("status", sorted(REASON_REQUIRED))
def test_a_reason_is_required_where_the_lifecycle_says(status: TaskStatus) -> None:
    current = next(c for c, moves in TRANSITIONS.items() if status in moves)
    side = next(iter(TRANSITIONS[current][status]))
    with pytest.raises(TransitionError, match="field 'reason'") as caught:
        check_transition(current, status, side, "   ")
    assert caught.value.code == "invalid"


def test_unknown_status_lists_the_fhir_codes() -> None:
    with pytest.raises(TransitionError, match=r"not a FHIR Task status .*in-progress"):
        parse_status("done")


def test_allowed_moves_per_side() -> None:
    assert allowed_moves(TaskStatus.REQUESTED, P) == [
        TaskStatus.ACCEPTED,
        TaskStatus.REJECTED,
        TaskStatus.CANCELLED,
    ]
    assert allowed_moves(TaskStatus.REQUESTED, R) == [
        TaskStatus.CANCELLED,
        TaskStatus.ENTERED_IN_ERROR,
    ]


@given(
    st.lists(st.tuples(st.sampled_from(list(TaskStatus)), st.sampled_from(list(Side))), max_size=25)
)
def test_random_walks_never_reopen_a_closed_referral(steps: list[tuple[TaskStatus, Side]]) -> None:
    status = TaskStatus.DRAFT
    for new, side in steps:
        try:
            check_transition(status, new, side, "reason")
        except TransitionError:
            continue
        if status in CLOSED_STATUSES:
            assert new is TaskStatus.ENTERED_IN_ERROR and side is Side.REQUESTER
        if new is TaskStatus.COMPLETED:
            assert status is TaskStatus.IN_PROGRESS and side is Side.PERFORMER
        status = new


def test_overdue_when_no_first_contact_within_the_promise() -> None:
    sent = datetime(2025, 7, 1, 9, tzinfo=UTC)
    assert not is_overdue(TaskStatus.REQUESTED, sent, None, 48, sent + timedelta(hours=47))
    assert is_overdue(TaskStatus.REQUESTED, sent, None, 48, sent + timedelta(hours=49))
    assert is_overdue(TaskStatus.ACCEPTED, sent, None, 48, sent + timedelta(hours=49))
    assert not is_overdue(TaskStatus.IN_PROGRESS, sent, sent, 48, sent + timedelta(hours=49))
    assert not is_overdue(TaskStatus.CANCELLED, sent, None, 48, sent + timedelta(hours=49))
    assert not is_overdue(TaskStatus.REQUESTED, sent, None, None, sent + timedelta(days=30))
