"""The API's edges: enums refused with 422, a body over the limit answered 413, CSRF refusals
as ``csrf_failed``, validation paths as the client sent them, error responses declared in the
OpenAPI document, and expected refusals logged without a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client
from tests.web.test_error_shape import assert_error_shape

pytestmark = pytest.mark.django_db


def _post(client: Client, path: str, body: Any, **extra: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


AGREEMENT = {
    "provider": "MPD",
    "recipient": "PHD",
    "purpose": "overdose_response",
    "valid_from": "2025-01-01",
}


def test_an_unknown_enum_value_is_refused_with_422_naming_the_field(
    client: Client, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_admin"])
    response = _post(client, "/api/governance/agreements", {**AGREEMENT, "granularity": "bogus"})
    error = assert_error_shape(response, 422)
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["body.granularity"]
    # Each vocabulary of the request is refused the same way, not left to crash deeper down.
    for field, value in (
        ("purpose", "curiosity"),
        ("finest_period", "fortnight"),
        ("sectors", ["aviation"]),
        ("recipient_roles", ["king"]),
    ):
        response = _post(client, "/api/governance/agreements", {**AGREEMENT, field: value})
        error = assert_error_shape(response, 422)
        assert error["details"][0]["field"].startswith(f"body.{field}"), error
    query = {"purpose": "overdose_response", "by": ["shoe_size"]}
    error = assert_error_shape(_post(client, "/api/governance/aggregate", query), 422)
    assert error["details"][0]["field"] == "body.by.0"
    # A valid draft still works.
    assert _post(client, "/api/governance/agreements", AGREEMENT).status_code == 201


def test_an_extract_of_an_unknown_column_is_422_not_a_crash(
    client: Client, world: Any, login_as: Any, hub_data_dir: Any
) -> None:
    from tests.web.governance.lake_support import write_areas
    from tests.web.surveillance.conftest import daily_counts, ingest_daily

    write_areas(hub_data_dir)
    ingest_daily(hub_data_dir, "MFD", daily_counts())
    # MFD's analyst may extract MFD's own rows; the lake has no such column.
    login_as(client, world.users["mfd_analyst"])
    query = {"purpose": "overdose_response", "columns": ["no_such_column"]}
    error = assert_error_shape(_post(client, "/api/governance/extract", query), 422)
    assert error["code"] == "invalid_query"
    assert "no_such_column" in error["message"]
    assert (
        _post(client, "/api/governance/extract", {**query, "columns": ["event_id"]}).status_code
        == 200
    )


def test_the_openapi_document_declares_enums_and_error_responses(client: Client) -> None:
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    agreement_in = schemas["AgreementIn"]["properties"]
    granularity = agreement_in["granularity"]
    ref = granularity.get("$ref") or granularity["allOf"][0]["$ref"]
    granularity = schemas[ref.rsplit("/", 1)[1]]
    assert set(granularity["enum"]) == {"aggregate", "person_level"}
    assert "overdose_response" in agreement_in["purpose"]["enum"]
    assert {"Error"} <= set(schemas)
    draft = document["paths"]["/api/governance/agreements"]["post"]["responses"]
    assert {"201", "400", "401", "403", "413", "422"} <= set(draft)
    assert draft["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    # Every operation documents 422; those needing a sign-in document 401 and 403.
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = set(operation["responses"])
            assert "422" in responses, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= responses, (method, path)
    alerts = document["paths"]["/api/surveillance/alerts"]["get"]["parameters"]
    status = next(p for p in alerts if p["name"] == "status")
    assert {"open", "all", "closed"} <= set(status["schema"]["enum"])


def test_a_body_over_the_limit_is_413_payload_too_large(
    client: Client, world: Any, login_as: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    login_as(client, world.users["mpd_officer"])
    response = _post(client, "/api/care/triage/recommend", {"narrative": "x" * 2000})
    error = assert_error_shape(response, 413)
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"limit": 1000}
    # Under the limit the same request is answered.
    assert _post(client, "/api/care/triage/recommend", {"narrative": "x"}).status_code == 200


def test_a_csrf_refusal_is_csrf_failed_with_the_reason(world: Any, login_as: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    login_as(client, world.users["mpd_admin"])
    response = _post(client, "/api/tokens", {"name": "x", "scopes": ["batches:write"]})
    error = assert_error_shape(response, 403)
    assert error["code"] == "csrf_failed"
    assert "CSRF cookie not set" in error["details"]["reason"]
    # With the cookie and header it is accepted.
    client.get("/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = _post(
        client, "/api/tokens", {"name": "x", "scopes": ["batches:write"]}, HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content


def test_a_token_client_is_not_asked_for_csrf_on_an_endpoint_that_also_takes_sessions(
    world: Any,
) -> None:
    from wellbeat.web.accounts.actions import do_create_api_token

    issued = do_create_api_token(world.users["phd_admin"], "reader", ["governance:read"])
    client = Client(enforce_csrf_checks=True)
    response = _post(
        client,
        "/api/governance/aggregate",
        {"purpose": "overdose_response"},
        HTTP_AUTHORIZATION=f"Bearer {issued.secret}",
    )
    assert response.status_code != 403 or response.json()["error"]["code"] != "csrf_failed"
    anonymous = _post(Client(enforce_csrf_checks=True), "/api/governance/aggregate", {})
    assert assert_error_shape(anonymous, 401)["code"] == "unauthenticated"


def test_validation_paths_name_the_body_field_once(
    client: Client, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_officer"])
    response = _post(client, "/api/care/triage/recommend", {"weapon": "maybe"})
    error = assert_error_shape(response, 422)
    assert [d["field"] for d in error["details"]] == ["body.weapon"]
    assert error["message"] == "invalid input in: body.weapon"
    login_as(client, world.users["mpd_admin"])
    missing = assert_error_shape(_post(client, "/api/tokens", {"name": "x"}), 422)
    assert [d["field"] for d in missing["details"]] == ["body.scopes"]


def test_an_expected_403_logs_no_traceback(
    client: Client, world: Any, login_as: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from wellbeat.web.accounts.models import User

    # An agency admin without an agency may not issue tokens: the action refuses with
    # PermissionDenied, which is a 403, not a crash.
    stray = User.objects.create(username="stray_admin", roles=["agency_admin"])
    login_as(client, stray)
    with caplog.at_level(logging.INFO):
        api = _post(client, "/api/tokens", {"name": "x", "scopes": ["batches:write"]})
        assert assert_error_shape(api, 403)["code"] == "forbidden"
        login_as(client, world.users["mpd_officer"])
        page = client.get("/surveillance/thresholds/")
        roles = assert_error_shape(client.get("/api/audit"), 403)
    assert roles["code"] == "forbidden"
    assert page.status_code == 403
    assert caplog.records, "the refusals are still logged"
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
