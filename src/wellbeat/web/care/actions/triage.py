"""Call triage: the jurisdiction's rules recommend a response; the call's facts, the
recommendation and the response actually sent are recorded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wellbeat.care import triage
from wellbeat.care.measures import CallOutcome
from wellbeat.web.accounts.models import User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.common import (
    TRIAGE_ROLES,
    TRIAGE_RULES_FILE,
    CareError,
    _require,
    _when,
)
from wellbeat.web.care.models import (
    TriageCall,
)


def current_rules() -> triage.RuleSet:
    """The jurisdiction's rules: ``DATA_DIR/triage/rules.yaml`` if present, else Millbrook's."""
    path = Path(settings.DATA_DIR) / TRIAGE_RULES_FILE
    if path.is_file():
        return triage.load_rules(path)
    return triage.packaged_rules()


def do_record_call(
    actor: User, call: triage.Call, *, person_token: str = ""
) -> tuple[TriageCall, triage.Recommendation]:
    """Triage a call: store the facts (not the narrative), the recommendation and its reasons."""
    agency = _require(actor, TRIAGE_ROLES, "triaging a call")
    rules = current_rules()
    received = call.received_at or timezone.now()
    call = triage.Call(**{**call.__dict__, "received_at": received})
    recommendation = triage.recommend(rules, call)
    facts = triage.call_facts(rules, call)
    with transaction.atomic():
        row = TriageCall.objects.create(
            agency=agency,
            recorded_by=actor,
            received_at=received,
            call_type=call.call_type,
            apco_code=recommendation.apco_code or "",
            dispatch_code=call.dispatch_code,
            keyword_groups=list(recommendation.keyword_groups),
            weapon=call.weapon,
            violence=call.violence,
            medical=call.medical,
            area=call.area,
            person_token=person_token,
            recommended_response=recommendation.response.value,
            rule_id=recommendation.rule_id,
            rules_version=recommendation.rules_version,
            reasons=list(recommendation.reasons),
            eligible=recommendation.eligible_for_alternative,
            behavioral_health=facts.behavioral_health,
        )
        record(
            "care.triage_recorded",
            actor=actor,
            agency=agency,
            target=f"call:{row.public_id}",
            details={
                "recommended": row.recommended_response,
                "rule": row.rule_id,
                "rules": row.rules_version,
            },
        )
    return row, recommendation


def do_record_call_response(
    actor: User,
    call: TriageCall,
    actual_response: str,
    outcome: str,
    *,
    at: datetime | None = None,
) -> TriageCall:
    """Record what was actually sent and how the call ended (for every call); ``at`` when the
    outcome was known, if entered after the fact."""
    agency = _require(actor, TRIAGE_ROLES, "recording a call's outcome")
    if call.agency_id != agency.pk:
        raise CareError("not_found", f"no call {call.public_id} of your agency")
    try:
        response = triage.Response(actual_response)
    except ValueError:
        raise CareError(
            "invalid",
            f"field 'actual_response': {actual_response!r} is not one of "
            f"{', '.join(r.value for r in triage.Response)}",
        ) from None
    try:
        ended = CallOutcome(outcome)
    except ValueError:
        raise CareError(
            "invalid",
            f"field 'outcome': {outcome!r} is not one of {', '.join(o.value for o in CallOutcome)}",
        ) from None
    weapon_present = call.weapon is True or "weapon" in (call.keyword_groups or [])
    if weapon_present and response in triage.CIVILIAN_RESPONSES:
        raise CareError(
            "invalid",
            "field 'actual_response': a call with a weapon present is never handled by a "
            "civilian response; record the response actually sent",
        )
    with transaction.atomic():
        call.actual_response = response.value
        call.outcome = ended.value
        call.outcome_recorded_at = _when(at, "at")
        call.save()
        record(
            "care.triage_outcome_recorded",
            actor=actor,
            agency=agency,
            target=f"call:{call.public_id}",
            details={
                "response": response.value,
                "outcome": ended.value,
                "followed_recommendation": response.value == call.recommended_response,
            },
        )
    return call
