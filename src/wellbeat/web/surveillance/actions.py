"""Every surveillance state change: raising and extending alerts, the lifecycle transitions,
spike thresholds and subscriptions. Each action owns its transaction and writes the audit row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from wellbeat.analytics.alerts import Signal, episode_of
from wellbeat.governance import DataRequest, Refusal
from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.audit.actions import record
from wellbeat.web.errors import ActionError
from wellbeat.web.governance.service import decide, requester_for_user
from wellbeat.web.surveillance.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertSignal,
    AlertStatus,
    Channel,
    SpikeThreshold,
    Subscription,
)
from wellbeat.web.surveillance.watchlist import WATCHED

ALERT_RAISED = "alert.raised"
ALERT_EXTENDED = "alert.extended"
ALERT_ACKNOWLEDGED = "alert.acknowledged"
ALERT_INVESTIGATING = "alert.investigating"
ALERT_CLOSED = "alert.closed"
THRESHOLD_SET = "alert.threshold_set"
SUBSCRIPTION_CREATED = "subscription.created"
SUBSCRIPTION_DELETED = "subscription.deleted"

JOB_LABEL = "job:alerts"

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "acknowledged": ("new",),
    "investigating": ("new", "acknowledged"),
    "closed": ("new", "acknowledged", "investigating"),
}
"""Target status -> the statuses it may be reached from."""


class AlertError(ActionError):
    """A refused surveillance action; ``code`` is forbidden, conflict, invalid or not_found."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


# -- who sees what ------------------------------------------------------------------------------


def alert_request(alert: Alert) -> DataRequest:
    """The governed request behind an alert: its indicator's events of the agencies that made
    the signal, at the alert's layer and period."""
    watched = WATCHED.get(alert.indicator)
    return DataRequest(
        kind="aggregate",
        agencies=tuple(alert.agencies) or None,
        syndromes=watched.syndromes if watched else None,
        sectors=watched.sectors if watched else None,
        kinds=watched.kinds if watched else None,
        area_layer=alert.layer or None,
        period=watched.period if watched else "day",
    )


def can_see(user: User, alert: Alert, cache: dict[tuple[object, ...], bool] | None = None) -> bool:
    """Whether ``user`` may see ``alert``: data-quality alerts go to the source's agency
    admins (and hub admins); any other alert needs the user's agreements (or own agency) to
    allow reading that indicator's data of every contributing agency at the alert's layer."""
    if not user.is_active or user.agency_id is None:
        return False
    if alert.kind == AlertKind.DATA_QUALITY:
        return user.has_role(Role.HUB_ADMIN) or (
            user.has_role(Role.AGENCY_ADMIN) and user.agency_id == alert.source_agency_id
        )
    if not alert.agencies:
        return False
    key = (user.pk, alert.indicator, alert.layer, alert.purpose, tuple(alert.agencies))
    if cache is not None and key in cache:
        return cache[key]
    decision = decide(requester_for_user(user), alert.purpose, alert_request(alert))
    allowed = not isinstance(decision, Refusal)
    if cache is not None:
        cache[key] = allowed
    return allowed


def visible_alerts(user: User, alerts: Iterable[Alert]) -> list[Alert]:
    cache: dict[tuple[object, ...], bool] = {}
    return [a for a in alerts if can_see(user, a, cache)]


def _require_visible(actor: User, alert: Alert) -> None:
    if not can_see(actor, alert):
        raise AlertError("not_found", f"alert {alert.pk} does not exist or is not yours to see")


def _history(alert: Alert, action: str, actor: User | None, note: str = "") -> None:
    AlertEvent.objects.create(
        alert=alert, action=action.removeprefix("alert."), actor=actor, note=note
    )
    record(
        action,
        actor=actor,
        agency=actor.agency if actor is not None else alert.source_agency,
        target=f"alert:{alert.pk}",
        details={
            "indicator": alert.indicator,
            "area": alert.area,
            "method": alert.method,
            "status": alert.status,
            **({"note": note} if note else {}),
        },
        actor_label="" if actor is not None else JOB_LABEL,
    )


# -- raising ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalContext:
    """What the job knows about a signal beyond its numbers: who contributed, where it is."""

    label: str
    purpose: str
    agencies: Sequence[str]
    area_name: str
    neighbours: Sequence[str]


@dataclass
class RaiseOutcome:
    raised: list[Alert]
    extended: list[Alert]
    duplicates: int


