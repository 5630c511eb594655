"""The HSDS 3.0 read API over the hub's directory: ``/hsds/`` (version, profile, openapi_url),
``/hsds/services`` (paginated, with the specification's query parameters) and
``/hsds/services/{id}`` (a fully nested service). Public: a service directory is published
information, and no person data is involved."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from wellbeat.care.hsds import HSDS_VERSION, hsds_openapi
from wellbeat.web.api.errors import error_response
from wellbeat.web.care.models import DirectoryEntry

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
PROFILE_URL = "https://docs.openreferral.org/en/v3.0/hsds/overview.html"
"""The base HSDS 3.0 profile (wellbeat adds no required fields)."""


def _one_to_one(document: dict[str, Any]) -> dict[str, Any]:
    """A service with only its one-to-one fields (the compiled ``service_list`` form)."""
    out: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, list):
            continue
        if isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if not isinstance(v, list | dict)}
        else:
            out[key] = value
    return out


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _int(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ValueError(f"query parameter {name!r}: {raw!r} is not a whole number") from None
    if number < 1:
        raise ValueError(f"query parameter {name!r}: must be >= 1, got {number}")
    return number


def _terms(document: dict[str, Any]) -> list[dict[str, Any]]:
    terms = []
    for attribute in document.get("attributes") or []:
        term = attribute.get("taxonomy_term")
        if isinstance(term, dict):
            terms.append(term)
    return terms


def _matches(document: dict[str, Any], request: HttpRequest, after: datetime | None) -> bool:
    words = (request.GET.get("search") or "").lower().split()
    if words:
        organization = document.get("organization") or {}
        text = " ".join(
            str(v)
            for v in (
                document.get("name"),
                document.get("description"),
                organization.get("name"),
            )
            if v
        ).lower()
        if not all(w in text for w in words):
            return False
    term_id = request.GET.get("taxonomy_term_id")
    if term_id and not any(t.get("id") == term_id for t in _terms(document)):
        return False
    taxonomy_id = request.GET.get("taxonomy_id")
    if taxonomy_id and not any(
        t.get("taxonomy_id") == taxonomy_id
        or (t.get("taxonomy_detail") or {}).get("id") == taxonomy_id
        for t in _terms(document)
    ):
        return False
    organization_id = request.GET.get("organization_id")
    if organization_id and (document.get("organization") or {}).get("id") != organization_id:
        return False
    if after is not None:
        modified = document.get("last_modified")
        try:
            when = datetime.fromisoformat(modified) if modified else None
        except ValueError:
            when = None
        if when is None or when < after:
            return False
    return True


@require_GET
def root(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "version": HSDS_VERSION,
            "profile": PROFILE_URL,
            "openapi_url": request.build_absolute_uri(reverse("care:hsds_openapi")),
        }
    )


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(hsds_openapi())


@require_GET
def services(request: HttpRequest) -> HttpResponse:
    try:
        page = _int(request, "page", 1)
        per_page = min(_int(request, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
        after_raw = request.GET.get("modified_after")
        after = datetime.fromisoformat(after_raw) if after_raw else None
    except ValueError as exc:
        return error_response(400, "bad_request", str(exc))
    if after is not None and after.tzinfo is None:
        return error_response(
            400, "bad_request", "query parameter 'modified_after': give a time zone (e.g. Z)"
        )
    fmt = (request.GET.get("format") or "json").lower()
    if fmt not in ("json", "ndjson"):
        return error_response(
            400, "bad_request", f"query parameter 'format': {fmt!r} is not json or ndjson"
        )
    documents = [
        e.document
        for e in DirectoryEntry.objects.order_by("position", "service_id").only("document_json")
        if _matches(e.document, request, after)
    ]
    if _bool(request.GET.get("minimal")):
        shaped = [{"id": d["id"], "last_modified": d.get("last_modified")} for d in documents]
    elif _bool(request.GET.get("full")):
        shaped = documents
    else:
        shaped = [_one_to_one(d) for d in documents]
    if fmt == "ndjson":
        body = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in shaped)
        return HttpResponse(body, content_type="application/x-ndjson")
    total = len(shaped)
    total_pages = math.ceil(total / per_page) if total else 0
    contents = shaped[(page - 1) * per_page : page * per_page]
    return JsonResponse(
        {
            "total_items": total,
            "total_pages": total_pages,
            "page_number": page,
            "size": len(contents),
            "first_page": page == 1,
            "last_page": page >= total_pages,
            "empty": not contents,
            "contents": contents,
        }
    )


@require_GET
def service(request: HttpRequest, service_id: str) -> JsonResponse:
    entry = DirectoryEntry.objects.filter(service_id=service_id).only("document_json").first()
    if entry is None:
        return error_response(404, "not_found", f"no service with id {service_id}")
    return JsonResponse(entry.document)
