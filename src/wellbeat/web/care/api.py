"""JSON API for every care action, mounted at ``/api/care`` (signed-in browser sessions; unsafe
methods need the CSRF header). Errors use the hub's one shape. Officers get a referral's status
only; clinicians and coordinators of either agency get its detail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from wellbeat.care.directory import DirectoryQuery
from wellbeat.care.hsds import SERVICE_STATUSES, ServiceUpdate
from wellbeat.care.lifecycle import TaskStatus
from wellbeat.care.measures import PERIODS, CallOutcome
from wellbeat.care.sealing import ContactCard, SealingError
from wellbeat.care.triage import Call, Recommendation, Response, recommend
from wellbeat.privacy.pseudonym import Identity
from wellbeat.web.accounts.models import User
from wellbeat.web.api.auth import UserSessionAuth
from wellbeat.web.api.errors import ApiError
from wellbeat.web.api.schema import OneOf
from wellbeat.web.care import actions
from wellbeat.web.care.actions import CareError
from wellbeat.web.care.models import (
    DirectoryEntry,
    Encounter,
    FollowUp,
    PlaceType,
    Referral,
    TriageCall,
)
from wellbeat.web.care.reports import care_measure_series, care_measures, series_record
from wellbeat.web.care.views import _matches

router = Router(auth=UserSessionAuth(), tags=["care"])

Box = Annotated[str, OneOf(("sent", "incoming", "agency"))]
MeasurePeriod = Annotated[str, OneOf(PERIODS)]


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _api_error(exc: CareError) -> ApiError:
    return ApiError(exc.code, exc.message, exc.details, status=exc.http_status)


class ServiceOut(Schema):
    id: str
    name: str
    organization: str
    agency: str | None
    needs: list[str]
    needs_met: list[str]
    distance_km: float | None
    open_now: bool | None
    stale: bool
    accepting_referrals: bool
    part2_program: bool
    first_contact_hours: int | None


class ServicePatch(Schema):
    status: Annotated[str, OneOf(SERVICE_STATUSES)] | None = None
    accepting_referrals: bool | None = None
    first_contact_hours: int | None = None
    alert: str | None = None


class ServiceSearch(Schema):
    needs: list[str] = []
    text: str = ""
    language: str | None = None
    lat: float | None = None
    lon: float | None = None
    within_km: float | None = None
    open_now: bool = False
    accepting: bool = False


@router.get("/services", response=list[ServiceOut], summary="Search the service directory")
def search_services(request: HttpRequest, filters: Query[ServiceSearch]) -> list[dict[str, Any]]:
    near = (
        (filters.lat, filters.lon) if filters.lat is not None and filters.lon is not None else None
    )
    try:
        query = DirectoryQuery(
            needs=tuple(filters.needs),
            text=filters.text,
            language=filters.language,
            near=near,
            within_km=filters.within_km,
            open_at=timezone.now() if filters.open_now else None,
            accepting_referrals=filters.accepting,
        )
    except ValueError as exc:
        raise ApiError("invalid", str(exc), status=422) from exc
    return [
        {
            "id": m.service.id,
            "name": m.service.name,
            "organization": m.service.organization_name,
            "agency": m.service.agency,
            "needs": list(m.service.needs),
            "needs_met": list(m.needs_met),
            "distance_km": m.distance_km,
            "open_now": m.open_now,
            "stale": m.stale,
            "accepting_referrals": m.service.takes_referrals,
            "part2_program": m.service.part2_program,
            "first_contact_hours": m.service.first_contact_hours,
        }
        for m, _entry in _matches(query)
    ]


@router.patch("/services/{service_id}", summary="Update your own service (providers)")
def update_service(request: HttpRequest, service_id: str, body: ServicePatch) -> dict[str, Any]:
    entry = get_object_or_404(DirectoryEntry, service_id=service_id)
    try:
        actions.do_update_service(_user(request), entry, ServiceUpdate(**body.dict()))
    except CareError as exc:
        raise _api_error(exc) from exc
    return entry.document


class EncounterIn(Schema):
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str | None = None
    occurred_at: datetime | None = None
    place_type: Annotated[str, OneOf(PlaceType.values)]
    latitude: float | None = None
    longitude: float | None = None
    needs: list[str]
    crisis: bool = False
    consent_to_refer: bool = False


class EncounterOut(Schema):
    id: str
    occurred_at: datetime
    place_type: str
    needs: list[str]
    crisis: bool
    consent_to_refer: bool
    latitude: float | None
    longitude: float | None


def _encounter(e: Encounter) -> dict[str, Any]:
    return {
        "id": str(e.public_id),
        "occurred_at": e.occurred_at,
        "place_type": e.place_type,
        "needs": e.needs,
        "crisis": e.crisis,
        "consent_to_refer": e.consent_to_refer,
        "latitude": e.latitude,
        "longitude": e.longitude,
    }


@router.post("/encounters", response={201: EncounterOut}, summary="Record a field encounter")
def create_encounter(request: HttpRequest, body: EncounterIn) -> Status:
    occurred = body.occurred_at or timezone.now()
    if timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred)
    try:
        encounter = actions.do_record_encounter(
            _user(request),
            identity=Identity(
                first_name=body.first_name,
                last_name=body.last_name,
                dob=body.date_of_birth,
                sex=body.sex,
            ),
            occurred_at=occurred,
            place_type=body.place_type,
            needs=body.needs,
            crisis=body.crisis,
            consent_to_refer=body.consent_to_refer,
            latitude=body.latitude,
            longitude=body.longitude,
        )
    except CareError as exc:
        raise _api_error(exc) from exc
    return Status(201, _encounter(encounter))


@router.get("/encounters", response=list[EncounterOut], summary="Your agency's encounters")
def list_encounters(request: HttpRequest) -> list[dict[str, Any]]:
    return [_encounter(e) for e in actions.encounters_for(_user(request))[:200]]


class ContactIn(Schema):
    """The person's name and how to reach them: sealed to the receiving agency's key on
    arrival (the hub keeps only ciphertext) and only with ``share_contact``."""

    name: str
    phone: str = ""
    contact_method: str = "any"
    contact_time: str = ""
    address: str = ""


class ReferralIn(Schema):
    encounter_id: str
    service_id: str
    share_contact: bool = False
    contact: ContactIn | None = None


class StatusIn(Schema):
    status: Annotated[str, OneOf(s.value for s in TaskStatus)]
    reason: str = ""


def _referral(user: User, referral: Referral) -> dict[str, Any]:
    """What this user may see of a referral: status for everyone who is a party; clinical
    detail for clinicians and coordinators; nothing but the fact of withholding under Part 2."""
    access = actions.access_for(user, referral)
    out: dict[str, Any] = {
        "id": str(referral.public_id),
        "service_id": referral.service_id,
        "service_name": referral.service_name,
        "referrer_agency": referral.referrer_agency.code,
        "performer_agency": referral.performer_agency.code,
        "authored_on": referral.authored_on.isoformat(),
        "contact_status": referral.contact_status,
    }
    if access is None or access.withheld:
        out["withheld"] = access.withheld if access else "not a party to this referral"
        return out
    out.update(
        {
            "status": referral.status,
            "status_label": referral.task_status.label,
            "last_modified": referral.last_modified.isoformat(),
            "first_contact_due": referral.first_contact_due.isoformat()
            if referral.first_contact_due
            else None,
        }
    )
    if access.clinical:
        out.update(
            {
                "person_token": referral.person_token,
                "needs": referral.needs,
                "status_reason": referral.status_reason,
                "part2": referral.part2,
                "consent": referral.consent_code or None,
                "first_contact_at": referral.first_contact_at.isoformat()
                if referral.first_contact_at
                else None,
                "history": [
                    {
                        "from": e.from_status,
                        "to": e.to_status,
                        "side": e.side,
                        "reason": e.reason,
                        "at": e.at.isoformat(),
                        "agency": e.actor_agency.code if e.actor_agency else None,
                    }
                    for e in referral.events.select_related("actor_agency")
                ],
            }
        )
    return out


@router.post("/referrals", response={201: dict}, summary="Refer from an encounter to a service")
def create_referral(request: HttpRequest, body: ReferralIn) -> Status:
    user = _user(request)
    encounter = actions.encounters_for(user).filter(public_id=_uuid(body.encounter_id)).first()
    if encounter is None:
        raise ApiError("not_found", f"no encounter {body.encounter_id} of your agency", status=404)
    entry = DirectoryEntry.objects.filter(service_id=body.service_id).first()
    if entry is None:
        raise ApiError("not_found", f"no service {body.service_id} in the directory", status=404)
    try:
        card = ContactCard(**body.contact.dict()) if body.contact else None
    except SealingError as exc:
        raise ApiError("invalid", f"field 'contact': {exc}", status=422) from None
    try:
        referral = actions.do_refer(
            user, encounter, entry, contact=card, contact_consent=body.share_contact
        )
    except CareError as exc:
        raise _api_error(exc) from exc
    return Status(201, _referral(user, referral))


def _uuid(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(
            "not_found", f"{value!r} is not a referral or encounter id", status=404
        ) from None


@router.get(
    "/referrals", response=list[dict], summary="Referrals you sent, receive, or your agency's"
)
def list_referrals(request: HttpRequest, box: Box = "sent") -> list[dict[str, Any]]:
    user = _user(request)
    boxes = {
        "sent": actions.referrals_sent_by,
        "incoming": actions.incoming_referrals,
        "agency": actions.agency_referrals,
    }
    referrals = list(boxes[box](user)[:200])
    actions.record_list_access(user, f"api:referrals:{box}", referrals)
    return [_referral(user, r) for r in referrals]


def _get_referral(referral_id: str) -> Referral:
    referral = (
        Referral.objects.select_related("referrer_agency", "performer_agency")
        .filter(public_id=_uuid(referral_id))
        .first()
    )
    if referral is None:
        raise ApiError("not_found", f"no referral {referral_id}", status=404)
    return referral


@router.get(
    "/referrals/{referral_id}", response=dict, summary="One referral (what your role may see)"
)
def get_referral(request: HttpRequest, referral_id: str) -> dict[str, Any]:
    user = _user(request)
    referral = _get_referral(referral_id)
    try:
        actions.do_open_referral(user, referral)
    except CareError as exc:
        raise _api_error(exc) from exc
    return _referral(user, referral)


@router.post("/referrals/{referral_id}/status", response=dict, summary="Move a referral's status")
def change_status(request: HttpRequest, referral_id: str, body: StatusIn) -> dict[str, Any]:
    user = _user(request)
    try:
        referral = actions.do_change_status(
            user, _get_referral(referral_id), body.status, body.reason
        )
    except CareError as exc:
        raise _api_error(exc) from exc
    return _referral(user, referral)


class FollowUpOut(Schema):
    id: int
    referral_id: str
    service_name: str
    agency: str
    due_at: datetime | None
    created_at: datetime


class ResolveIn(Schema):
    resolution: str


@router.get("/followups", response=list[FollowUpOut], summary="Your open follow-up tasks")
def list_followups(request: HttpRequest) -> list[dict[str, Any]]:
    actions.do_raise_overdue_followups()
    return [
        {
            "id": f.pk,
            "referral_id": str(f.referral.public_id),
            "service_name": f.referral.service_name,
            "agency": f.agency.code,
            "due_at": f.due_at,
            "created_at": f.created_at,
        }
        for f in actions.followups_for(_user(request))
    ]


@router.post("/followups/{followup_id}/resolve", response=dict, summary="Close a follow-up")
def resolve_followup(request: HttpRequest, followup_id: int, body: ResolveIn) -> dict[str, Any]:
    followup = FollowUp.objects.filter(pk=followup_id).first()
    if followup is None:
        raise ApiError("not_found", f"no follow-up {followup_id}", status=404)
    try:
        actions.do_resolve_followup(_user(request), followup, body.resolution)
    except CareError as exc:
        raise _api_error(exc) from exc
    return {
        "id": followup.pk,
        "resolved_at": followup.resolved_at.isoformat() if followup.resolved_at else None,
    }


class CallIn(Schema):
    call_type: str = ""
    dispatch_code: str = ""
    narrative: str = ""
    weapon: bool | None = None
    violence: bool | None = None
    medical: bool | None = None
    received_at: datetime | None = None
    area: str = ""


class NarrativeMentionOut(Schema):
    """One keyword of the narrative and how it was read."""

    groups: list[str]
    keyword: str
    reading: str = Field(description="affirmed, negated or uncertain (counts as present)")
    cue: str = Field(description="the negation or uncertainty cue; empty when affirmed")


class RecommendationOut(Schema):
    response: str
    rule_id: str
    rules_version: str
    reasons: list[str]
    conflicts: list[str] = Field(
        description="where the narrative and a weapon / violence / medical field disagree; "
        "the safer reading was taken (also the first reasons)"
    )
    narrative: list[NarrativeMentionOut]
    apco_code: str | None
    eligible_for_alternative: bool
    call_id: str | None = None


def _recommendation(got: Recommendation) -> dict[str, Any]:
    return {
        "response": got.response.value,
        "rule_id": got.rule_id,
        "rules_version": got.rules_version,
        "reasons": list(got.reasons),
        "conflicts": list(got.conflicts),
        "narrative": [
            {
                "groups": sorted(m.categories),
                "keyword": m.text,
                "reading": m.reading.value,
                "cue": m.cue,
            }
            for m in got.narrative
        ],
        "apco_code": got.apco_code,
        "eligible_for_alternative": got.eligible_for_alternative,
    }


class OutcomeIn(Schema):
    actual_response: Annotated[str, OneOf(r.value for r in Response)]
    outcome: Annotated[str, OneOf(o.value for o in CallOutcome)]


def _call(body: CallIn) -> Call:
    received = body.received_at
    if received is not None and timezone.is_naive(received):
        received = timezone.make_aware(received)
    return Call(**{**body.dict(), "received_at": received})


@router.post(
    "/triage/recommend", response=RecommendationOut, summary="Recommend a response (not recorded)"
)
def triage_recommend(request: HttpRequest, body: CallIn) -> dict[str, Any]:
    user = _user(request)
    if not any(user.has_role(r) for r in actions.TRIAGE_ROLES):
        raise ApiError(
            "forbidden", "triage needs the officer, clinician or program_manager role", status=403
        )
    return _recommendation(recommend(actions.current_rules(), _call(body)))


@router.post("/triage/calls", response={201: RecommendationOut}, summary="Triage and record a call")
def triage_record(request: HttpRequest, body: CallIn) -> Status:
    try:
        row, got = actions.do_record_call(_user(request), _call(body))
    except CareError as exc:
        raise _api_error(exc) from exc
    return Status(
        201,
        {**_recommendation(got), "call_id": str(row.public_id)},
    )


@router.post(
    "/triage/calls/{call_id}/outcome",
    response=dict,
    summary="Record the response sent and the outcome",
)
def triage_outcome(request: HttpRequest, call_id: str, body: OutcomeIn) -> dict[str, Any]:
    call = TriageCall.objects.filter(public_id=_uuid(call_id)).first()
    if call is None:
        raise ApiError("not_found", f"no call {call_id}", status=404)
    try:
        actions.do_record_call_response(_user(request), call, body.actual_response, body.outcome)
    except CareError as exc:
        raise _api_error(exc) from exc
    return {
        "id": str(call.public_id),
        "actual_response": call.actual_response,
        "outcome": call.outcome,
    }


def _need_measure_role(user: User) -> None:
    if not any(user.has_role(r) for r in actions.MEASURE_ROLES):
        raise ApiError(
            "forbidden",
            f"care measures need one of the roles: {', '.join(sorted(actions.MEASURE_ROLES))}",
            status=403,
        )


@router.get("/measures", response=list[dict], summary="Care measures (counts only)")
def get_measures(request: HttpRequest) -> list[dict[str, Any]]:
    _need_measure_role(_user(request))
    return [m.as_dict() for m in care_measures()]


@router.get(
    "/measures/series",
    response=list[dict],
    summary="Care measures per reporting period (counts only)",
)
def get_measure_series(
    request: HttpRequest, period: MeasurePeriod = "month"
) -> list[dict[str, Any]]:
    """One row per period and measure (columns as the page's CSV download), zero-filled from
    the first period with a record to the current one."""
    _need_measure_role(_user(request))
    return [series_record(row) for row in care_measure_series(period)]


@router.post("/fhir", response=dict, summary="Import a FHIR R4 Bundle of referrals (hub admins)")
def import_fhir(request: HttpRequest) -> dict[str, Any]:
    """The body is a Bundle as ``GET /fhir`` returns it; all or nothing (see docs/care.md)."""
    user = _user(request)
    if not user.has_role("hub_admin"):
        raise ApiError("forbidden", "the FHIR import needs the hub_admin role", status=403)
    try:
        result = actions.do_import_fhir(request.body.decode("utf-8"), source="body", actor=user)
    except UnicodeDecodeError:
        raise ApiError("invalid", "the body is not UTF-8 text", status=400) from None
    except CareError as exc:
        raise _api_error(exc) from exc
    return dict(result.__dict__)


@router.get("/fhir", response=dict, summary="Referrals as a FHIR R4 Bundle (hub admins)")
def export_fhir(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    if not user.has_role("hub_admin"):
        raise ApiError("forbidden", "the FHIR export needs the hub_admin role", status=403)
    return actions.do_export_fhir(actor=user).bundle