def _describe(signal: Signal, label: str, area_name: str) -> str:
    where = area_name or signal.area
    if signal.kind == "spike":
        return (
            f"{label}: {signal.observed:.0f} in one day in {where} on {signal.period} "
            f"(threshold {signal.threshold})"
        )
    return f"{label} above the {signal.method} upper bound in {where} on {signal.period}"


def do_raise_signals(
    signals: Sequence[Signal], context: Mapping[str, SignalContext]
) -> RaiseOutcome:
    """Fold signals into alerts: a signal already recorded (same key) is skipped; one close
    to an open alert of the same indicator, area and method extends it; any other opens a new
    alert. ``context`` is keyed by signal key."""
    outcome = RaiseOutcome([], [], 0)
    known = set(
        AlertSignal.objects.filter(key__in=[s.key for s in signals]).values_list("key", flat=True)
    )
    for signal in sorted(signals, key=lambda s: (s.period, s.key)):
        if signal.key in known:
            outcome.duplicates += 1
            continue
        info = context[signal.key]
        with transaction.atomic():
            open_alerts = Alert.objects.select_for_update().filter(
                indicator=signal.indicator,
                layer=signal.layer,
                area=signal.area,
                method=signal.method,
                status__in=[s for s in AlertStatus.values if s != AlertStatus.CLOSED],
            )
            alert = next(
                (
                    a
                    for a in open_alerts
                    if episode_of(a.last_signal_on, signal.period)
                    or a.started_on <= signal.period <= a.last_signal_on
                ),
                None,
            )
            if alert is None:
                alert = Alert.objects.create(
                    kind=AlertKind.SPIKE if signal.kind == "spike" else AlertKind.ABERRATION,
                    indicator=signal.indicator,
                    indicator_label=info.label,
                    purpose=info.purpose,
                    layer=signal.layer,
                    area=signal.area,
                    area_name=info.area_name,
                    neighbours=list(info.neighbours),
                    method=signal.method,
                    agencies=sorted(set(info.agencies)),
                    started_on=signal.period,
                    last_signal_on=signal.period,
                    observed=signal.observed,
                    expected=signal.expected,
                    upperbound=signal.upperbound,
                    threshold=signal.threshold,
                    summary=_describe(signal, info.label, info.area_name),
                )
                action = ALERT_RAISED
                outcome.raised.append(alert)
            else:
                alert.last_signal_on = max(alert.last_signal_on, signal.period)
                alert.agencies = sorted(set(alert.agencies) | set(info.agencies))
                if signal.observed >= alert.observed:
                    alert.observed = signal.observed
                    alert.expected = signal.expected
                    alert.upperbound = signal.upperbound
                alert.updated_at = timezone.now()
                alert.save()
                action = ALERT_EXTENDED
                outcome.extended.append(alert)
            AlertSignal.objects.create(
                key=signal.key,
                alert=alert,
                period=signal.period,
                observed=signal.observed,
                expected=signal.expected,
                upperbound=signal.upperbound,
                score=signal.score,
            )
            _history(alert, action, None, f"signal {signal.period}: {signal.observed:.0f}")
        known.add(signal.key)
    return outcome


def do_raise_data_quality(
    source: Agency, check: str, message: str, day: dt.date
) -> tuple[Alert, bool]:
    """A data-quality alert to a source's admins; one open alert per source and check."""
    with transaction.atomic():
        existing = Alert.objects.filter(
            kind=AlertKind.DATA_QUALITY,
            source_agency=source,
            indicator=check,
            status__in=[s for s in AlertStatus.values if s != AlertStatus.CLOSED],
        ).first()
        if existing is not None:
            if existing.summary != message or existing.last_signal_on != day:
                existing.summary = message
                existing.last_signal_on = max(existing.last_signal_on, day)
                existing.updated_at = timezone.now()
                existing.save()
            return existing, False
        alert = Alert.objects.create(
            kind=AlertKind.DATA_QUALITY,
            indicator=check,
            indicator_label=f"Data quality: {check.replace('_', ' ')}",
            method="data_quality",
            agencies=[source.code],
            source_agency=source,
            started_on=day,
            last_signal_on=day,
            summary=message,
        )
        _history(alert, ALERT_RAISED, None, message)
    return alert, True


# -- lifecycle ----------------------------------------------------------------------------------


