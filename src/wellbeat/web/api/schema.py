"""The hub's NinjaAPI: validation paths as clients send them and an OpenAPI document that
declares the error responses every operation can give, all in the one error shape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ninja import NinjaAPI
from ninja.errors import ValidationError, ValidationErrorContext
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

ERROR_SCHEMA_NAME = "Error"

ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_SCHEMA_NAME,
    "type": "object",
    "description": 'Every error of the API: {"error": {"code", "message", "details"}}.',
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "stable, machine-readable"},
                "message": {"type": "string", "description": "for people"},
                "details": {"anyOf": [{"type": "object"}, {"type": "array"}]},
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}

_ERROR_DESCRIPTIONS = {
    400: "Malformed request body (`bad_request`)",
    401: "No valid session or agency token (`unauthenticated`)",
    403: "Not allowed: role, scope, CSRF (`forbidden`, `insufficient_scope`, `csrf_failed`, …)",
    404: "No such resource visible to you (`not_found`)",
    409: "The resource's state does not allow this (`conflict`)",
    413: "Request body over the hub's limit (`payload_too_large`)",
    422: "Invalid input; `details` lists each field's path and problem (`validation_error`, …)",
    429: "Over a rate limit of this token, user or address (`too_many_requests`); "
    "`details` names the limit, `Retry-After` the seconds to wait",
}

_HEADERS = {
    429: {
        "Retry-After": {
            "description": "Seconds to wait before the next request counts again",
            "schema": {"type": "integer", "minimum": 0},
        }
    }
}

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}
        },
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def error_statuses(operation: Operation) -> list[int]:
    """The error statuses an operation can answer with: 401/403 when it needs a sign-in,
    400/413 when it takes a body, 404 for path parameters and resources a body names,
    409 for state changes, 422 always (parameters, body, or the endpoint's own checks), 429
    when it is rate-limited."""
    sources = {model.__ninja_param_source__ for model in operation.models}
    takes_body = bool(_BODY_METHODS & set(operation.methods))
    statuses = {422}
    if operation.auth_callbacks:
        statuses |= {401, 403}
    if takes_body:
        statuses |= {400, 404, 409, 413}
    if "path" in sources:
        statuses.add(404)
    if operation.throttle_objects:
        statuses.add(429)
    return sorted(statuses)


class HubOpenAPISchema(OpenAPISchema):
    """Ninja's OpenAPI document plus the documented error responses of every operation."""

    def responses(self, operation: Operation) -> dict[int, dict[str, Any]]:
        result = super().responses(operation)
        self.schemas.setdefault(ERROR_SCHEMA_NAME, ERROR_SCHEMA)
        for status in error_statuses(operation):
            result.setdefault(status, _error_response(status))
        return result


class HubNinjaAPI(NinjaAPI):
    """NinjaAPI with the hub's OpenAPI document and validation paths without the Python
    parameter's name: a JSON body's field is ``body.weapon``, never ``body.body.weapon``."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return HubOpenAPISchema(api=self, path_prefix=path_prefix)

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext]
    ) -> ValidationError:
        error = super().validation_error_from_error_contexts(error_contexts)
        wrappers = {
            getattr(context.model, "__read_from_single_attr__", None) for context in error_contexts
        } - {None}
        for item in error.errors:
            loc = tuple(item.get("loc", ()))
            # A body read into one schema parameter is wrapped as {name: body} for pydantic;
            # the client sent the body itself, so its paths start at the body.
            if len(loc) >= 2 and loc[0] == "body" and loc[1] in wrappers:
                item["loc"] = (loc[0], *loc[2:])
        return error


class OneOf:
    """``Annotated[str, OneOf(values)]``: a string that must be one of ``values`` (read when the
    schema class is built), declared as an ``enum`` in the OpenAPI document and refused with
    422 ``validation_error`` otherwise. For vocabularies kept as tuples or dict keys; a
    ``StrEnum`` can be the field's type directly."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = list(values)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.literal_schema(self.values)
