"""FHIR R4 export of referrals and Part 2 consents: every resource validates with
fhir.resources, and bundle -> records -> bundle is lossless."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.care.fhir import (
    ConsentRecord,
    FhirError,
    ReferralRecord,
    bundle_json,
    iter_resources,
    parse_referral_bundle,
    read_referral_bundle,
    referral_bundle,
)
from wellbeat.care.lifecycle import TaskStatus
from wellbeat.care.needs import needs

SENT = datetime(2025, 7, 1, 9, 15, 30, 250000, tzinfo=UTC)


def referral(**changes: object) -> ReferralRecord:
    fields: dict[str, object] = {
        "id": "4b6f0d52-0000-4000-8000-000000000001",
        "person_token": "p1:" + "ab" * 32,
        "service_id": "28f419db-7f3c-54dd-8699-d7566ed64b9f",
        "service_name": "Withdrawal management (detox)",
        "needs": ("substance-use", "homelessness"),
        "requester_agency": "MPD",
        "performer_agency": "BHC",
        "status": TaskStatus.COMPLETED,
        "status_reason": "",
        "authored_on": SENT,
        "last_modified": SENT + timedelta(days=3),
        "first_contact_at": SENT + timedelta(hours=20),
        "closed_at": SENT + timedelta(days=3),
        "part2": True,
        "consent_id": "CON-0001",
    }
    fields.update(changes)
    return ReferralRecord(**fields)  # type: ignore[arg-type]


CONSENT = ConsentRecord(
    id="CON-0001",
    person_token="p1:" + "ab" * 32,
    disclosing_agency="BHC",
    recipients=("MPD", "CRN"),
    purpose="care_coordination",
    information="Whether the person entered and completed withdrawal management",
    signed_on=date(2025, 6, 30),
    expires_on=date(2026, 6, 30),
)


def test_bundle_has_gravity_shaped_resources_that_validate() -> None:
    bundle = referral_bundle([referral()], [CONSENT])
    Bundle.model_validate(bundle)
    [task] = iter_resources(bundle, "Task")
    Task.model_validate(task)
    assert task["intent"] == "order"
    assert task["code"]["coding"][0]["code"] == "fulfill"
    assert task["executionPeriod"]["start"].startswith("2025-07-02T05:15:30")
    [request] = iter_resources(bundle, "ServiceRequest")
    assert request["status"] == "completed"
    assert {c["coding"][0]["code"] for c in request["category"]} == {
        "substance-use",
        "homelessness",
    }
    assert request["meta"]["security"][0]["code"] == "42CFRPart2"
    [consent] = iter_resources(bundle, "Consent")
    assert consent["category"][0]["coding"][0]["code"] == "IDSCL"
    assert len(consent["provision"]["actor"]) == 2
    [patient] = iter_resources(bundle, "Patient")
    assert set(patient) == {"resourceType", "id", "identifier"}  # a pseudonym, nothing else


def test_round_trip_changes_nothing() -> None:
    records = [
        referral(),
        referral(
            id="4b6f0d52-0000-4000-8000-000000000002",
            status=TaskStatus.REJECTED,
            status_reason="No beds this week",
            first_contact_at=None,
            closed_at=SENT + timedelta(hours=2),
            part2=False,
            consent_id=None,
            needs=(),
        ),
    ]
    revoked = ConsentRecord(**{**CONSENT.__dict__, "id": "CON-0002", "revoked_at": SENT})
    bundle = referral_bundle(records, [CONSENT, revoked])
    text = bundle_json(bundle)
    got_referrals, got_consents = read_referral_bundle(text)
    assert got_referrals == records
    assert got_consents == [CONSENT, revoked]
    assert bundle_json(referral_bundle(got_referrals, got_consents)) == text


_token = st.from_regex(r"p1:[0-9a-f]{64}", fullmatch=True)
_moment = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=40, deadline=None)
@given(
    token=_token,
    status=st.sampled_from(list(TaskStatus)),
    reason=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40),
    chosen=st.lists(st.sampled_from(sorted(needs())), unique=True, max_size=3),
    authored=_moment,
    contact=st.one_of(st.none(), _moment),
    part2=st.booleans(),
)
def test_any_referral_survives_the_round_trip(
    token: str,
    status: TaskStatus,
    reason: str,
    chosen: list[str],
    authored: datetime,
    contact: datetime | None,
    part2: bool,
) -> None:
    record = referral(
        person_token=token,
        status=status,
        status_reason=reason.strip(),
        needs=tuple(chosen),
        authored_on=authored,
        last_modified=authored,
        first_contact_at=contact,
        closed_at=None,
        part2=part2,
        consent_id=None,
    )
    [back], _ = parse_referral_bundle(json.loads(bundle_json(referral_bundle([record]))))
    assert back == record


def test_unknown_task_status_is_refused_with_its_place() -> None:
    bundle = referral_bundle([referral()])
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Task":
            entry["resource"]["status"] = "done"
    with pytest.raises(FhirError, match=r"entry \d+ \(Task\).status.*not a FHIR Task status"):
        parse_referral_bundle(bundle)


def test_a_dangling_reference_is_named() -> None:
    bundle = referral_bundle([referral()])
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    with pytest.raises(FhirError, match=r"\.for: reference .* does not point to a Patient"):
        parse_referral_bundle(bundle)


def test_fhir_model_errors_name_the_field() -> None:
    bundle = referral_bundle([referral()])
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Task":
            entry["resource"]["authoredOn"] = "yesterday"
    with pytest.raises(FhirError, match="authoredOn"):
        parse_referral_bundle(bundle)


def test_not_json_and_not_a_bundle() -> None:
    with pytest.raises(FhirError, match=r"in\.json, line 1: not JSON"):
        read_referral_bundle("{", "in.json")
    with pytest.raises(FhirError, match="expected a FHIR Bundle"):
        read_referral_bundle('{"resourceType": "Patient"}', "in.json")


def test_naive_times_are_refused() -> None:
    with pytest.raises(FhirError, match="no time zone"):
        referral_bundle([referral(authored_on=datetime(2025, 1, 1))])
