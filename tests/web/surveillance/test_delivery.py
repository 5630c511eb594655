"""Delivery: signed webhooks to a local server, email through Django's backend, retries with
backoff (on an injected clock: nothing sleeps), and a failure the subscriber can see."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail

from wellbeat.web.surveillance import actions
from wellbeat.web.surveillance.delivery import (
    SIGNATURE_HEADER,
    drain_due,
    queue_deliveries,
    verify,
)
from wellbeat.web.surveillance.models import Alert, Delivery

from .conftest import SPIKE_AREA

pytestmark = pytest.mark.django_db


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []
    fail_first: int = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        type(self).received.append((body, self.headers[SIGNATURE_HEADER]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    _Receiver.received = []
    _Receiver.fail_first = 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """An injectable clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 4, 10, 3, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_a_signed_webhook_is_retried_until_the_receiver_answers(
    detected: Any, world: Any, receiver: Any
) -> None:
    url, handler = receiver
    handler.fail_first = 1
    sub = actions.do_subscribe(
        world.users["phd_analyst"], channel="webhook", target=url, indicator="suspected_overdose"
    )
    clock = Clock()
    queue_deliveries(Alert.objects.all(), now=clock())
    first = drain_due(clock=clock)
    # One receiver answered 503 once: that delivery waits 1 s (the first backoff step).
    retrying = [d for d in first.deliveries if d.status == "retrying"]
    assert len(retrying) == 1 and retrying[0].last_error == "webhook answered HTTP 503"
    assert retrying[0].next_attempt_at == clock.now + dt.timedelta(seconds=1)
    assert drain_due(clock=clock).deliveries == []  # not due yet: nothing sent, nothing slept
    clock.advance(1)
    again = drain_due(clock=clock)
    assert [(d.pk, d.status, d.attempts) for d in again.deliveries] == [
        (retrying[0].pk, "delivered", 2)
    ]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    body, signature = handler.received[0]
    assert verify(body, sub.secret, signature)
    assert not verify(body, "another-secret", signature)
    payload = json.loads(body)
    assert {"alert", "indicator", "area", "method", "path"} <= payload.keys()
    assert "observed" not in payload  # counts are read on the hub, under agreements


def test_a_failing_webhook_is_visible_on_the_subscriptions_page(
    client: Any, detected: Any, world: Any, login_as: Any
) -> None:
    user = world.users["phd_analyst"]
    actions.do_subscribe(
        user, channel="webhook", target=f"http://127.0.0.1:{_free_port()}/gone", areas=[SPIKE_AREA]
    )
    clock = Clock()
    queue_deliveries(Alert.objects.all(), now=clock())
    login_as(client, user)
    waits: list[float] = []
    for attempt in range(1, 10):
        done = drain_due(clock=clock).deliveries
        assert done and all(d.attempts == attempt for d in done)
        assert all("unreachable" in d.last_error for d in done)
        if attempt < 9:
            assert {d.status for d in done} == {"retrying"}
            assert drain_due(clock=clock).deliveries == []  # each waits for its time
            wait = (done[0].next_attempt_at - clock.now).total_seconds()
            waits.append(wait)
            clock.advance(wait)
        if attempt == 1:
            page = client.get("/surveillance/subscriptions/").content.decode()
            assert "delivery-retrying" in page and "unreachable" in page
    # The backoff schedule: 1 s and 4 s inside a burst of three, 15 min between bursts.
    assert waits == [1.0, 4.0, 900.0, 1.0, 4.0, 900.0, 1.0, 4.0]
    assert {d.status for d in done} == {"failed"}
    clock.advance(86400)
    assert drain_due(clock=clock).deliveries == []  # failed for good: never tried again
    page = client.get("/surveillance/subscriptions/").content.decode()
    assert "delivery-failed" in page and "unreachable" in page
    assert "gave up after 9 attempts" in page
    api = client.get("/api/surveillance/subscriptions").json()["subscriptions"][0]
    assert {d["status"] for d in api["deliveries"]} == {"failed"}
    assert all("unreachable" in d["last_error"] for d in api["deliveries"])


def test_email_goes_only_to_subscribers_who_may_see_the_alert(detected: Any, world: Any) -> None:
    actions.do_subscribe(world.users["phd_analyst"], channel="email", target="phd@example.org")
    actions.do_subscribe(world.users["xpd_analyst"], channel="email", target="xpd@example.org")
    made = queue_deliveries(Alert.objects.all())
    assert {d.subscription.user.username for d in made} == {"phd_analyst"}
    drain_due()
    assert {m.to[0] for m in mail.outbox} == {"phd@example.org"}
    assert len(mail.outbox) == Delivery.objects.filter(status="delivered").count()


def test_a_spike_reaches_subscribers_of_neighbouring_areas(detected: Any, world: Any) -> None:
    actions.do_subscribe(
        world.users["mfd_analyst"], channel="email", target="n2@example.org", areas=["n2"]
    )
    made = queue_deliveries(Alert.objects.filter(area=SPIKE_AREA))
    assert {d.alert.method for d in made} == {"threshold"}  # aberrations stay in their area


def test_subscription_input_errors_name_the_field(world: Any) -> None:
    with pytest.raises(actions.AlertError, match="field 'target'"):
        actions.do_subscribe(world.users["phd_analyst"], channel="webhook", target="ftp://x")
    with pytest.raises(actions.AlertError, match="field 'channel'"):
        actions.do_subscribe(world.users["phd_analyst"], channel="sms", target="123")
