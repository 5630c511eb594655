"""Encounters: an officer or clinician records meeting a person (held only by the hub
pseudonym), their needs and their consent to be referred."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from wellbeat.care.needs import NeedError, check_needs
from wellbeat.privacy.pseudonym import Identity, person_token
from wellbeat.web.accounts.models import Role, User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.common import (
    COORDINATE_DECIMALS,
    ENCOUNTER_ROLES,
    REFERRER_ROLES,
    CareError,
    _require,
    _roles,
)
from wellbeat.web.care.models import (
    Encounter,
    PlaceType,
    ResponderRole,
)


def hub_person_token(identity: Identity) -> str:
    """The hub pseudonym for what the officer typed (the hub's key; names are not kept)."""
    from wellbeat.web.governance.service import hub_key

    token = person_token(hub_key(), identity)
    if token is None:
        raise CareError(
            "invalid",
            "fields 'first_name', 'last_name', 'date_of_birth': all three are needed to form "
            "the person's pseudonym",
        )
    return token


def do_record_encounter(
    actor: User,
    *,
    identity: Identity,
    occurred_at: datetime,
    place_type: str,
    needs: Iterable[str],
    crisis: bool,
    consent_to_refer: bool,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Encounter:
    """Record a field contact; the person is kept only as the hub pseudonym."""
    agency = _require(actor, ENCOUNTER_ROLES, "recording an encounter")
    try:
        observed = check_needs(needs, "field 'needs'")
    except NeedError as exc:
        raise CareError("invalid", str(exc)) from exc
    if place_type not in PlaceType.values:
        raise CareError(
            "invalid",
            f"field 'place_type': {place_type!r} is not one of {', '.join(PlaceType.values)}",
        )
    if (latitude is None) != (longitude is None):
        raise CareError("invalid", "fields 'latitude'/'longitude': give both or neither")
    if (
        latitude is not None
        and longitude is not None
        and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    ):
        raise CareError(
            "invalid", f"fields 'latitude'/'longitude': ({latitude}, {longitude}) is not WGS84"
        )
    if occurred_at > timezone.now() + timedelta(minutes=5):
        raise CareError("invalid", "field 'occurred_at': an encounter cannot be in the future")
    token = hub_person_token(identity)
    role = (
        ResponderRole.CO_RESPONDER
        if actor.has_role(Role.CLINICIAN.value) and not actor.has_role(Role.OFFICER.value)
        else ResponderRole.OFFICER
    )
    with transaction.atomic():
        encounter = Encounter.objects.create(
            agency=agency,
            recorded_by=actor,
            responder_role=role,
            person_token=token,
            occurred_at=occurred_at,
            latitude=round(latitude, COORDINATE_DECIMALS) if latitude is not None else None,
            longitude=round(longitude, COORDINATE_DECIMALS) if longitude is not None else None,
            place_type=place_type,
            needs=list(observed),
            crisis=crisis,
            consent_to_refer=consent_to_refer,
        )
        record(
            "care.encounter_recorded",
            actor=actor,
            agency=agency,
            target=f"encounter:{encounter.public_id}",
            details={
                "needs": list(observed),
                "crisis": crisis,
                "consent_to_refer": consent_to_refer,
            },
        )
    return encounter


def encounters_for(user: User) -> Any:
    """Encounters the user may see: those recorded by their agency."""
    if user.agency is None or not _roles(user, REFERRER_ROLES):
        return Encounter.objects.none()
    return Encounter.objects.filter(agency=user.agency)
