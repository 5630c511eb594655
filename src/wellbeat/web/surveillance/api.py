"""JSON API for alerts (list, detail, transitions) and the signed-in user's subscriptions,
mounted at /api/surveillance on the hub's NinjaAPI (one error shape)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from wellbeat.web.accounts.models import User
from wellbeat.web.api.auth import UserSessionAuth
from wellbeat.web.api.errors import ApiError
from wellbeat.web.api.schema import OneOf
from wellbeat.web.surveillance import actions
from wellbeat.web.surveillance.delivery import alert_payload
from wellbeat.web.surveillance.models import Alert, AlertStatus, Channel, Subscription

router = Router(tags=["surveillance"])


class TransitionIn(Schema):
    note: str = ""


StatusFilter = Annotated[str, OneOf(["open", "all", *AlertStatus.values])]
Transition = Annotated[str, OneOf(actions.TRANSITION_ACTIONS)]


class SubscriptionIn(Schema):
    channel: Annotated[str, OneOf(Channel.values)]
    target: str
    indicator: str = ""
    areas: list[str] = []
    method: str = ""


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise ApiError("unauthenticated", "sign in first", status=401)
    return user


def _error(exc: actions.AlertError) -> ApiError:
    return ApiError(exc.code, exc.message, exc.details, status=exc.status)


def _alert_out(alert: Alert, detail: bool = False) -> dict[str, Any]:
    out = alert_payload(alert)
    out["created_at"] = alert.created_at.isoformat()
    out["updated_at"] = alert.updated_at.isoformat()
    if detail:
        out["signals"] = [s.period.isoformat() for s in alert.signals.all()]
        out["history"] = [
            {
                "action": e.action,
                "actor": e.actor.username if e.actor else None,
                "at": e.at.isoformat(),
                "note": e.note,
            }
            for e in alert.events.select_related("actor")
        ]
    return out


def _visible_alert(user: User, pk: int) -> Alert:
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None or not actions.can_see(user, alert):
        raise ApiError("not_found", f"alert {pk} does not exist or is not yours to see", status=404)
    return alert


@router.get("/alerts", auth=UserSessionAuth(), summary="Alerts the signed-in user may see")
def list_alerts(
    request: HttpRequest, status: StatusFilter = "open", limit: int = 100
) -> dict[str, Any]:
    user = _user(request)
    if not 1 <= limit <= 500:
        raise ApiError("invalid", f"query 'limit': expected 1..500, got {limit}", status=422)
    rows = Alert.objects.all()
    if status == "open":
        rows = rows.exclude(status=AlertStatus.CLOSED)
    elif status != "all":
        rows = rows.filter(status=status)
    alerts = actions.visible_alerts(user, rows[: limit * 5])[:limit]
    return {"alerts": [_alert_out(a) for a in alerts]}


@router.get("/alerts/{pk}", auth=UserSessionAuth(), summary="One alert with signals and history")
def get_alert(request: HttpRequest, pk: int) -> dict[str, Any]:
    return _alert_out(_visible_alert(_user(request), pk), detail=True)


@router.post(
    "/alerts/{pk}/{action}",
    auth=UserSessionAuth(),
    summary="Acknowledge, investigate or close (close needs a note)",
)
def transition_alert(
    request: HttpRequest, pk: int, action: Transition, payload: TransitionIn
) -> dict[str, Any]:
    user = _user(request)
    alert = _visible_alert(user, pk)
    try:
        changed = actions.TRANSITION_ACTIONS[action](user, alert, payload.note)
    except actions.AlertError as exc:
        raise _error(exc) from exc
    return _alert_out(changed, detail=True)


def _subscription_out(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.pk,
        "channel": sub.channel,
        "target": sub.target,
        "indicator": sub.indicator,
        "areas": sub.areas,
        "method": sub.method,
        "secret": sub.secret if sub.channel == "webhook" else None,
        "deliveries": [
            {
                "alert": d.alert_id,
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
                "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
            }
            for d in sub.deliveries.all()
        ],
    }


@router.get("/subscriptions", auth=UserSessionAuth(), summary="Your subscriptions and deliveries")
def list_subscriptions(request: HttpRequest) -> dict[str, Any]:
    subs = Subscription.objects.filter(user=_user(request)).prefetch_related("deliveries")
    return {"subscriptions": [_subscription_out(s) for s in subs]}


@router.post(
    "/subscriptions",
    auth=UserSessionAuth(),
    response={201: dict[str, Any]},
    summary="Subscribe to alerts",
)
def create_subscription(request: HttpRequest, payload: SubscriptionIn) -> Status[dict[str, Any]]:
    try:
        sub = actions.do_subscribe(
            _user(request),
            channel=payload.channel,
            target=payload.target,
            indicator=payload.indicator,
            areas=payload.areas,
            method=payload.method,
        )
    except actions.AlertError as exc:
        raise _error(exc) from exc
    return Status(201, _subscription_out(sub))


@router.delete("/subscriptions/{pk}", auth=UserSessionAuth(), summary="Remove a subscription")
def delete_subscription(request: HttpRequest, pk: int) -> dict[str, Any]:
    user = _user(request)
    sub = Subscription.objects.filter(pk=pk, user=user).first()
    if sub is None:
        raise ApiError("not_found", f"subscription {pk} is not yours", status=404)
    actions.do_unsubscribe(user, sub)
    return {"deleted": pk}
