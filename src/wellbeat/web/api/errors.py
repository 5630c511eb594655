"""The JSON API's one error shape: ``{"error": {"code", "message", "details"}}``.

Ninja's exception handlers produce it for everything raised inside an endpoint; the
``ApiErrorShapeMiddleware`` rewrites whatever else answers under ``/api/`` with an error status
(Django's 404 for an unknown path, 405 from the router, a CSRF refusal, a crash) into the same
shape, so clients parse exactly one format.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from ninja import NinjaAPI
from ninja.errors import (
    AuthenticationError,
    AuthorizationError,
    HttpError,
    Throttled,
    ValidationError,
)

from wellbeat.web.api.throttling import SCOPE_NAMES, THROTTLED_ATTRIBUTE
from wellbeat.web.errors import ActionError

logger = logging.getLogger("wellbeat.api")

API_PREFIX = "/api/"

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(ActionError):
    """An API failure with a stable machine-readable ``code`` and a human ``message``, raised
    by an endpoint itself; ``status`` defaults to 400 whatever the code."""

    def __init__(
        self,
        code: str,
        message: str,
        details: dict[str, Any] | list[Any] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(code, message, details, status=status)


def code_for_status(status: int) -> str:
    return _CODES_BY_STATUS.get(status, "client_error" if status < 500 else "server_error")


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | list[Any] | None = None
) -> JsonResponse:
    """A JsonResponse in the one error shape."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JsonResponse(body, status=status)


CSRF_MESSAGE = (
    "CSRF check failed: browser sessions must send the X-CSRFToken header; "
    "machine clients should use an agency API token"
)


def payload_too_large() -> JsonResponse:
    """413 for a request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django refuses to read it)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(
        413,
        "payload_too_large",
        f"the request body is over the hub's limit of {limit} bytes; batches go to "
        "POST /api/batches as multipart files",
        {"limit": limit},
    )


def too_many_fields() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return error_response(
        400, "bad_request", f"the request has more than {limit} fields", {"limit": limit}
    )


def too_many_requests(request: HttpRequest, wait: float | None) -> JsonResponse:
    """429 for a request over a rate limit, naming the limit; Ninja adds ``Retry-After``."""
    scope, rate = getattr(request, THROTTLED_ATTRIBUTE, ("", ""))
    retry_after = math.ceil(wait) if wait is not None else None
    whose = SCOPE_NAMES.get(scope, "this client")
    message = f"too many requests: the limit for {whose} is {rate or 'exceeded'}"
    if retry_after is not None:
        message += f"; retry after {retry_after} s"
    return error_response(
        429,
        "too_many_requests",
        message,
        {"scope": scope, "limit": rate, "retry_after": retry_after},
    )


def forbidden(exc: PermissionDenied) -> JsonResponse:
    return error_response(403, "forbidden", str(exc) or "not allowed")


def _validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        details.append(
            {
                "field": ".".join(location),
                "message": str(error.get("msg", "invalid value")),
                "type": str(error.get("type", "")),
            }
        )
    return details


def install_error_handlers(api: NinjaAPI) -> None:
    """Register handlers that turn every exception raised in an endpoint into the error shape."""

    def on_action_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    def on_validation(request: HttpRequest, exc: Any) -> HttpResponse:
        details = _validation_details(list(exc.errors))
        fields = ", ".join(d["field"] for d in details if d["field"]) or "request"
        return error_response(422, "validation_error", f"invalid input in: {fields}", details)

    def on_authentication(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(
            401,
            "unauthenticated",
            "authentication required: send 'Authorization: Bearer <agency API token>' "
            "or sign in to the hub",
        )

    def on_authorization(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(403, "forbidden", str(exc.message) or "not allowed")

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(exc.status_code, code_for_status(exc.status_code), str(exc))

    def on_throttled(request: HttpRequest, exc: Any) -> HttpResponse:
        return too_many_requests(request, exc.wait)

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(404, "not_found", str(exc) or "not found")

    def on_too_big(request: HttpRequest, exc: Any) -> HttpResponse:
        return payload_too_large()

    def on_too_many_fields(request: HttpRequest, exc: Any) -> HttpResponse:
        return too_many_fields()

    def on_permission_denied(request: HttpRequest, exc: Any) -> HttpResponse:
        return forbidden(exc)

    def on_crash(request: HttpRequest, exc: Any) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal error; the hub logged the details")

    api.add_exception_handler(ActionError, on_action_error)  # ApiError and every app's refusal
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(AuthorizationError, on_authorization)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Throttled, on_throttled)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(TooManyFieldsSent, on_too_many_fields)
    api.add_exception_handler(PermissionDenied, on_permission_denied)
    api.add_exception_handler(Exception, on_crash)


def _is_error_shape(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = json.loads(response.content)
    except (ValueError, AttributeError):
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and {"code", "message", "details"} <= set(error)


def _default_message(request: HttpRequest, response: HttpResponse) -> tuple[str, dict[str, Any]]:
    status = response.status_code
    if status == 404:
        return f"no API endpoint at {request.path}", {"path": request.path}
    if status == 405:
        allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
        return (
            f"method {request.method} not allowed on {request.path}",
            {"allowed": allowed},
        )
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "error"
    return phrase.lower(), {}


class ApiErrorShapeMiddleware:
    """Rewrites any non-conforming error response under /api/ into the one error shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if getattr(response, "streaming", False) or _is_error_shape(response):
            return response
        message, details = _default_message(request, response)
        shaped = error_response(
            response.status_code, code_for_status(response.status_code), message, details
        )
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        if response.has_header("WWW-Authenticate"):
            shaped["WWW-Authenticate"] = response["WWW-Authenticate"]
        return shaped

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, Http404):
            return error_response(404, "not_found", str(exception) or "not found")
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large()
        if isinstance(exception, TooManyFieldsSent):
            return too_many_fields()
        if isinstance(exception, PermissionDenied):
            return forbidden(exception)
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal error; the hub logged the details")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF refusal: the error shape under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return error_response(403, "csrf_failed", CSRF_MESSAGE, {"reason": reason})
    return django_csrf_failure(request, reason=reason)
