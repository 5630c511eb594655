"""Delivering alerts to subscribers: Django's email backend, or a webhook whose body is signed
with HMAC-SHA256 under the subscription's secret. Failures are retried with backoff and stay
visible on the subscriber's page."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from wellbeat.web.surveillance.actions import can_see
from wellbeat.web.surveillance.models import (
    Alert,
    Channel,
    Delivery,
    DeliveryStatus,
    Subscription,
)

SIGNATURE_HEADER = "X-Wellbeat-Signature"
"""Header carrying ``sha256=<hex HMAC-SHA256 of the raw body>`` under the subscription secret."""

RETRY_DELAYS_SECONDS = (1.0, 4.0)
"""Waits between the attempts of one run (3 attempts in all)."""

NEXT_RUN_DELAY = dt.timedelta(minutes=15)
"""A delivery that failed every attempt of a run is tried again by runs after this long."""

MAX_ATTEMPTS = 9
"""After this many attempts in all a delivery stays failed until the subscriber fixes it."""

WEBHOOK_TIMEOUT_SECONDS = 10.0


def alert_payload(alert: Alert) -> dict[str, Any]:
    """What a subscriber receives: which signal, where, and where to look (no counts: those
    are read on the hub under the subscriber's agreements)."""
    return {
        "alert": alert.pk,
        "kind": alert.kind,
        "indicator": alert.indicator,
        "indicator_label": alert.indicator_label,
        "layer": alert.layer,
        "area": alert.area,
        "area_name": alert.area_name,
        "neighbours": list(alert.neighbours),
        "method": alert.method,
        "started_on": alert.started_on.isoformat(),
        "last_signal_on": alert.last_signal_on.isoformat(),
        "status": alert.status,
        "summary": alert.summary,
        "path": f"/surveillance/alerts/{alert.pk}/",
    }


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(body, secret), header)


def subscription_matches(subscription: Subscription, alert: Alert) -> bool:
    """The subscription's filters hold for the alert; a spike also reaches subscribers of
    its neighbouring areas (ODMAP: neighbours are told too)."""
    if subscription.matches(alert):
        return True
    if alert.kind == "spike" and subscription.areas:
        widened = (not subscription.indicator or subscription.indicator == alert.indicator) and (
            not subscription.method or subscription.method == alert.method
        )
        return widened and bool(set(subscription.areas) & set(alert.neighbours))
    return False


def queue_deliveries(alerts: Iterable[Alert]) -> list[Delivery]:
    """A pending delivery for every active subscription that matches an alert its user may
    see (idempotent: one delivery per subscription and alert)."""
    subs = list(Subscription.objects.filter(active=True).select_related("user", "user__agency"))
    made: list[Delivery] = []
    cache: dict[tuple[object, ...], bool] = {}
    for alert in alerts:
        for sub in subs:
            if not subscription_matches(sub, alert) or not can_see(sub.user, alert, cache):
                continue
            delivery, created = Delivery.objects.get_or_create(subscription=sub, alert=alert)
            if created:
                made.append(delivery)
    return made


def _post_webhook(url: str, body: bytes, signature: str, delivery_id: int) -> None:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature,
            "X-Wellbeat-Delivery": str(delivery_id),
            "User-Agent": "wellbeat-alerts",
        },
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        status = response.status
    if not 200 <= status < 300:
        raise OSError(f"webhook answered HTTP {status}")


def _send_once(delivery: Delivery) -> None:
    sub = delivery.subscription
    payload = alert_payload(delivery.alert)
    if sub.channel == Channel.WEBHOOK:
        body = json.dumps(payload, sort_keys=True).encode("utf-8")
        _post_webhook(sub.target, body, sign(body, sub.secret), delivery.pk)
    else:
        send_mail(
            subject=f"[wellbeat] {delivery.alert.summary}"[:200],
            message=(
                f"{delivery.alert.summary}\n\nStatus: {delivery.alert.status}\n"
                f"Open it on the hub: {payload['path']}\n"
            ),
            from_email=None,
            recipient_list=[sub.target],
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"webhook answered HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"webhook unreachable: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def deliver(delivery: Delivery, *, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Try one delivery up to 1 + len(RETRY_DELAYS_SECONDS) times, waiting between attempts;
    record the outcome (a failure keeps its reason for the subscriber's page)."""
    error = ""
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS_SECONDS)):
        if attempt:
            sleep(delay)
        delivery.attempts += 1
        try:
            _send_once(delivery)
        except Exception as exc:
            error = _reason(exc)
        else:
            error = ""
            break
        if delivery.attempts >= MAX_ATTEMPTS:
            break
    with transaction.atomic():
        if error:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = error[:1000]
            delivery.next_attempt_at = timezone.now() + NEXT_RUN_DELAY
        else:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.last_error = ""
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        delivery.save()
    return delivery


def deliver_due(
    now: dt.datetime | None = None, *, sleep: Callable[[float], None] = time.sleep
) -> list[Delivery]:
    """Send every pending delivery and retry failed ones that are due."""
    moment = now or timezone.now()
    due = Delivery.objects.select_related("subscription", "alert").filter(
        subscription__active=True, attempts__lt=MAX_ATTEMPTS
    )
    out = []
    for delivery in due:
        if delivery.status == DeliveryStatus.DELIVERED:
            continue
        if delivery.status == DeliveryStatus.FAILED and (
            delivery.next_attempt_at is not None and delivery.next_attempt_at > moment
        ):
            continue
        out.append(deliver(delivery, sleep=sleep))
    return out
