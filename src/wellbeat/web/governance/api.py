"""Governance endpoints, mounted by the hub's NinjaAPI at /api/governance: agreements (list,
read, draft, approve, revoke) and governed aggregate / extract queries. Errors use the hub's one
shape; a refused query is 403 ``refused`` with the reasons in ``details``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from wellbeat.events.schema import Kind, Sector, Syndrome
from wellbeat.governance import AttributeCondition, DataRequest, Refusal
from wellbeat.governance.agreements import PURPOSES, Granularity
from wellbeat.governance.release import Release
from wellbeat.governance.resolution import PERIODS
from wellbeat.web.accounts.models import Agency, ApiToken, Role, User
from wellbeat.web.api.auth import AgencyTokenAuth, UserSessionAuth
from wellbeat.web.api.errors import ApiError
from wellbeat.web.api.schema import OneOf
from wellbeat.web.governance import actions, service
from wellbeat.web.governance.models import Agreement, visible_agreements

router = Router(tags=["governance"])

READ_SCOPE = "governance:read"
Purpose = Annotated[str, OneOf(PURPOSES)]
Period = Annotated[str, OneOf(PERIODS)]
Dimension = Annotated[
    str,
    Field(
        pattern=r"^(?:" + "|".join(service.BY_DIMENSIONS) + r"|attribute:[a-z][a-z0-9_]*)$",
        description="One of " + ", ".join(service.BY_DIMENSIONS) + ", or attribute:<name> "
        "(an event attribute the agreement shares, docs/governance.md)",
        examples=["agency", "attribute:precinct"],
    ),
]


class AgreementOut(Schema):
    code: str
    title: str
    provider: str
    recipient: str
    purpose: str
    granularity: str
    recipient_roles: list[str]
    sectors: list[str] | None
    kinds: list[str] | None
    syndromes: list[str] | None
    fields: list[str]
    finest_layer: str | None
    finest_period: str | None
    min_cell: int
    valid_from: date
    valid_to: date | None
    status: str
    approved_by: list[str]
    history: list[dict[str, Any]]


class AgreementIn(Schema):
    title: str = ""
    provider: str
    recipient: str
    purpose: Purpose
    granularity: Granularity = Granularity.AGGREGATE
    recipient_roles: list[Role] = []
    sectors: list[Sector] | None = None
    kinds: list[Kind] | None = None
    syndromes: list[Syndrome] | None = None
    fields: list[str] = []
    finest_layer: str | None = None
    finest_period: Period | None = None
    min_cell: int = 10
    valid_from: date
    valid_to: date | None = None
    reason: str = ""


class ReasonIn(Schema):
    reason: str = ""


class AttributeIn(Schema):
    """A condition on one event attribute: exactly one of ``equals`` (any of the values) or
    ``greater_than`` (a number). An event without the attribute never matches."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", examples=["race"])
    equals: list[str] | None = None
    greater_than: float | None = None


class QueryIn(Schema):
    purpose: Purpose
    agencies: list[str] | None = None
    sectors: list[Sector] | None = None
    kinds: list[Kind] | None = None
    syndromes: list[Syndrome] | None = None
    codes: list[str] | None = None
    start: datetime | date | None = None
    """A date (``2025-03-01``) is a local day of the hub; a timestamp is an instant."""
    end: datetime | date | None = None
    """Excluded: a date is the first local day left out; a timestamp an instant."""
    coarsen: bool = False
    attributes: list[AttributeIn] = []


class AggregateIn(QueryIn):
    area_layer: str | None = None
    period: Period | None = None
    by: list[Dimension] = []


class ExtractIn(QueryIn):
    columns: list[str]
    limit: int | None = 1000


class WindowOut(Schema):
    """The time window actually read: the request's, widened to whole periods of the
    agreements' grid for other agencies' counts (end excluded). Snapped windows are local days
    of the hub's time zone (ISO 8601 dates); an unsnapped instant stays an ISO timestamp."""

    start: str | None
    end: str | None


class ReleaseOut(Schema):
    columns: list[str]
    rows: list[list[Any]]
    agreements: list[str]
    providers: list[str]
    area_layer: str | None
    period: str | None
    window: WindowOut
    notes: list[str]
    suppressed_cells: int
    withheld_part2_rows: int


