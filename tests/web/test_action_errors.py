"""Every app's refusal is an ``ActionError``: one base class, one status per code, one shape."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from wellbeat.web.accounts.actions import AccountError, NotAllowed
from wellbeat.web.api.errors import ApiError
from wellbeat.web.care.actions import CareError
from wellbeat.web.errors import ActionError
from wellbeat.web.governance.actions import GovernanceError
from wellbeat.web.indicators.actions import IndicatorDenied
from wellbeat.web.surveillance.actions import AlertError


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (CareError("consent_required", "no consent"), "consent_required", 403),
        (CareError("unheard_of", "odd"), "unheard_of", 403),
        (GovernanceError("conflict", "already active"), "conflict", 409),
        (AlertError("not_found", "no alert"), "not_found", 404),
        (AlertError("unheard_of", "odd"), "unheard_of", 400),
        (AccountError("username: required"), "invalid", 422),
        (NotAllowed("agency admins only"), "forbidden", 403),
        (IndicatorDenied("analysts only"), "forbidden", 403),
        (ApiError("not_found", "no batch"), "not_found", 400),
        (ApiError("not_found", "no batch", status=404), "not_found", 404),
    ],
)
def test_every_refusal_has_a_code_a_status_and_the_api_shape(
    error: ActionError, code: str, status: int
) -> None:
    assert isinstance(error, ActionError)
    assert (error.code, error.status, error.http_status) == (code, status, status)
    assert error.shape() == {"error": {"code": code, "message": str(error), "details": {}}}


def test_refusals_keep_the_builtin_bases_callers_catch() -> None:
    from django.core.exceptions import PermissionDenied

    assert isinstance(AccountError("x"), ValueError)
    assert isinstance(NotAllowed("x"), PermissionDenied)
    assert isinstance(IndicatorDenied("x"), PermissionError)
    assert CareError("invalid", "m", {"field": "at"}).details == {"field": "at"}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (CareError("consent_required", "no consent in force", {"person_token": "p"}), 403),
        (GovernanceError("conflict", "already active"), 409),
        (AlertError("not_found", "no alert 7"), 404),
        (AccountError("username: required"), 422),
    ],
)
def test_the_api_answers_any_refusal_raised_in_an_endpoint_in_the_one_shape(
    rf: RequestFactory, error: ActionError, status: int
) -> None:
    import json

    from wellbeat.web.api import api

    response = api.on_exception(rf.get("/api/anything"), error)
    assert response.status_code == status
    assert json.loads(response.content) == error.shape()
