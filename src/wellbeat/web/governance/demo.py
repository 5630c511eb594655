"""Demo agreements between the demo city's agencies, made through the real actions (so the
history and audit log read as they would in a deployment). Idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from wellbeat.web.accounts.models import Agency, Role, User
from wellbeat.web.governance import actions
from wellbeat.web.governance.models import Agreement


@dataclass(frozen=True)
class DemoAgreement:
    title: str
    provider_sector: str
    recipient_sector: str
    purpose: str
    syndromes: tuple[str, ...] | None
    kinds: tuple[str, ...] | None
    finest_layer: str
    finest_period: str
    min_cell: int = 10
    approve: tuple[str, ...] = ("provider", "recipient")
    fields: tuple[str, ...] = ()


DEMO_AGREEMENTS = (
    DemoAgreement(
        "EMS overdose responses for public-health surveillance",
        "fire_ems",
        "public_health",
        "overdose_response",
        ("overdose", "opioid_overdose", "stimulant_overdose"),
        None,
        "neighbourhood",
        "day",
        # Surveillance partners under a data use agreement see every count: spikes are found
        # by neighbourhood and day, where almost every count is small (k = 1: no suppression).
        min_cell=1,
        fields=("sex", "age_band"),
    ),
    DemoAgreement(
        "ED assault attendances for violence prevention (Cardiff Model)",
        "emergency_dept",
        "police",
        "violence_prevention",
        ("assault_injury", "firearm_injury"),
        None,
        "beat",
        "week",
        # The Cardiff Model shares anonymised ED assault counts with police in full.
        min_cell=1,
    ),
    DemoAgreement(
        "Police crisis calls for crisis-response planning",
        "police",
        "public_health",
        "crisis_response",
        ("mental_health_crisis",),
        ("call_for_service",),
        "neighbourhood",
        "week",
        # Counts under 3 are hidden, and so is any total that holds one (docs/governance.md):
        # the recipient sees "suppressed" where a neighbourhood's week is small.
        min_cell=3,
    ),
    DemoAgreement(
        "Medical examiner overdose deaths for public health (awaiting approval)",
        "medical_examiner",
        "public_health",
        "public_health_surveillance",
        ("overdose", "opioid_overdose", "stimulant_overdose"),
        ("death",),
        "district",
        "month",
        approve=("provider",),
    ),
)


def _first_agency(sector: str) -> Agency | None:
    return Agency.objects.filter(sector=sector).order_by("code").first()


def _admin_of(agency: Agency) -> User | None:
    for user in User.objects.filter(agency=agency, is_active=True).order_by("username"):
        if user.has_role(Role.AGENCY_ADMIN):
            return user
    return None


def seed_agreements(today: date | None = None) -> list[Agreement]:
    """Create the demo agreements between the first agency of each sector (skipping pairs
    whose sector has no agency), approved by each listed side's agency admin (a side without
    one has not approved yet); a second run returns the same agreements."""
    start = (today or timezone.localdate()) - timedelta(days=730)
    made: list[Agreement] = []
    for spec in DEMO_AGREEMENTS:
        provider = _first_agency(spec.provider_sector)
        recipient = _first_agency(spec.recipient_sector)
        if provider is None or recipient is None:
            continue
        existing = Agreement.objects.filter(
            title=spec.title, provider=provider, recipient=recipient
        ).first()
        if existing is not None:
            made.append(existing)
            continue
        drafter = _admin_of(provider) or _admin_of(recipient)
        if drafter is None:
            raise ValueError(
                f"demo agreements: neither {provider.code} nor {recipient.code} has an active "
                "agency admin to draft them; run seed_demo first"
            )
        agreement = actions.do_draft_agreement(
            drafter,
            title=spec.title,
            provider=provider,
            recipient=recipient,
            purpose=spec.purpose,
            granularity="aggregate",
            finest_layer=spec.finest_layer,
            finest_period=spec.finest_period,
            min_cell=spec.min_cell,
            valid_from=start,
            valid_to=None,
            syndromes=spec.syndromes,
            kinds=spec.kinds,
            fields=spec.fields,
            reason="demo agreement",
        )
        for side in spec.approve:
            # A side without an admin leaves the agreement waiting for it, as it would be.
            approver = _admin_of(provider if side == "provider" else recipient)
            if approver is not None:
                agreement = actions.do_approve_agreement(approver, agreement, "demo approval")
        made.append(agreement)
    return made
