"""Delivery: signed webhooks to a local server, email through Django's backend, retries with
backoff, and a failure the subscriber can see."""

from __future__ import annotations

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
    deliver_due,
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


def test_a_signed_webhook_is_retried_until_the_receiver_answers(
    detected: Any, world: Any, receiver: Any
) -> None:
    url, handler = receiver
    handler.fail_first = 1
    sub = actions.do_subscribe(
        world.users["phd_analyst"], channel="webhook", target=url, indicator="suspected_overdose"
    )
    queue_deliveries(Alert.objects.all())
    waits: list[float] = []
    done = deliver_due(sleep=waits.append)
    assert {d.status for d in done} == {"delivered"}
    assert waits.count(1.0) == 1  # one backoff wait: only the first attempt failed
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
    queue_deliveries(Alert.objects.all())
    waits: list[float] = []
    done = deliver_due(sleep=waits.append)
    assert done and {d.status for d in done} == {"failed"}
    assert waits[:2] == [1.0, 4.0]  # backoff between the attempts of one run
    assert all(d.attempts == 3 and "unreachable" in d.last_error for d in done)
    # Not due again until the next-run delay has passed.
    assert deliver_due(sleep=waits.append) == []
    login_as(client, user)
    page = client.get("/surveillance/subscriptions/").content.decode()
    assert "delivery-failed" in page and "unreachable" in page


def test_email_goes_only_to_subscribers_who_may_see_the_alert(detected: Any, world: Any) -> None:
    actions.do_subscribe(world.users["phd_analyst"], channel="email", target="phd@example.org")
    actions.do_subscribe(world.users["xpd_analyst"], channel="email", target="xpd@example.org")
    made = queue_deliveries(Alert.objects.all())
    assert {d.subscription.user.username for d in made} == {"phd_analyst"}
    deliver_due(sleep=lambda _s: None)
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
