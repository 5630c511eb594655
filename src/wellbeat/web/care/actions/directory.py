"""The service directory (HSDS 3.0): import, export and a provider's own updates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from wellbeat.care.hsds import (
    ServiceUpdate,
    service_from_hsds,
    update_service_document,
    validate_directory,
)
from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.common import DIRECTORY_EDITOR_ROLES, CareError, _require
from wellbeat.web.care.models import (
    DirectoryEntry,
)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    unknown_agencies: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "unknown_agencies": list(self.unknown_agencies),
            "warnings": list(self.warnings),
        }


def _entry_fields(document: dict[str, Any]) -> dict[str, Any]:
    view = service_from_hsds(document)
    agency = Agency.objects.filter(code=view.agency).first() if view.agency else None
    return {
        "name": view.name,
        "status": view.status,
        "organization_name": view.organization_name,
        "agency_code": view.agency or "",
        "agency": agency,
        "needs": list(view.needs),
        "part2_program": view.part2_program,
        "accepting_referrals": view.accepting_referrals,
        "first_contact_hours": view.first_contact_hours,
        "last_modified": view.last_modified,
        "document": document,
    }


def do_import_directory(
    documents: Sequence[dict[str, Any]], *, actor: User | None = None, actor_label: str = ""
) -> ImportResult:
    """Insert or replace services by HSDS id (all or nothing). Documents must already be valid
    HSDS 3.0 (``wellbeat.care.hsds.read_directory``); they are stored exactly as given."""
    if actor is not None and not actor.has_role(Role.HUB_ADMIN.value):
        raise CareError("forbidden", "importing the service directory needs the hub_admin role")
    problems = validate_directory(list(documents))
    if problems:
        raise CareError(
            "invalid",
            f"not valid HSDS 3.0: {'; '.join(str(p) for p in problems[:5])}",
            {"problems": [str(p) for p in problems]},
        )
    created = updated = unchanged = 0
    unknown: set[str] = set()
    warnings: list[str] = []
    with transaction.atomic():
        next_position = (DirectoryEntry.objects.aggregate(m=Max("position"))["m"] or 0) + 1
        for document in documents:
            fields = _entry_fields(document)
            if fields["agency_code"] and fields["agency"] is None:
                unknown.add(fields["agency_code"])
            warnings.extend(f"{fields['name']}: {w}" for w in service_from_hsds(document).warnings)
            existing = DirectoryEntry.objects.filter(service_id=document["id"]).first()
            if existing is None:
                DirectoryEntry.objects.create(
                    service_id=document["id"], position=next_position, **fields
                )
                next_position += 1
                created += 1
            elif existing.document == document:
                if existing.agency != fields["agency"]:
                    # The agency joined the hub after the first import: link it now.
                    existing.agency = fields["agency"]
                    existing.save(update_fields=["agency"])
                unchanged += 1
            else:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.updated_at = timezone.now()
                existing.save()
                updated += 1
        result = ImportResult(created, updated, unchanged, tuple(sorted(unknown)), tuple(warnings))
        record(
            "care.directory_imported",
            actor=actor,
            agency=actor.agency if actor else None,
            target="directory",
            details={k: v for k, v in result.as_dict().items() if k != "warnings"},
            actor_label=actor_label,
        )
    return result


def directory_documents() -> list[dict[str, Any]]:
    """Every stored service document, in directory order (what an export writes)."""
    return [entry.document for entry in DirectoryEntry.objects.order_by("position", "service_id")]


def do_update_service(actor: User, entry: DirectoryEntry, update: ServiceUpdate) -> DirectoryEntry:
    """A provider keeps its own entry current (status, accepting referrals, first-contact
    promise, alert); the document records who changed what (HSDS metadata)."""
    agency = _require(actor, DIRECTORY_EDITOR_ROLES, "updating a directory entry")
    if entry.agency_id != agency.pk:
        raise CareError(
            "forbidden",
            f"{entry.name} is run by {entry.agency_code or 'an organisation outside the hub'}; "
            f"only its own staff may update it",
        )
    try:
        document = update_service_document(entry.document, update, actor.username, timezone.now())
    except ValueError as exc:
        raise CareError("invalid", str(exc)) from exc
    with transaction.atomic():
        for name, value in _entry_fields(document).items():
            setattr(entry, name, value)
        entry.updated_at = timezone.now()
        entry.save()
        record(
            "care.service_updated",
            actor=actor,
            agency=agency,
            target=f"service:{entry.service_id}",
            details={
                "fields": [m["field_name"] for m in document["metadata"][-4:]],
            },
        )
    return entry
