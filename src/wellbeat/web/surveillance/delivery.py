"""Delivering alerts to subscribers: Django's email backend, or a webhook whose body is signed
with HMAC-SHA256 under the subscription's secret.

Delivery is a queue. Detection only writes rows (``queue_deliveries``); a worker drains them
(``drain_due``, run by ``wellbeat alerts deliver [--loop]`` and after each scheduled
``wellbeat alerts run``). A worker claims one due row at a time in a short transaction
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write transactions are
serialised), marks it ``sending`` with a claim that expires after ``CLAIM_SECONDS``, sends it
outside any transaction and records the outcome. A worker that dies mid-send leaves the row
``sending``: it is due again when the claim expires. A delivered row is never claimed again.
Backoff is a time stored on the row, never a sleep: only the long-running worker (``work``)
waits, between passes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Min, Q
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
"""Backoff inside a burst: the 2nd and 3rd attempts follow a failure after 1 s and 4 s."""

NEXT_RUN_DELAY = dt.timedelta(minutes=15)
"""After a burst of 3 failed attempts, the next burst starts this much later."""

MAX_ATTEMPTS = 9
"""After this many attempts in all (3 bursts) a delivery is ``failed`` for good, with the last
error on the subscriber's page."""

CLAIM_SECONDS = 300.0
"""How long a worker's claim on a row lasts; a row still ``sending`` after that (its worker
died mid-send) is due again. Longer than any one send (webhook timeout, SMTP)."""

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


def queue_deliveries(alerts: Iterable[Alert], *, now: dt.datetime | None = None) -> list[Delivery]:
    """Queue a delivery for every active subscription that matches an alert its user may
    see (idempotent: one delivery per subscription and alert). Sends nothing."""
    subs = list(Subscription.objects.filter(active=True).select_related("user", "user__agency"))
    made: list[Delivery] = []
    cache: dict[tuple[object, ...], bool] = {}
    due = now or timezone.now()
    for alert in alerts:
        for sub in subs:
            if not subscription_matches(sub, alert) or not can_see(sub.user, alert, cache):
                continue
            delivery, created = Delivery.objects.get_or_create(
                subscription=sub, alert=alert, defaults={"next_attempt_at": due}
            )
            if created:
                made.append(delivery)
    return made


def retry_delay(attempts: int) -> dt.timedelta | None:
    """When a delivery whose ``attempts``-th attempt failed is tried again: 1 s, 4 s, then
    ``NEXT_RUN_DELAY`` before the next burst of three; None once ``MAX_ATTEMPTS`` are spent."""
    if attempts >= MAX_ATTEMPTS:
        return None
    step = attempts % (len(RETRY_DELAYS_SECONDS) + 1)
    if step == 0:
        return NEXT_RUN_DELAY
    return dt.timedelta(seconds=RETRY_DELAYS_SECONDS[step - 1])


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


WAITING = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING)
"""States of a row still in the queue (``sending`` counts: its claim may have expired)."""


def _due(now: dt.datetime) -> Q:
    # A ``sending`` row whose claim expired is due even after its last attempt, so that
    # ``claim_next`` can settle it as failed instead of leaving it stuck.
    return (
        Q(status__in=WAITING, subscription__active=True)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(attempts__lt=MAX_ATTEMPTS) | Q(status=DeliveryStatus.SENDING))
    )


INTERRUPTED = "the worker stopped during this attempt (outcome unknown)"
"""The error kept on a row whose last attempt's worker died before recording the outcome."""


def claim_next(now: dt.datetime, *, skip: Iterable[int] = ()) -> Delivery | None:
    """Claim the longest-waiting due delivery (not in ``skip``) for this worker: ``sending``,
    one more attempt counted, claimed until ``now + CLAIM_SECONDS``. None when nothing is
    due. Two workers never claim the same row: the row is locked (PostgreSQL, skipping rows
    another worker holds) or the write transaction is exclusive (SQLite), and the update only
    applies to the row as it was read."""
    with transaction.atomic():
        candidates = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_due(now))
            .exclude(pk__in=list(skip))
            .order_by(F("next_attempt_at").asc(nulls_first=True), "pk")
            .values_list("pk", "status", "attempts")[:10]
        )
        for pk, status, attempts in candidates:
            if attempts >= MAX_ATTEMPTS:  # an expired claim on the last attempt
                Delivery.objects.filter(pk=pk, status=status, attempts=attempts).update(
                    status=DeliveryStatus.FAILED, last_error=INTERRUPTED, next_attempt_at=None
                )
                continue
            claimed = Delivery.objects.filter(pk=pk, status=status, attempts=attempts).update(
                status=DeliveryStatus.SENDING,
                attempts=attempts + 1,
                next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS),
            )
            if claimed:
                return Delivery.objects.select_related("subscription", "alert").get(pk=pk)
    return None


