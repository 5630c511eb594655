"""The closed-loop referral lifecycle: FHIR R4 Task statuses, who may move a referral between
them, and which moves need a reason (Gravity SDOH Clinical Care IG, referral management).

The requester (the referring agency) drafts, sends, cancels, or marks a referral entered in
error; the performer (the agency running the service) accepts or rejects it, records first
contact (in-progress), puts it on hold, and closes it as completed or failed. Either side may
cancel an open referral. ``statusReason`` is required when a referral is rejected, cancelled,
put on hold, failed or entered in error.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class TaskStatus(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    FAILED = "failed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[TaskStatus, str] = {
    TaskStatus.DRAFT: "Draft",
    TaskStatus.REQUESTED: "Sent, awaiting the provider",
    TaskStatus.ACCEPTED: "Accepted by the provider",
    TaskStatus.REJECTED: "Declined by the provider",
    TaskStatus.IN_PROGRESS: "In contact / in progress",
    TaskStatus.ON_HOLD: "On hold",
    TaskStatus.FAILED: "Could not be completed",
    TaskStatus.COMPLETED: "Completed",
    TaskStatus.CANCELLED: "Cancelled",
    TaskStatus.ENTERED_IN_ERROR: "Entered in error",
}


class Side(StrEnum):
    """Which party acts on a referral."""

    REQUESTER = "requester"
    PERFORMER = "performer"


_R = frozenset({Side.REQUESTER})
_P = frozenset({Side.PERFORMER})
_EITHER = frozenset({Side.REQUESTER, Side.PERFORMER})

TRANSITIONS: dict[TaskStatus, dict[TaskStatus, frozenset[Side]]] = {
    TaskStatus.DRAFT: {
        TaskStatus.REQUESTED: _R,
        TaskStatus.CANCELLED: _R,
        TaskStatus.ENTERED_IN_ERROR: _R,
    },
    TaskStatus.REQUESTED: {
        TaskStatus.ACCEPTED: _P,
        TaskStatus.REJECTED: _P,
        TaskStatus.CANCELLED: _EITHER,
        TaskStatus.ENTERED_IN_ERROR: _R,
    },
    TaskStatus.ACCEPTED: {
        TaskStatus.IN_PROGRESS: _P,
        TaskStatus.FAILED: _P,
        TaskStatus.CANCELLED: _EITHER,
        TaskStatus.ENTERED_IN_ERROR: _R,
    },
    TaskStatus.IN_PROGRESS: {
        TaskStatus.ON_HOLD: _P,
        TaskStatus.FAILED: _P,
        TaskStatus.COMPLETED: _P,
        TaskStatus.CANCELLED: _EITHER,
        TaskStatus.ENTERED_IN_ERROR: _R,
    },
    TaskStatus.ON_HOLD: {
        TaskStatus.IN_PROGRESS: _P,
        TaskStatus.FAILED: _P,
        TaskStatus.CANCELLED: _EITHER,
        TaskStatus.ENTERED_IN_ERROR: _R,
    },
    TaskStatus.REJECTED: {TaskStatus.ENTERED_IN_ERROR: _R},
    TaskStatus.FAILED: {TaskStatus.ENTERED_IN_ERROR: _R},
    TaskStatus.COMPLETED: {TaskStatus.ENTERED_IN_ERROR: _R},
    TaskStatus.CANCELLED: {TaskStatus.ENTERED_IN_ERROR: _R},
    TaskStatus.ENTERED_IN_ERROR: {},
}
"""current status -> {next status: the sides that may make that move}."""

REASON_REQUIRED = frozenset(
    {
        TaskStatus.REJECTED,
        TaskStatus.CANCELLED,
        TaskStatus.ON_HOLD,
        TaskStatus.FAILED,
        TaskStatus.ENTERED_IN_ERROR,
    }
)
"""Statuses that need ``statusReason`` (Gravity: rejected, cancelled, on-hold, failed; wellbeat
adds entered-in-error so a withdrawn record always says why)."""

OPEN_STATUSES = frozenset(
    {
        TaskStatus.DRAFT,
        TaskStatus.REQUESTED,
        TaskStatus.ACCEPTED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.ON_HOLD,
    }
)
CLOSED_STATUSES = frozenset(TaskStatus) - OPEN_STATUSES
AWAITING_FIRST_CONTACT = frozenset({TaskStatus.REQUESTED, TaskStatus.ACCEPTED})


class TransitionError(ValueError):
    """A status change the lifecycle does not allow; ``code`` is forbidden, conflict or invalid."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_status(value: str, field: str = "status") -> TaskStatus:
    """A TaskStatus from its FHIR code; TransitionError (invalid) naming the allowed codes."""
    try:
        return TaskStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in TaskStatus)
        raise TransitionError(
            "invalid", f"field {field!r}: {value!r} is not a FHIR Task status ({allowed})"
        ) from None


def allowed_moves(current: TaskStatus, side: Side) -> list[TaskStatus]:
    """The statuses ``side`` may move a referral to from ``current``, in lifecycle order."""
    moves = TRANSITIONS[current]
    return [status for status in TaskStatus if side in moves.get(status, frozenset())]


def check_transition(current: TaskStatus, new: TaskStatus, side: Side, reason: str) -> None:
    """Raise TransitionError unless ``side`` may move ``current -> new`` with this reason."""
    moves = TRANSITIONS[current]
    if new not in moves:
        allowed = ", ".join(s.value for s in moves) or "none (final)"
        raise TransitionError(
            "conflict",
            f"a referral cannot go from {current.value} to {new.value} "
            f"(allowed from {current.value}: {allowed})",
        )
    if side not in moves[new]:
        who = " or ".join(sorted(s.value for s in moves[new]))
        raise TransitionError(
            "forbidden",
            f"only the {who} may move a referral from {current.value} to {new.value}",
        )
    if new in REASON_REQUIRED and not reason.strip():
        raise TransitionError(
            "invalid", f"field 'reason': a reason is required to mark a referral {new.value}"
        )


def first_contact_due(requested_at: datetime, promised_hours: int | None) -> datetime | None:
    """When the service promised first contact by, for a referral sent at ``requested_at``."""
    if promised_hours is None:
        return None
    return requested_at + timedelta(hours=promised_hours)


def is_overdue(
    status: TaskStatus,
    requested_at: datetime | None,
    first_contact_at: datetime | None,
    promised_hours: int | None,
    now: datetime,
) -> bool:
    """True when a sent referral still has no first contact past the service's promised time."""
    if status not in AWAITING_FIRST_CONTACT or first_contact_at is not None:
        return False
    if requested_at is None:
        return False
    due = first_contact_due(requested_at, promised_hours)
    return due is not None and now > due