def _agreement_out(a: Agreement) -> dict[str, Any]:
    return {
        "code": a.code,
        "title": a.title,
        "provider": a.provider.code,
        "recipient": a.recipient.code,
        "purpose": a.purpose,
        "granularity": a.granularity,
        "recipient_roles": a.recipient_roles or [],
        "sectors": a.sectors,
        "kinds": a.kinds,
        "syndromes": a.syndromes,
        "fields": a.fields or [],
        "finest_layer": a.finest_layer or None,
        "finest_period": a.finest_period or None,
        "min_cell": a.min_cell,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "status": a.effective_status(),
        "approved_by": sorted(a.approved_sides()),
        "history": [
            {
                "action": e.action,
                "at": e.at.isoformat(),
                "actor": e.actor.username if e.actor else None,
                "reason": e.reason,
            }
            for e in a.events.select_related("actor")
        ],
    }


def _session_user(request: HttpRequest) -> User:
    user = request.auth
    if not isinstance(user, User):
        raise ApiError(
            "forbidden", "this endpoint needs a signed-in user, not an agency token", status=403
        )
    return user


def _governance_error(exc: actions.GovernanceError) -> ApiError:
    return ApiError(exc.code, exc.message, exc.details, status=exc.status)


def _plain_strs(values: Iterable[str] | None) -> list[str] | None:
    """Enum members as the plain strings the actions and the lake store."""
    return None if values is None else [str(v) for v in values]


def _agreement_for(user: User, code: str) -> Agreement:
    return get_object_or_404(visible_agreements(user), code=code)


@router.get(
    "/agreements",
    response=list[AgreementOut],
    auth=UserSessionAuth(),
    summary="Agreements you can see",
)
def list_agreements(request: HttpRequest) -> list[dict[str, Any]]:
    return [_agreement_out(a) for a in visible_agreements(_session_user(request))]


@router.get(
    "/agreements/{code}",
    response=AgreementOut,
    auth=UserSessionAuth(),
    summary="One agreement with its history",
)
def get_agreement(request: HttpRequest, code: str) -> dict[str, Any]:
    return _agreement_out(_agreement_for(_session_user(request), code))


@router.post(
    "/agreements",
    response={201: AgreementOut},
    auth=UserSessionAuth(),
    summary="Draft an agreement",
)
def draft_agreement(request: HttpRequest, payload: AgreementIn) -> Status[dict[str, Any]]:
    user = _session_user(request)
    agencies = {
        a.code: a for a in Agency.objects.filter(code__in=[payload.provider, payload.recipient])
    }
    for field in ("provider", "recipient"):
        if getattr(payload, field) not in agencies:
            raise ApiError(
                "validation_error",
                f"field '{field}': unknown agency {getattr(payload, field)!r}",
                {"field": field},
                status=422,
            )
    try:
        agreement = actions.do_draft_agreement(
            user,
            title=payload.title,
            provider=agencies[payload.provider],
            recipient=agencies[payload.recipient],
            purpose=payload.purpose,
            granularity=str(payload.granularity),
            finest_layer=payload.finest_layer,
            finest_period=payload.finest_period,
            min_cell=payload.min_cell,
            valid_from=payload.valid_from,
            valid_to=payload.valid_to,
            recipient_roles=_plain_strs(payload.recipient_roles) or [],
            sectors=_plain_strs(payload.sectors),
            kinds=_plain_strs(payload.kinds),
            syndromes=_plain_strs(payload.syndromes),
            fields=payload.fields,
            reason=payload.reason,
        )
    except actions.GovernanceError as exc:
        raise _governance_error(exc) from exc
    return Status(201, _agreement_out(agreement))


@router.post(
    "/agreements/{code}/approve",
    response=AgreementOut,
    auth=UserSessionAuth(),
    summary="Approve for your side",
)
def approve_agreement(request: HttpRequest, code: str, payload: ReasonIn) -> dict[str, Any]:
    user = _session_user(request)
    try:
        agreement = actions.do_approve_agreement(user, _agreement_for(user, code), payload.reason)
    except actions.GovernanceError as exc:
        raise _governance_error(exc) from exc
    return _agreement_out(agreement)