def _transition(actor: User, alert: Alert, target: str, action: str, note: str) -> Alert:
    _require_visible(actor, alert)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.status not in TRANSITIONS[target]:
            allowed = ", ".join(TRANSITIONS[target])
            raise AlertError(
                "conflict",
                f"alert {alert.pk} is {locked.status}; it can become {target} only from {allowed}",
            )
        locked.status = target
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "updated_at"])
        _history(locked, action, actor, note)
    return locked


def do_acknowledge(actor: User, alert: Alert, note: str = "") -> Alert:
    """Someone has seen the alert and owns the first look."""
    return _transition(actor, alert, "acknowledged", ALERT_ACKNOWLEDGED, note.strip())


def do_investigate(actor: User, alert: Alert, note: str = "") -> Alert:
    """The alert is being looked into (outreach, field check, partner call)."""
    return _transition(actor, alert, "investigating", ALERT_INVESTIGATING, note.strip())


def do_close(actor: User, alert: Alert, note: str) -> Alert:
    """Close with a note saying what was found or done (required)."""
    if not note.strip():
        raise AlertError("invalid", "field 'note': closing an alert needs a note saying why")
    return _transition(actor, alert, "closed", ALERT_CLOSED, note.strip())


TRANSITION_ACTIONS = {
    "acknowledge": do_acknowledge,
    "investigate": do_investigate,
    "close": do_close,
}


# -- thresholds and subscriptions -----------------------------------------------------------------


def do_set_spike_threshold(
    actor: User, indicator: str, layer: str, area: str, threshold: int
) -> SpikeThreshold:
    """Set the one-day count that raises an spike in ``area`` (agency or hub admins)."""
    if not (actor.has_role(Role.AGENCY_ADMIN) or actor.has_role(Role.HUB_ADMIN)):
        raise AlertError("forbidden", "only an agency admin may set spike thresholds")
    if indicator not in WATCHED or not WATCHED[indicator].spikes:
        spiky = ", ".join(w for w, spec in WATCHED.items() if spec.spikes)
        raise AlertError(
            "invalid", f"field 'indicator': {indicator!r} has no spike alerts (expected {spiky})"
        )
    if threshold < 1:
        raise AlertError("invalid", f"field 'threshold': must be >= 1, got {threshold}")
    if actor.agency is None:
        raise AlertError("forbidden", "a user without an agency cannot set thresholds")
    with transaction.atomic():
        row, _ = SpikeThreshold.objects.update_or_create(
            indicator=indicator,
            layer=layer,
            area=area,
            defaults={
                "threshold": threshold,
                "agency": actor.agency,
                "set_by": actor,
                "set_at": timezone.now(),
            },
        )
        record(
            THRESHOLD_SET,
            actor=actor,
            agency=actor.agency,
            target=f"threshold:{indicator}:{layer}:{area}",
            details={"threshold": threshold},
        )
    return row


def do_subscribe(
    actor: User,
    *,
    channel: str,
    target: str,
    indicator: str = "",
    areas: Sequence[str] = (),
    method: str = "",
) -> Subscription:
    """Subscribe ``actor`` to alerts they may see, delivered by email or signed webhook."""
    if channel not in Channel.values:
        raise AlertError("invalid", f"field 'channel': expected one of {', '.join(Channel.values)}")
    target = target.strip()
    if channel == Channel.EMAIL and "@" not in target:
        raise AlertError("invalid", f"field 'target': {target!r} is not an email address")
    if channel == Channel.WEBHOOK and not target.startswith(("http://", "https://")):
        raise AlertError("invalid", f"field 'target': {target!r} is not an http(s) URL")
    if indicator and indicator not in WATCHED:
        raise AlertError(
            "invalid",
            f"field 'indicator': {indicator!r} is not one of {', '.join(WATCHED)}",
        )
    with transaction.atomic():
        sub = Subscription.objects.create(
            user=actor,
            channel=channel,
            target=target,
            indicator=indicator,
            areas=sorted({a.strip() for a in areas if a.strip()}),
            method=method,
        )
        record(
            SUBSCRIPTION_CREATED,
            actor=actor,
            agency=actor.agency,
            target=f"subscription:{sub.pk}",
            details={"channel": channel, "indicator": indicator, "areas": sub.areas},
        )
    return sub


def do_unsubscribe(actor: User, subscription: Subscription) -> None:
    if subscription.user_id != actor.pk:
        raise AlertError("not_found", f"subscription {subscription.pk} is not yours")
    with transaction.atomic():
        pk = subscription.pk
        subscription.delete()
        record(SUBSCRIPTION_DELETED, actor=actor, agency=actor.agency, target=f"subscription:{pk}")
