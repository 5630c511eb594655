"""Small HSDS services for care tests, built through the package's own document builder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wellbeat.care.hsds import ServiceSpec, WeeklyHours, new_service_document

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
CITY = (41.59, -93.62)


def service_doc(
    name: str,
    *,
    agency: str | None = "BHC",
    organization: str = "Metro Behavioral Health Center",
    needs: tuple[str, ...] = ("mental-health",),
    at: tuple[float, float] = CITY,
    hours: tuple[WeeklyHours, ...] = (WeeklyHours(WEEKDAYS, "09:00", "17:00"),),
    part2: bool = False,
    accepting: bool = True,
    first_contact_hours: int | None = 48,
    languages: tuple[tuple[str, str], ...] = (("en", "English"),),
    last_modified: datetime | None = None,
    status: str = "active",
) -> dict[str, Any]:
    """One valid HSDS service document run by ``agency``."""
    return new_service_document(
        ServiceSpec(
            name=name,
            description=f"{name} for testing",
            organization_name=organization,
            organization_description="test organisation",
            agency=agency,
            needs=needs,
            place_name=f"{name} site",
            latitude=at[0],
            longitude=at[1],
            address_1="1 Test St",
            city="Millbrook",
            state="IA",
            postal_code="50309",
            hours=hours,
            languages=languages,
            accepting_referrals=accepting,
            first_contact_hours=first_contact_hours,
            part2_program=part2,
            last_modified=last_modified or datetime(2025, 6, 1, tzinfo=UTC),
            status=status,
        )
    )
