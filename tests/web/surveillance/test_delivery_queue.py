"""The delivery queue: detection only queues (no network wait even when a subscriber's
endpoint hangs), the worker claims each row once, a worker that dies mid-send leaves the row
to be retried, and a delivered row is never sent again."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from wellbeat.web.surveillance import actions, delivery
from wellbeat.web.surveillance.delivery import (
    CLAIM_SECONDS,
    INTERRUPTED,
    MAX_ATTEMPTS,
    claim_next,
    drain_due,
    queue_deliveries,
    work,
)
from wellbeat.web.surveillance.detection import run_detection
from wellbeat.web.surveillance.models import Alert, Delivery

from .conftest import FIRST_DAY, LAST_DAY
from .test_delivery import Clock

pytestmark = pytest.mark.django_db


class _Hanging(BaseHTTPRequestHandler):
    """A subscriber whose endpoint accepts the connection and then does not answer."""

    hits = 0
    release = threading.Event()

    def do_POST(self) -> None:
        type(self).hits += 1
        type(self).release.wait(30)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def hanging_url() -> Iterator[str]:
    _Hanging.hits = 0
    _Hanging.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hanging)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        _Hanging.release.set()
        server.shutdown()
        server.server_close()


def test_detection_never_waits_on_a_hanging_webhook(
    watched_city: Any, world: Any, hanging_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    actions.do_subscribe(world.users["phd_analyst"], channel="webhook", target=hanging_url)
    started = time.perf_counter()
    run = run_detection(LAST_DAY, since=FIRST_DAY)
    elapsed = time.perf_counter() - started
    assert run.raised > 0 and run.queued == Delivery.objects.count() > 0
    # Nothing was sent: the endpoint was never called and every delivery waits in the queue.
    assert _Hanging.hits == 0
    assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 0)}
    # Sending one delivery to this endpoint would take at least the webhook timeout.
    print(f"detection with a hanging subscriber: {elapsed:.2f} s")
    assert elapsed < delivery.WEBHOOK_TIMEOUT_SECONDS, elapsed
    # The worker meets the hang instead, bounded by the timeout, and keeps the reason.
    monkeypatch.setattr(delivery, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    drained = drain_due()
    assert _Hanging.hits == len(drained.deliveries) == run.queued
    assert {d.status for d in drained.deliveries} == {"retrying"}
    assert all("timed out" in d.last_error for d in drained.deliveries)


def _one_delivery(world: Any, detected: Any, clock: Clock) -> Delivery:
    actions.do_subscribe(world.users["phd_analyst"], channel="email", target="p@example.org")
    made = queue_deliveries(Alert.objects.all(), now=clock())
    assert made
    Delivery.objects.exclude(pk=made[0].pk).delete()
    return made[0]


def test_a_delivery_is_sent_once_and_never_again(detected: Any, world: Any) -> None:
    clock = Clock()
    row = _one_delivery(world, detected, clock)
    sent: list[int] = []
    first = drain_due(clock=clock, send=lambda d: sent.append(d.pk))
    assert [d.status for d in first.deliveries] == ["delivered"]
    for _ in range(3):  # drained again and again, later and later: nothing is resent
        clock.advance(CLAIM_SECONDS * 10)
        assert drain_due(clock=clock, send=lambda d: sent.append(d.pk)).deliveries == []
    assert sent == [row.pk]
    # Queuing the same alerts again makes no second row.
    assert queue_deliveries(Alert.objects.filter(pk=row.alert_id), now=clock()) == []


def test_a_worker_dying_mid_send_leaves_the_delivery_to_be_retried(
    detected: Any, world: Any
) -> None:
    clock = Clock()
    row = _one_delivery(world, detected, clock)

    def die(_d: Delivery) -> None:
        raise KeyboardInterrupt  # the worker is killed during the send

    with pytest.raises(KeyboardInterrupt):
        drain_due(clock=clock, send=die)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sending", 1)
    sent: list[int] = []
    # Still claimed by the dead worker: another worker leaves it alone until the claim expires.
    clock.advance(CLAIM_SECONDS - 1)
    assert drain_due(clock=clock, send=lambda d: sent.append(d.pk)).deliveries == []
    clock.advance(1)
    done = drain_due(clock=clock, send=lambda d: sent.append(d.pk)).deliveries
    assert [(d.status, d.attempts) for d in done] == [("delivered", 2)]
    assert sent == [row.pk]


def test_a_worker_dying_in_the_last_attempt_marks_the_delivery_failed(
    detected: Any, world: Any
) -> None:
    clock = Clock()
    row = _one_delivery(world, detected, clock)
    Delivery.objects.filter(pk=row.pk).update(
        status="sending", attempts=MAX_ATTEMPTS, next_attempt_at=clock()
    )
    assert drain_due(clock=clock).deliveries == []
    row.refresh_from_db()
    assert (row.status, row.last_error, row.next_attempt_at) == ("failed", INTERRUPTED, None)


def test_two_workers_never_claim_the_same_delivery(detected: Any, world: Any) -> None:
    clock = Clock()
    row = _one_delivery(world, detected, clock)
    mine = claim_next(clock())
    assert mine is not None and mine.pk == row.pk and mine.status == "sending"
    assert claim_next(clock()) is None  # the other worker finds nothing due
    # Recording an outcome only touches the worker's own claim: a stale worker whose claim
    # expired and was taken over cannot overwrite the new one.
    clock.advance(CLAIM_SECONDS)
    theirs = claim_next(clock())
    assert theirs is not None and theirs.attempts == 2
    delivery.attempt(mine, clock=clock, send=lambda _d: None)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sending", 2)


def test_the_worker_loop_sleeps_until_the_next_delivery_is_due(detected: Any, world: Any) -> None:
    clock = Clock()
    _one_delivery(world, detected, clock)
    failures = iter([OSError("down"), None])
    sleeps: list[float] = []

    def send(_d: Delivery) -> None:
        error = next(failures)
        if error:
            raise error

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    passes: list[dict[str, int]] = []
    attempts = work(
        interval=30,
        clock=clock,
        sleep=sleep,
        stop=lambda: len(passes) >= 3,
        on_pass=lambda d: passes.append(d.as_dict()),
        send=send,
    )
    # Pass 1 fails and sleeps exactly the 1 s backoff; pass 2 delivers; pass 3 finds an
    # empty queue and sleeps the whole interval before it is stopped.
    assert sleeps[:2] == [1.0, 30]
    assert [p["attempted"] for p in passes] == [1, 1, 0]
    assert [p["delivered"] for p in passes] == [0, 1, 0]
    assert attempts == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("WELLBEAT_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL: SQLite's in-memory test database refuses concurrent writers "
    "('database table is locked') where the hub's file database makes them wait",
)
def test_concurrent_workers_send_each_delivery_exactly_once(world: Any) -> None:
    """Two workers drain the same queue at once (their own database connections, rows
    claimed with SELECT ... FOR UPDATE SKIP LOCKED): every delivery is sent by exactly one."""
    import datetime as dt

    from django.db import connection

    sub = actions.do_subscribe(world.users["phd_analyst"], channel="email", target="p@x.org")
    day = dt.date(2025, 4, 1)
    for i in range(12):
        alert = Alert.objects.create(
            kind="spike",
            indicator="x",
            indicator_label="X",
            method="threshold",
            area=f"a{i}",
            started_on=day,
            last_signal_on=day,
        )
        Delivery.objects.create(subscription=sub, alert=alert)
    sent: list[int] = []
    lock = threading.Lock()

    def send(d: Delivery) -> None:
        time.sleep(0.02)  # a send takes a moment: the other worker runs meanwhile
        with lock:
            sent.append(d.pk)

    crashed: list[BaseException] = []

    def worker() -> None:
        try:
            drain_due(send=send)
        except BaseException as exc:
            crashed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert crashed == []
    assert sorted(sent) == sorted(Delivery.objects.values_list("pk", flat=True))
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