@router.post(
    "/agreements/{code}/revoke",
    response=AgreementOut,
    auth=UserSessionAuth(),
    summary="Revoke an agreement",
)
def revoke_agreement(request: HttpRequest, code: str, payload: ReasonIn) -> dict[str, Any]:
    user = _session_user(request)
    try:
        agreement = actions.do_revoke_agreement(user, _agreement_for(user, code), payload.reason)
    except actions.GovernanceError as exc:
        raise _governance_error(exc) from exc
    return _agreement_out(agreement)


def _requester(request: HttpRequest) -> service.Requester:
    auth = request.auth
    if isinstance(auth, ApiToken):
        return service.requester_for_token(auth)
    if isinstance(auth, User) and auth.agency is not None:
        return service.requester_for_user(auth)
    raise ApiError(
        "forbidden", "this account belongs to no agency and cannot read data", status=403
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _release_out(outcome: Release | Refusal) -> dict[str, Any]:
    if isinstance(outcome, Refusal):
        raise ApiError("refused", outcome.message, {"reasons": list(outcome.reasons)}, status=403)
    table = outcome.table
    return {
        "columns": table.column_names,
        "rows": [[_plain(row[c]) for c in table.column_names] for row in table.to_pylist()],
        "agreements": list(outcome.plan.agreement_ids),
        "providers": list(outcome.plan.providers),
        "area_layer": outcome.plan.area_layer,
        "period": outcome.plan.period,
        "window": {
            "start": outcome.plan.start.isoformat() if outcome.plan.start else None,
            "end": outcome.plan.end.isoformat() if outcome.plan.end else None,
        },
        "notes": list(outcome.notes),
        "suppressed_cells": outcome.suppressed_cells,
        "withheld_part2_rows": outcome.withheld_part2_rows,
    }


def _governed(request: HttpRequest, purpose: str, data_request: DataRequest) -> dict[str, Any]:
    """The governed read, with a query the lake cannot answer (an unknown column, say)
    refused as 422 ``invalid_query``."""
    try:
        outcome = service.governed_read(_requester(request), purpose, data_request)
    except service.QueryError as exc:
        raise ApiError("invalid_query", str(exc), status=422) from None
    return _release_out(outcome)


def _bound(name: str, value: datetime | date | None) -> datetime | date | None:
    """A window bound as given; a timestamp without its zone is refused (which instant it
    means depends on a zone the caller did not say)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ApiError(
            "invalid",
            f"field {name!r}: a timestamp needs its time zone (e.g. Z or -06:00); "
            "give a date (YYYY-MM-DD) for a whole local day of the hub",
            {"field": name},
            status=422,
        )
    return value


def _base(payload: QueryIn) -> dict[str, Any]:
    def opt(values: Iterable[str] | None) -> tuple[str, ...] | None:
        plain = _plain_strs(values)
        return None if plain is None else tuple(plain)

    return {
        "agencies": opt(payload.agencies),
        "sectors": opt(payload.sectors),
        "kinds": opt(payload.kinds),
        "syndromes": opt(payload.syndromes),
        "codes": opt(payload.codes),
        "start": _bound("start", payload.start),
        "end": _bound("end", payload.end),
        "coarsen": payload.coarsen,
        "attributes": tuple(
            AttributeCondition(
                a.name,
                equals=None if a.equals is None else tuple(a.equals),
                greater_than=a.greater_than,
            )
            for a in payload.attributes
        ),
    }


@router.post(
    "/aggregate",
    response=ReleaseOut,
    auth=[UserSessionAuth(), AgencyTokenAuth([READ_SCOPE])],
    summary="Governed counts",
)
def governed_aggregate(request: HttpRequest, payload: AggregateIn) -> dict[str, Any]:
    """Counts under the agreements in force: narrowed, coarsened, small cells suppressed."""
    data_request = DataRequest(
        kind="aggregate",
        area_layer=payload.area_layer,
        period=payload.period,
        by=tuple(str(dim) for dim in payload.by),
        **_base(payload),
    )
    return _governed(request, payload.purpose, data_request)


@router.post("/extract", response=ReleaseOut, auth=UserSessionAuth(), summary="Governed rows")
def governed_extract(request: HttpRequest, payload: ExtractIn) -> dict[str, Any]:
    """Pseudonymous rows (re-keyed per agreement) for users with person-level access."""
    data_request = DataRequest(
        kind="extract", columns=tuple(payload.columns), limit=payload.limit, **_base(payload)
    )
    return _governed(request, payload.purpose, data_request)
