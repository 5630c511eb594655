"""The hub's JSON API (django-ninja): one NinjaAPI, one error shape, agency tokens and
browser sessions. OpenAPI at /api/openapi.json, docs at /api/docs (assets served locally)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Schema

from wellbeat import __version__
from wellbeat.web.api.audit import router as audit_router
from wellbeat.web.api.auth import SCOPES, AgencyTokenAuth, UserSessionAuth, register_scope
from wellbeat.web.api.batches import router as batches_router
from wellbeat.web.api.errors import ApiError, error_response, install_error_handlers
from wellbeat.web.api.schema import HubNinjaAPI
from wellbeat.web.api.throttling import api_throttles
from wellbeat.web.api.tokens import router as tokens_router

__all__ = [
    "SCOPES",
    "AgencyTokenAuth",
    "ApiError",
    "UserSessionAuth",
    "api",
    "error_response",
    "register_scope",
]

api = HubNinjaAPI(
    title="wellbeat hub API",
    version=__version__,
    description=(
        "Agency uploads, API tokens, the audit log and (under /governance) governed queries. "
        'Every error has the shape {"error": {"code", "message", "details"}}. '
        "Requests are rate-limited per API token, per signed-in user and per address of "
        "unauthenticated clients: over the limit the answer is 429 with Retry-After."
    ),
    throttle=api_throttles(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
install_error_handlers(api)


class ApiInfo(Schema):
    name: str
    version: str
    openapi_url: str
    docs_url: str


@api.get("/", response=ApiInfo, tags=["meta"], summary="What this API is")
def api_root(request: HttpRequest) -> dict[str, Any]:
    return {
        "name": "wellbeat",
        "version": __version__,
        "openapi_url": "/api/openapi.json",
        "docs_url": "/api/docs",
    }


api.add_router("/batches", batches_router)
api.add_router("/tokens", tokens_router)
api.add_router("/audit", audit_router)
