"""Schemathesis over every operation of the API's own OpenAPI document, as three identities:
an analyst's browser session (second factor passed, real CSRF token), an agency API token, and
an anonymous client. No answer may be a server error, and every answer must match what the
document declares for its status (the error shape included).

Requests go through Django's real WSGI handler (CSRF enforced, as in production) inside the
test's database transaction, so whatever the fuzzer writes is rolled back with the test.
Slow (about a minute in all): CI runs it once, on SQLite (see .ci/run).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.web.surveillance.conftest import ems_city

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.skipif(
        os.environ.get("WELLBEAT_DATABASE_URL", "").startswith("postgres"),
        reason="the fuzz suite runs once in CI, on SQLite (the schema and code are the same)",
    ),
]


EXAMPLES = int(os.environ.get("WELLBEAT_FUZZ_EXAMPLES", "25"))
"""Examples per operation, identity and generation mode (positive and negative)."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
IDENTITIES = ["analyst_session", "agency_token", "anonymous"]


@pytest.fixture(autouse=True)
def _high_rate_limits(settings: Any) -> None:
    """The rate limits stay on (every request goes through them) but high enough that the
    fuzzer's thousand-odd requests per identity reach the endpoints instead of 429."""
    settings.API_RATES = {scope: "1000000/min" for scope in ("token", "user", "anon")}


@pytest.fixture
def fuzz_world(world: Any, hub_data_dir: Path) -> Any:
    """A lake with areas and EMS events, and an active MFD -> PHD agreement, so governed reads
    run their whole path for the analyst (PHD) and the token (PHD)."""
    ems_city(world, hub_data_dir, min_cell=3)
    return world


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """Django's WSGI handler without closing the database connection after each request (the
    test transaction must survive; Django's own test client does the same)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


Credentials = tuple[dict[str, str], dict[str, str]]
"""Headers and cookies to send."""


def _session(user: Any) -> Credentials:
    """The CSRF header and cookies of a signed-in session whose second factor is done."""
    from django.conf import settings as django_settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string

    from wellbeat.web.accounts.middleware import LAST_SEEN_KEY, SECOND_FACTOR_KEY

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session[SECOND_FACTOR_KEY] = True
    session[LAST_SEEN_KEY] = time.time() + 3600  # stays fresh for the whole run
    session.create()
    csrf = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
    cookies = {
        django_settings.SESSION_COOKIE_NAME: session.session_key,
        django_settings.CSRF_COOKIE_NAME: csrf,
    }
    return {"X-CSRFToken": csrf}, cookies


def _credentials(identity: str, world: Any) -> Credentials:
    from wellbeat.web.accounts.actions import do_create_api_token

    if identity == "analyst_session":
        return _session(world.users["phd_analyst"])
    if identity == "agency_token":
        issued = do_create_api_token(
            world.users["phd_admin"], "fuzz", ["governance:read", "batches:write"]
        )
        return {"Authorization": f"Bearer {issued.secret}"}, {}
    return {}, {}


def _fuzz(operation: Any, mode: Any, credentials: Credentials) -> None:
    """Hypothesis over one operation in one generation mode; raises on the first failure."""
    headers, cookies = credentials

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(headers=headers, cookies=cookies)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body has no negative
        # cases.
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("identity", IDENTITIES)
def test_every_operation_as_each_identity_gives_no_server_error(
    identity: str, fuzz_world: Any, wsgi_app: Any
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app)
    credentials = _credentials(identity, fuzz_world)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35  # the whole API (38 operations today), not a fragment of it
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, credentials)
            except Exception as exc:  # every operation's failure is reported, not only the first
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:3000]}")
    assert not failures, "\n\n".join(failures)
