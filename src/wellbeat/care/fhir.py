"""Referrals and Part 2 consents as FHIR R4 resources: ServiceRequest + Task per referral
(Gravity SDOH Clinical Care referral management) and Consent, in a collection Bundle, each
validated with ``fhir.resources`` (its R4B models: R4's Task, ServiceRequest and Consent).

The person appears only as a Patient holding the hub pseudonym as an identifier; agencies as
Organizations with their hub code. Parsing returns the same typed records the export took, so
export -> import -> export is lossless. A referral into a Part 2 program carries the security
label ``42CFRPart2`` on its ServiceRequest and Task.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task
from pydantic import ValidationError

from wellbeat.care.lifecycle import TaskStatus, TransitionError, parse_status
from wellbeat.care.needs import WELLBEAT_NAMESPACE, needs
from wellbeat.governance import PURPOSES

FHIR_VERSION = "4.0.1"
PERSON_TOKEN_SYSTEM = "urn:wellbeat:person-token"
AGENCY_SYSTEM = "urn:wellbeat:agency"
REFERRAL_SYSTEM = "urn:wellbeat:referral"
CONSENT_SYSTEM = "urn:wellbeat:consent"
PURPOSE_SYSTEM = "urn:wellbeat:purpose"
HSDS_SERVICE_SYSTEM = "urn:wellbeat:hsds-service"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
SNOMED = "http://snomed.info/sct"
PATIENT_REFERRAL = ("3457005", "Patient referral")
"""SNOMED CT 3457005 |Patient referral (procedure)|: ServiceRequest.code of every referral."""
REVOKED_AT_EXTENSION = "urn:wellbeat:fhir:consent-revoked-at"
EXPIRY_EVENT_EXTENSION = "urn:wellbeat:fhir:consent-expiry-event"

SERVICE_REQUEST_STATUS: dict[TaskStatus, str] = {
    TaskStatus.DRAFT: "draft",
    TaskStatus.REQUESTED: "active",
    TaskStatus.ACCEPTED: "active",
    TaskStatus.IN_PROGRESS: "active",
    TaskStatus.ON_HOLD: "on-hold",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.REJECTED: "revoked",
    TaskStatus.FAILED: "revoked",
    TaskStatus.CANCELLED: "revoked",
    TaskStatus.ENTERED_IN_ERROR: "entered-in-error",
}
"""ServiceRequest.status that goes with each Task.status (Gravity referral management)."""


class FhirError(ValueError):
    """A FHIR document wellbeat cannot accept; the message names the entry and the field."""


@dataclass(frozen=True)
class ReferralRecord:
    """A closed-loop referral as exchanged: who, to which service, for what, and where it is."""

    id: str
    person_token: str
    service_id: str
    service_name: str
    needs: tuple[str, ...]
    requester_agency: str
    performer_agency: str
    status: TaskStatus
    status_reason: str
    authored_on: datetime
    last_modified: datetime
    first_contact_at: datetime | None = None
    closed_at: datetime | None = None
    part2: bool = False
    consent_id: str | None = None


@dataclass(frozen=True)
class ConsentRecord:
    """A Part 2 consent as exchanged (the governance registry's elements)."""

    id: str
    person_token: str
    disclosing_agency: str
    recipients: tuple[str, ...]
    purpose: str
    information: str
    signed_on: date
    expires_on: date | None = None
    expiry_event: str = ""
    revoked_at: datetime | None = None


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(WELLBEAT_NAMESPACE, "fhir/" + "/".join(parts)))


