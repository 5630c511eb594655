"""Every error under /api/ has exactly one shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

FailingCall = Callable[[Client], Any]

FAILING_CALLS: dict[str, tuple[FailingCall, int]] = {
    "unknown path": (lambda c: c.get("/api/no/such/endpoint"), 404),
    "unknown nested path": (lambda c: c.get("/api/governance/no-such"), 404),
    "wrong method": (lambda c: c.delete("/api/"), 405),
    "wrong method on batches": (lambda c: c.get("/api/batches"), 405),
    "upload without token": (lambda c: c.post("/api/batches"), 401),
    "upload with bad token": (
        lambda c: c.post("/api/batches", HTTP_AUTHORIZATION="Bearer wbt_nope_nope"),
        401,
    ),
    "upload with non-bearer auth": (
        lambda c: c.post("/api/batches", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz"),
        401,
    ),
    "audit without session": (lambda c: c.get("/api/audit"), 401),
    "tokens without session": (lambda c: c.get("/api/tokens"), 401),
    "revoke without session": (lambda c: c.delete("/api/tokens/abc"), 401),
}

SIGNED_IN_CALLS: dict[str, tuple[str, FailingCall, int]] = {
    "audit as a non-auditor": ("mpd_analyst", lambda c: c.get("/api/audit"), 403),
    "audit with a bad date": (
        "hub_auditor",
        lambda c: c.get("/api/audit", {"since": "last tuesday"}),
        422,
    ),
    "audit with a bad limit": ("hub_auditor", lambda c: c.get("/api/audit", {"limit": 0}), 422),
    "token with unknown scope": (
        "mpd_admin",
        lambda c: c.post(
            "/api/tokens",
            data=json.dumps({"name": "x", "scopes": ["everything"]}),
            content_type="application/json",
        ),
        422,
    ),
    "token with malformed body": (
        "mpd_admin",
        lambda c: c.post("/api/tokens", data="{not json", content_type="application/json"),
        400,
    ),
    "token body missing fields": (
        "mpd_admin",
        lambda c: c.post("/api/tokens", data="{}", content_type="application/json"),
        422,
    ),
    "revoke another agency's token": ("xpd_admin", lambda c: c.delete("/api/tokens/deadbeef"), 404),
    "tokens as a non-admin": ("mpd_officer", lambda c: c.get("/api/tokens"), 403),
}


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict | list)
    return error


@pytest.mark.parametrize("name", sorted(FAILING_CALLS))
def test_anonymous_failures_have_the_error_shape(client: Client, world: Any, name: str) -> None:
    call, status = FAILING_CALLS[name]
    assert_error_shape(call(client), status)


@pytest.mark.parametrize("name", sorted(SIGNED_IN_CALLS))
def test_signed_in_failures_have_the_error_shape(
    client: Client, world: Any, login_as: Any, name: str
) -> None:
    username, call, status = SIGNED_IN_CALLS[name]
    login_as(client, world.users[username])
    assert_error_shape(call(client), status)


def test_validation_errors_name_the_field(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["hub_auditor"])
    error = assert_error_shape(client.get("/api/audit", {"since": "yesterday"}), 422)
    assert error["code"] == "validation_error"
    assert any(d["field"].endswith("since") for d in error["details"])


def test_csrf_failure_on_the_api_has_the_error_shape(world: Any, login_as: Any) -> None:
    strict = Client(enforce_csrf_checks=True)
    login_as(strict, world.users["mpd_admin"])
    response = strict.post(
        "/api/tokens",
        data=json.dumps({"name": "x", "scopes": ["batches:write"]}),
        content_type="application/json",
    )
    error = assert_error_shape(response, 403)
    assert "CSRF" in error["message"]


def test_a_crash_is_a_500_in_the_error_shape(
    client: Client, world: Any, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wellbeat.web.api.audit as audit_api

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(audit_api, "filter_entries", explode)
    login_as(client, world.users["hub_auditor"])
    error = assert_error_shape(client.get("/api/audit"), 500)
    assert error["code"] == "internal_error"
    assert "disk on fire" not in error["message"]
