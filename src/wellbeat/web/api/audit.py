"""API: the audit log, for auditors (session sign-in with the auditor role)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema

from wellbeat.web.accounts.models import Role
from wellbeat.web.api.auth import UserSessionAuth
from wellbeat.web.audit import actions as audit
from wellbeat.web.audit.chain import verify
from wellbeat.web.audit.queries import AuditFilter, entry_row, filter_entries

router = Router(tags=["audit"], auth=UserSessionAuth(roles=[Role.AUDITOR]))


class AuditQuery(Schema):
    who: str = ""
    agency: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    limit: int = 100
    offset: int = 0


class AuditItem(Schema):
    seq: int
    at: str
    action: str
    actor: str
    agency: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AuditPage(Schema):
    count: int
    limit: int
    offset: int
    entries: list[AuditItem]


class ChainStatus(Schema):
    ok: bool
    checked: int
    first_broken_id: int | None
    first_broken_seq: int | None
    reason: str


@router.get("", response=AuditPage, summary="List audit entries (newest first)")
def list_audit(request: HttpRequest, query: Query[AuditQuery]) -> dict[str, Any]:
    """Entries the auditor may see matching the filters. The read itself is audited."""
    from wellbeat.web.api.errors import ApiError

    if not 1 <= query.limit <= 1000:
        raise ApiError(
            "validation_error",
            f"limit={query.limit}: expected 1..1000",
            [{"field": "query.limit", "message": "expected 1..1000", "type": "range"}],
            status=422,
        )
    if query.offset < 0:
        raise ApiError(
            "validation_error",
            f"offset={query.offset}: expected >= 0",
            [{"field": "query.offset", "message": "expected >= 0", "type": "range"}],
            status=422,
        )
    audit_filter = AuditFilter(query.who, query.agency, query.action, query.since, query.until)
    user = request.auth
    entries = filter_entries(user, audit_filter)
    count = entries.count()
    page = [entry_row(e) for e in entries[query.offset : query.offset + query.limit]]
    with transaction.atomic():
        audit.record(
            audit.AUDIT_EXPORTED,
            actor=user,
            agency=user.agency,
            target="audit:api",
            details={"filter": audit_filter.as_dict(), "rows": len(page)},
        )
    return {"count": count, "limit": query.limit, "offset": query.offset, "entries": page}


@router.get(
    "/verify",
    response=ChainStatus,
    summary="Verify the hash chain",
    auth=UserSessionAuth(roles=[Role.AUDITOR]),
)
def verify_chain(request: HttpRequest) -> dict[str, Any]:
    """Recompute every entry's hash and report the first broken entry, if any."""
    return verify().as_dict()