def _ref(resource_id: str, display: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"reference": f"urn:uuid:{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def _instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise FhirError(f"time {moment.isoformat()} has no time zone; FHIR needs one")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _security(part2: bool) -> dict[str, Any]:
    if not part2:
        return {}
    return {"meta": {"security": [{"system": ACT_CODE, "code": "42CFRPart2"}]}}


def patient_resource(person_token: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": _uuid("patient", person_token),
        "identifier": [{"system": PERSON_TOKEN_SYSTEM, "value": person_token}],
    }


def organization_resource(agency: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": _uuid("organization", agency),
        "identifier": [{"system": AGENCY_SYSTEM, "value": agency}],
        "name": agency,
    }


def _need_coding(code: str) -> dict[str, Any]:
    need = needs()[code]
    return {"coding": [{"system": need.system, "code": need.code, "display": need.display}]}


def service_request_resource(referral: ReferralRecord) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": _uuid("service-request", referral.id),
        **_security(referral.part2),
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral.id}],
        "status": SERVICE_REQUEST_STATUS[referral.status],
        "intent": "order",
        "code": {
            "coding": [
                {"system": SNOMED, "code": PATIENT_REFERRAL[0], "display": PATIENT_REFERRAL[1]}
            ],
            "text": f"Referral to {referral.service_name}",
        },
        "subject": _ref(_uuid("patient", referral.person_token)),
        "authoredOn": _instant(referral.authored_on),
        "requester": _ref(_uuid("organization", referral.requester_agency)),
        "performer": [
            {
                "type": "HealthcareService",
                "identifier": {"system": HSDS_SERVICE_SYSTEM, "value": referral.service_id},
                "display": referral.service_name,
            }
        ],
    }
    if referral.needs:
        resource["category"] = [_need_coding(code) for code in referral.needs]
    if referral.consent_id:
        resource["supportingInfo"] = [_ref(_uuid("consent", referral.consent_id))]
    return resource


def task_resource(referral: ReferralRecord) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": _uuid("task", referral.id),
        **_security(referral.part2),
        "identifier": [{"system": REFERRAL_SYSTEM, "value": referral.id}],
        "status": referral.status.value,
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE, "code": "fulfill"}]},
        "focus": _ref(_uuid("service-request", referral.id)),
        "for": _ref(_uuid("patient", referral.person_token)),
        "authoredOn": _instant(referral.authored_on),
        "lastModified": _instant(referral.last_modified),
        "requester": _ref(_uuid("organization", referral.requester_agency)),
        "owner": _ref(_uuid("organization", referral.performer_agency)),
    }
    if referral.status_reason:
        resource["statusReason"] = {"text": referral.status_reason}
    period = {}
    if referral.first_contact_at is not None:
        period["start"] = _instant(referral.first_contact_at)
    if referral.closed_at is not None:
        period["end"] = _instant(referral.closed_at)
    if period:
        resource["executionPeriod"] = period
    return resource


def consent_resource(consent: ConsentRecord) -> dict[str, Any]:
    extensions = []
    if consent.revoked_at is not None:
        extensions.append(
            {"url": REVOKED_AT_EXTENSION, "valueDateTime": _instant(consent.revoked_at)}
        )
    if consent.expiry_event:
        extensions.append({"url": EXPIRY_EVENT_EXTENSION, "valueString": consent.expiry_event})
    period: dict[str, str] = {"start": consent.signed_on.isoformat()}
    if consent.expires_on is not None:
        period["end"] = consent.expires_on.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": _uuid("consent", consent.id),
        "identifier": [{"system": CONSENT_SYSTEM, "value": consent.id}],
        "status": "inactive" if consent.revoked_at is not None else "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": ACT_CODE, "code": "IDSCL"}]}],
        "patient": _ref(_uuid("patient", consent.person_token)),
        "dateTime": consent.signed_on.isoformat(),
        "organization": [_ref(_uuid("organization", consent.disclosing_agency))],
        "sourceAttachment": {
            "title": f"Signed 42 CFR Part 2 consent form held by {consent.disclosing_agency}"
        },
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "42CFRPart2"}]},
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                            }
                        ]
                    },
                    "reference": _ref(_uuid("organization", agency)),
                }
                for agency in consent.recipients
            ],
            "purpose": [{"system": PURPOSE_SYSTEM, "code": consent.purpose}],
            "code": [{"text": consent.information}],
        },
    }
    if extensions:
        resource["extension"] = extensions
    return resource


