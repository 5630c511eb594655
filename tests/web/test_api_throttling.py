"""API rate limits: one count per agency token and one per signed-in user, answered 429 in the
error shape with Retry-After; two tokens count apart; declared in the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from wellbeat.web.accounts import actions
from wellbeat.web.api.throttling import HubRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings: Any) -> dict[str, str | None]:
    settings.API_RATES = {"token": "3/min", "user": "2/min", "anon": "2/min"}
    return dict(settings.API_RATES)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The throttles' clock, moved by hand."""
    now = [1_000_000.0]
    monkeypatch.setattr(HubRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def _token(world: Any, name: str) -> dict[str, str]:
    secret = actions.do_create_api_token(world.users["mpd_admin"], name, ["batches:write"]).secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _upload(client: Client, auth: dict[str, str]) -> Any:
    # An empty upload: authenticated and counted, then refused for having no files.
    return client.post("/api/batches", {}, **auth)


def _assert_429(response: Any, scope: str, limit: str) -> dict[str, Any]:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "too_many_requests"
    assert error["details"]["scope"] == scope and error["details"]["limit"] == limit
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60 and error["details"]["retry_after"] == retry_after
    assert f"retry after {retry_after} s" in error["message"]
    return dict(error)


def test_a_token_over_its_limit_is_answered_429_until_the_window_passes(
    client: Client, world: Any, rates: Any, clock: list[float]
) -> None:
    auth = _token(world, "nightly")
    answers = [_upload(client, auth).status_code for _ in range(3)]
    assert 429 not in answers and answers[0] == 422  # authenticated, then no files
    error = _assert_429(_upload(client, auth), "token", "3/min")
    assert "this API token" in error["message"]
    clock[0] += 30
    assert _upload(client, auth).status_code == 429
    clock[0] += 31  # a minute after the first request: room for one more
    assert _upload(client, auth).status_code == 422


def test_two_tokens_count_apart(client: Client, world: Any, rates: Any, clock: Any) -> None:
    first, second = _token(world, "first"), _token(world, "second")
    for _ in range(3):
        _upload(client, first)
    assert _upload(client, first).status_code == 429
    assert [_upload(client, second).status_code for _ in range(3)] == [422, 422, 422]
    assert _upload(client, second).status_code == 429


def test_a_user_over_the_limit_is_answered_429_across_sessions(
    world: Any, login_as: Any, rates: Any, clock: Any
) -> None:
    user = world.users["phd_analyst"]
    laptop, phone = login_as(Client(), user), login_as(Client(), user)
    assert laptop.get("/api/governance/agreements").status_code == 200
    assert phone.get("/api/governance/agreements").status_code == 200
    error = _assert_429(laptop.get("/api/governance/agreements"), "user", "2/min")
    assert "your account" in error["message"]
    assert phone.get("/api/surveillance/alerts").status_code == 429  # one count per user
    # Another user, and a token of the same agency, have their own counts.
    other = login_as(Client(), world.users["mpd_analyst"])
    assert other.get("/api/governance/agreements").status_code == 200
    assert _upload(Client(), _token(world, "cad")).status_code == 422


def test_unauthenticated_requests_count_per_address_and_bad_credentials_count_nowhere(
    client: Client, world: Any, rates: Any, clock: Any
) -> None:
    assert [client.get("/api/").status_code for _ in range(2)] == [200, 200]
    _assert_429(client.get("/api/"), "anon", "2/min")
    assert client.get("/api/", REMOTE_ADDR="10.0.0.9").status_code == 200
    # A wrong token is refused before any limit: 401 every time, never 429.
    wrong = {"HTTP_AUTHORIZATION": "Bearer wbt_not-a-token"}
    assert {_upload(client, wrong).status_code for _ in range(5)} == {401}


def test_off_means_no_limit(client: Client, world: Any, settings: Any) -> None:
    settings.API_RATES = {"token": None, "user": None, "anon": None}
    auth = _token(world, "unlimited")
    assert {_upload(client, auth).status_code for _ in range(20)} == {422}


def test_every_operation_declares_429_with_retry_after(client: Client) -> None:
    document = client.get("/api/openapi.json").json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert len(operations) >= 35
    for operation in operations:
        declared = operation["responses"]["429"]
        assert declared["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        assert "Retry-After" in declared["headers"], json.dumps(operation)[:200]