def attempt(
    delivery: Delivery,
    *,
    clock: Callable[[], dt.datetime] = timezone.now,
    send: Callable[[Delivery], None] | None = None,
) -> Delivery:
    """Send a claimed delivery once and record the outcome: ``delivered``; ``retrying`` with
    the reason and the time of the next attempt; or ``failed`` with the reason when it was the
    last attempt. Only an ``Exception`` counts as a failed send: an interrupt (the worker being
    stopped) leaves the claim to expire and the row to be retried."""
    try:
        (send or _send_once)(delivery)
    except Exception as exc:
        delay = retry_delay(delivery.attempts)
        delivery.last_error = _reason(exc)[:1000]
        delivery.status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.RETRYING
        delivery.next_attempt_at = None if delay is None else clock() + delay
    else:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.last_error = ""
        delivery.delivered_at = clock()
        delivery.next_attempt_at = None
    # Only our own claim is overwritten (a row reclaimed after an expired claim has another
    # attempt count and is left to the worker that holds it).
    Delivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts
    ).update(
        status=delivery.status,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
    )
    return delivery


@dataclass
class Drained:
    """What one pass over the queue did."""

    deliveries: list[Delivery]

    def count(self, status: str) -> int:
        return sum(1 for d in self.deliveries if d.status == status)

    def as_dict(self) -> dict[str, int]:
        return {
            "attempted": len(self.deliveries),
            "delivered": self.count("delivered"),
            "retrying": self.count("retrying"),
            "failed": self.count("failed"),
        }


def drain_due(
    *,
    clock: Callable[[], dt.datetime] = timezone.now,
    send: Callable[[Delivery], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Drained:
    """One pass: claim and send every delivery due now, each at most once (a failure due
    again within the pass waits for the next pass). ``stop`` is asked between deliveries."""
    done: list[Delivery] = []
    while not stop():
        delivery = claim_next(clock(), skip=[d.pk for d in done])
        if delivery is None:
            break
        done.append(attempt(delivery, clock=clock, send=send))
    return Drained(done)


def next_due(now: dt.datetime) -> dt.datetime | None:
    """When the earliest waiting delivery falls due (``now`` if one already is); None when
    the queue is empty."""
    waiting = Delivery.objects.filter(status__in=WAITING, subscription__active=True)
    if waiting.filter(next_attempt_at__isnull=True).exists():
        return now
    first = waiting.aggregate(first=Min("next_attempt_at"))["first"]
    return None if first is None else max(first, now)


MIN_PAUSE_SECONDS = 0.1
"""The shortest sleep of the worker loop between passes."""


def work(
    *,
    interval: float,
    clock: Callable[[], dt.datetime] = timezone.now,
    sleep: Callable[[float], None],
    stop: Callable[[], bool],
    on_pass: Callable[[Drained], None] = lambda _d: None,
    send: Callable[[Delivery], None] | None = None,
) -> int:
    """The long-running worker: drain, then sleep until the next delivery falls due (at most
    ``interval`` seconds, so rows queued meanwhile are picked up), until ``stop()``. Returns
    how many attempts it made."""
    attempts = 0
    while not stop():
        drained = drain_due(clock=clock, stop=stop, send=send)
        attempts += len(drained.deliveries)
        on_pass(drained)
        if stop():
            break
        now = clock()
        due = next_due(now)
        wait = interval if due is None else min(interval, (due - now).total_seconds())
        # Never spin: a row due but not claimable right now (another worker holds it) is
        # looked at again after a short pause.
        sleep(max(wait, MIN_PAUSE_SECONDS))
    return attempts