def _validated(resource: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate one resource with fhir.resources; FhirError with each failing field."""
    models: dict[str, Any] = {
        "Patient": Patient,
        "Organization": Organization,
        "ServiceRequest": ServiceRequest,
        "Task": Task,
        "Consent": FhirConsent,
    }
    model = models.get(str(resource.get("resourceType")))
    if model is None:
        raise FhirError(f"{where}: unsupported resourceType {resource.get('resourceType')!r}")
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise FhirError(f"{where} ({resource['resourceType']}): {problems}") from exc
    return resource


def referral_bundle(
    referrals: Sequence[ReferralRecord], consents: Sequence[ConsentRecord] = ()
) -> dict[str, Any]:
    """A FHIR R4 collection Bundle of the referrals (ServiceRequest + Task each), the consents,
    and the Patients and Organizations they refer to; every resource validated."""
    resources: dict[str, dict[str, Any]] = {}

    def add(resource: dict[str, Any]) -> None:
        resources.setdefault(resource["id"], resource)

    for consent in consents:
        add(patient_resource(consent.person_token))
        add(organization_resource(consent.disclosing_agency))
        for agency in consent.recipients:
            add(organization_resource(agency))
    for referral in referrals:
        add(patient_resource(referral.person_token))
        add(organization_resource(referral.requester_agency))
        add(organization_resource(referral.performer_agency))
    for referral in referrals:
        add(service_request_resource(referral))
        add(task_resource(referral))
    for consent in consents:
        add(consent_resource(consent))
    entries = [
        {"fullUrl": f"urn:uuid:{rid}", "resource": _validated(res, f"entry {index}")}
        for index, (rid, res) in enumerate(resources.items())
    ]
    bundle = {
        "resourceType": "Bundle",
        "id": _uuid("bundle", *sorted(r.id for r in referrals), *sorted(c.id for c in consents)),
        "type": "collection",
        "entry": entries,
    }
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise FhirError(f"bundle: {exc.errors()[0]['msg']}") from exc
    return bundle


def bundle_json(bundle: Mapping[str, Any]) -> str:
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# Reading a bundle back


def _time(value: object, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise FhirError(f"{where}: {value!r} is not a FHIR dateTime") from exc
    if moment.tzinfo is None:
        raise FhirError(f"{where}: {value!r} has no time zone")
    return moment


def _identifier(resource: Mapping[str, Any], system: str, where: str) -> str:
    for ident in resource.get("identifier") or []:
        if ident.get("system") == system and ident.get("value"):
            return str(ident["value"])
    raise FhirError(f"{where}: no identifier with system {system}")


def parse_referral_bundle(
    data: Mapping[str, Any],
) -> tuple[list[ReferralRecord], list[ConsentRecord]]:
    """Referrals and consents from a Bundle made by ``referral_bundle`` (or one of the same
    shape from another system); FhirError names the entry and field that cannot be read."""
    if data.get("resourceType") != "Bundle":
        raise FhirError(f"expected a FHIR Bundle, got resourceType {data.get('resourceType')!r}")
    try:
        Bundle.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise FhirError(f"bundle: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from exc
    by_url: dict[str, tuple[int, dict[str, Any]]] = {}
    for index, entry in enumerate(data.get("entry") or []):
        resource = entry.get("resource") or {}
        _validated(resource, f"entry {index}")
        by_url[str(entry.get("fullUrl", ""))] = (index, resource)

    def resolve(ref: Mapping[str, Any] | None, kind: str, where: str) -> dict[str, Any]:
        url = str((ref or {}).get("reference", ""))
        found = by_url.get(url)
        if found is None or found[1].get("resourceType") != kind:
            raise FhirError(f"{where}: reference {url!r} does not point to a {kind} in the bundle")
        return found[1]

    def token(ref: Mapping[str, Any] | None, where: str) -> str:
        return _identifier(resolve(ref, "Patient", where), PERSON_TOKEN_SYSTEM, where)

    def agency(ref: Mapping[str, Any] | None, where: str) -> str:
        return _identifier(resolve(ref, "Organization", where), AGENCY_SYSTEM, where)

    consent_ids: dict[str, str] = {}
    consents: list[ConsentRecord] = []
    referrals: list[ReferralRecord] = []
    for url, (index, resource) in by_url.items():
        if resource.get("resourceType") != "Consent":
            continue
        where = f"entry {index} (Consent)"
        consent_id = _identifier(resource, CONSENT_SYSTEM, where)
        consent_ids[url] = consent_id
        provision = resource.get("provision") or {}
        period = provision.get("period") or {}
        extensions = {e.get("url"): e for e in resource.get("extension") or []}
        purpose = next(
            (
                p.get("code")
                for p in provision.get("purpose") or []
                if p.get("system") == PURPOSE_SYSTEM
            ),
            None,
        )
        if purpose not in PURPOSES:
            raise FhirError(f"{where}: provision.purpose {purpose!r} is not a wellbeat purpose")
        revoked = extensions.get(REVOKED_AT_EXTENSION)
        consents.append(
            ConsentRecord(
                id=consent_id,
                person_token=token(resource.get("patient"), f"{where}.patient"),
                disclosing_agency=agency(
                    (resource.get("organization") or [None])[0], f"{where}.organization"
                ),
                recipients=tuple(
                    agency(actor.get("reference"), f"{where}.provision.actor")
                    for actor in provision.get("actor") or []
                ),
                purpose=str(purpose),
                information=str(((provision.get("code") or [{}])[0]).get("text", "")),
                signed_on=date.fromisoformat(str(resource.get("dateTime"))[:10]),
                expires_on=date.fromisoformat(period["end"][:10]) if period.get("end") else None,
                expiry_event=str(
                    (extensions.get(EXPIRY_EVENT_EXTENSION) or {}).get("valueString", "")
                ),
                revoked_at=_time(revoked["valueDateTime"], f"{where}.extension")
                if revoked
                else None,
            )
        )
    for _url, (index, task) in by_url.items():
        if task.get("resourceType") != "Task":
            continue
        where = f"entry {index} (Task)"
        request = resolve(task.get("focus"), "ServiceRequest", f"{where}.focus")
        performer = (request.get("performer") or [{}])[0]
        service_ident = performer.get("identifier") or {}
        if service_ident.get("system") != HSDS_SERVICE_SYSTEM:
            raise FhirError(f"{where}: its ServiceRequest names no HSDS service as performer")
        try:
            status = parse_status(str(task.get("status")), f"{where}.status")
        except TransitionError as exc:
            raise FhirError(str(exc)) from exc
        period = task.get("executionPeriod") or {}
        need_codes = []
        for category in request.get("category") or []:
            for coding in category.get("coding") or []:
                if coding.get("code") in needs():
                    need_codes.append(coding["code"])
        supporting = [
            consent_ids[str(ref.get("reference"))]
            for ref in request.get("supportingInfo") or []
            if str(ref.get("reference")) in consent_ids
        ]
        security = {s.get("code") for s in (task.get("meta") or {}).get("security") or []}
        referrals.append(
            ReferralRecord(
                id=_identifier(task, REFERRAL_SYSTEM, where),
                person_token=token(task.get("for"), f"{where}.for"),
                service_id=str(service_ident.get("value")),
                service_name=str(performer.get("display", "")),
                needs=tuple(need_codes),
                requester_agency=agency(task.get("requester"), f"{where}.requester"),
                performer_agency=agency(task.get("owner"), f"{where}.owner"),
                status=status,
                status_reason=str((task.get("statusReason") or {}).get("text", "")),
                authored_on=_time(task.get("authoredOn"), f"{where}.authoredOn"),
                last_modified=_time(task.get("lastModified"), f"{where}.lastModified"),
                first_contact_at=_time(period["start"], f"{where}.executionPeriod.start")
                if period.get("start")
                else None,
                closed_at=_time(period["end"], f"{where}.executionPeriod.end")
                if period.get("end")
                else None,
                part2="42CFRPart2" in security,
                consent_id=supporting[0] if supporting else None,
            )
        )
    return referrals, consents


def read_referral_bundle(
    text: str, source: str = "bundle"
) -> tuple[list[ReferralRecord], list[ConsentRecord]]:
    """Parse FHIR JSON text; FhirError (with ``source``) for bad JSON or content."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FhirError(f"{source}, line {exc.lineno}: not JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise FhirError(f"{source}: expected a JSON object (a FHIR Bundle)")
    try:
        return parse_referral_bundle(data)
    except FhirError as exc:
        raise FhirError(f"{source}: {exc}") from exc


def iter_resources(bundle: Mapping[str, Any], kind: str) -> Iterable[dict[str, Any]]:
    """The resources of one type in a bundle, in entry order."""
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == kind:
            yield resource
