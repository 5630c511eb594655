"""Saving, importing and deleting an agency's indicators: each owns its transaction and writes
the audit row. Every definition is validated by the catalogue's parser first
(``definitions.validate``); nothing invalid is stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from wellbeat.analytics.indicators.catalogue import Indicator, IndicatorError
from wellbeat.governance.agreements import PURPOSES
from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.audit.actions import record
from wellbeat.web.errors import ActionError
from wellbeat.web.indicators.definitions import (
    denominator_code,
    import_catalogue,
    indicator_dict,
    shipped_definitions,
    validate,
)
from wellbeat.web.indicators.models import CustomIndicator

INDICATOR_SAVED = "indicator.saved"
INDICATOR_IMPORTED = "indicator.imported"
INDICATOR_DELETED = "indicator.deleted"
DEFAULT_PURPOSE = "public_health_surveillance"


class IndicatorDenied(ActionError, PermissionError):
    """Only an agency's analysts build and read its custom indicators: code ``forbidden``."""

    def __init__(self, message: str) -> None:
        super().__init__("forbidden", message)


def require_analyst(user: User) -> Agency:
    if user.agency is None or not user.has_role(Role.ANALYST):
        raise IndicatorDenied("only an agency's analysts build and read custom indicators")
    return user.agency


def available_denominators(agency: Agency, exclude: str = "") -> dict[str, dict[str, Any]]:
    """Indicators a new one may divide by: the agency's own (by code) over the shipped ones."""
    out = shipped_definitions()
    for saved in CustomIndicator.objects.filter(agency=agency).exclude(code=exclude):
        out[saved.code] = dict(saved.definition)
    return out


def check_definition(
    agency: Agency, definition: Mapping[str, Any], *, source: str = "indicator form"
) -> Indicator:
    return validate(definition, available_denominators(agency, str(definition.get("code"))), source)


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise IndicatorError(
            f"{purpose!r} is not one of {', '.join(sorted(PURPOSES))}", field_name="purpose"
        )


def do_save_indicator(
    actor: User,
    definition: Mapping[str, Any],
    *,
    purpose: str = DEFAULT_PURPOSE,
    existing: CustomIndicator | None = None,
) -> CustomIndicator:
    """Validate and store one indicator of the actor's agency (a new code, or ``existing``)."""
    agency = require_analyst(actor)
    indicator = check_definition(agency, definition)
    by = indicator.by[0] if indicator.by else ""
    _check_purpose(purpose)
    clash = CustomIndicator.objects.filter(agency=agency, code=indicator.code)
    if existing is not None:
        clash = clash.exclude(pk=existing.pk)
    if clash.exists():
        raise IndicatorError(
            f"{agency.code} already has an indicator {indicator.code!r}",
            indicator=indicator.code,
            field_name="code",
        )
    if existing is not None and existing.code != indicator.code:
        users = CustomIndicator.objects.filter(agency=agency).exclude(pk=existing.pk)
        if any(denominator_code(u.definition) == existing.code for u in users):
            raise IndicatorError(
                f"another indicator divides by {existing.code!r}; keep its code",
                indicator=indicator.code,
                field_name="code",
            )
    with transaction.atomic():
        row = existing or CustomIndicator(agency=agency, created_by=actor)
        row.code = indicator.code
        row.name = indicator.name
        row.definition = indicator_dict(indicator)
        row.by = by
        row.purpose = purpose
        row.updated_at = timezone.now()
        row.save()
        record(
            INDICATOR_SAVED,
            actor=actor,
            agency=agency,
            target=f"indicator:{agency.code}:{row.code}",
            details={"definition": row.definition, "by": by, "purpose": purpose},
        )
    return row


def do_import_catalogue(
    actor: User, text: str, source: str, *, purpose: str = DEFAULT_PURPOSE
) -> list[CustomIndicator]:
    """Every indicator of a catalogue file, validated as the CLI would, saved all or none (a
    code the agency already has is replaced)."""
    agency = require_analyst(actor)
    _check_purpose(purpose)
    parsed = import_catalogue(text, source)
    saved = []
    with transaction.atomic():
        for indicator in parsed:
            existing = CustomIndicator.objects.filter(agency=agency, code=indicator.code).first()
            row = existing or CustomIndicator(agency=agency, created_by=actor)
            row.code = indicator.code
            row.name = indicator.name
            row.definition = indicator_dict(indicator)
            row.by = indicator.by[0] if indicator.by else ""
            row.purpose = existing.purpose if existing else purpose
            row.updated_at = timezone.now()
            row.save()
            saved.append(row)
        for row in saved:  # denominators named in the file must now resolve for the agency
            check_definition(agency, row.definition, source=source)
        record(
            INDICATOR_IMPORTED,
            actor=actor,
            agency=agency,
            target=f"catalogue:{source}",
            details={"source": source, "codes": [r.code for r in saved]},
        )
    return saved


def do_delete_indicator(actor: User, row: CustomIndicator) -> None:
    agency = require_analyst(actor)
    if row.agency_id != agency.pk:
        raise IndicatorDenied("an indicator of another agency")
    users = CustomIndicator.objects.filter(agency=agency).exclude(pk=row.pk)
    dependants = [u.code for u in users if denominator_code(u.definition) == row.code]
    if dependants:
        raise IndicatorError(
            f"{', '.join(dependants)} divide(s) by it; change their denominator first",
            indicator=row.code,
        )
    with transaction.atomic():
        code = row.code
        row.delete()
        record(
            INDICATOR_DELETED, actor=actor, agency=agency, target=f"indicator:{agency.code}:{code}"
        )
