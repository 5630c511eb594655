"""Reading the audit log: who may see which entries, the viewer's filters and CSV export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet

from wellbeat.web.accounts.models import Role, User
from wellbeat.web.audit.models import AuditEntry

CSV_COLUMNS = [
    "seq",
    "at",
    "action",
    "actor",
    "agency",
    "target",
    "details",
    "prev_hash",
    "entry_hash",
]


@dataclass(frozen=True)
class AuditFilter:
    """The auditor's filters; empty means "any". ``action`` matches a prefix ("login" finds
    login.succeeded and login.failed); dates are inclusive, in UTC."""

    who: str = ""
    agency: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


def can_view_audit(user: User) -> bool:
    return user.is_authenticated and user.has_role(Role.AUDITOR)


def visible_entries(viewer: User) -> QuerySet[AuditEntry]:
    """Hub auditors see the whole log; an agency's auditors see their agency's entries."""
    if not can_view_audit(viewer):
        return AuditEntry.objects.none()
    entries = AuditEntry.objects.all()
    if viewer.agency is not None and viewer.agency.is_hub:
        return entries
    return entries.filter(agency_code=viewer.agency_code)


def filter_entries(viewer: User, audit_filter: AuditFilter) -> QuerySet[AuditEntry]:
    """Entries ``viewer`` may see that match the filter, newest first."""
    entries = visible_entries(viewer)
    if audit_filter.who:
        entries = entries.filter(actor_username__iexact=audit_filter.who.strip())
    if audit_filter.agency:
        entries = entries.filter(agency_code__iexact=audit_filter.agency.strip())
    if audit_filter.action:
        action = audit_filter.action.strip()
        entries = entries.filter(action__startswith=action)
    if audit_filter.since:
        entries = entries.filter(at__gte=datetime.combine(audit_filter.since, time.min, UTC))
    if audit_filter.until:
        end = datetime.combine(audit_filter.until + timedelta(days=1), time.min, UTC)
        entries = entries.filter(at__lt=end)
    return entries.order_by("-seq")


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    """An entry as a flat mapping (CSV row, API item)."""
    return {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(timespec="seconds"),
        "action": entry.action,
        "actor": entry.actor_username,
        "agency": entry.agency_code,
        "target": entry.target,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """CSV text, line by line (streamed: the log can be large). Details are JSON."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = entry_row(entry)
        row["details"] = json.dumps(row["details"], sort_keys=True)
        yield writer.writerow([row[column] for column in CSV_COLUMNS])
