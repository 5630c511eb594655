"""API: agency admins list, issue and revoke their agency's API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from wellbeat.web.accounts import actions
from wellbeat.web.accounts.models import ApiToken, Role
from wellbeat.web.accounts.tokens import SCOPES
from wellbeat.web.api.auth import UserSessionAuth
from wellbeat.web.api.errors import ApiError

router = Router(tags=["tokens"], auth=UserSessionAuth(roles=[Role.AGENCY_ADMIN]))


class TokenIn(Schema):
    name: str
    scopes: list[str]


class TokenOut(Schema):
    prefix: str
    name: str
    agency: str
    scopes: list[str]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(TokenOut):
    token: str


class ScopeOut(Schema):
    name: str
    description: str


def _token_out(token: ApiToken) -> dict[str, Any]:
    return {
        "prefix": token.prefix,
        "name": token.name,
        "agency": token.agency.code,
        "scopes": list(token.scopes),
        "created_at": token.created_at,
        "created_by": token.created_by.username if token.created_by else "",
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/scopes", response=list[ScopeOut], summary="Scopes a token can be given")
def list_scopes(request: HttpRequest) -> list[dict[str, str]]:
    return [{"name": name, "description": text} for name, text in sorted(SCOPES.items())]


@router.get("", response=list[TokenOut], summary="Your agency's tokens")
def list_tokens(request: HttpRequest) -> list[dict[str, Any]]:
    user = request.auth
    tokens = ApiToken.objects.filter(agency=user.agency).select_related("agency", "created_by")
    return [_token_out(t) for t in tokens]


@router.post(
    "",
    response={201: IssuedTokenOut},
    summary="Issue a token (the secret is shown only in this response)",
)
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    user = request.auth
    try:
        issued = actions.do_create_api_token(user, payload.name, payload.scopes)
    except actions.AccountError as exc:
        raise ApiError("invalid_token_request", str(exc), status=422) from None
    return Status(201, {**_token_out(issued.token), "token": issued.secret})


@router.delete("/{prefix}", response=TokenOut, summary="Revoke a token of your agency")
def revoke_token(request: HttpRequest, prefix: str) -> dict[str, Any]:
    user = request.auth
    token = ApiToken.objects.select_related("agency").filter(prefix=prefix).first()
    if token is None or token.agency_id != user.agency_id:
        # Another agency's token is reported as absent, not as forbidden: no probing.
        raise ApiError("not_found", f"no token {prefix!r} in agency {user.agency_code}", status=404)
    return _token_out(actions.do_revoke_api_token(user, token))
