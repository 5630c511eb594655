"""FHIR R4 exchange of referrals and their Part 2 consents: export (audited) and an
all-or-nothing import that an export round-trips through."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from wellbeat.care.fhir import (
    ConsentRecord,
    FhirError,
    ReferralRecord,
    read_referral_bundle,
    referral_bundle,
)
from wellbeat.care.lifecycle import (
    Side,
    TaskStatus,
    first_contact_due,
)
from wellbeat.web.accounts.models import Agency, User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.common import CareError
from wellbeat.web.care.actions.consent import part2_decision
from wellbeat.web.care.models import (
    DirectoryEntry,
    Referral,
    ReferralEvent,
)
from wellbeat.web.governance.models import Consent


@dataclass
class FhirExport:
    bundle: dict[str, Any]
    referrals: int
    consents: int
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        return json.dumps(self.bundle, indent=2, ensure_ascii=False) + "\n"


def do_export_fhir(*, actor: User | None = None, actor_label: str = "") -> FhirExport:
    """Every referral and the Part 2 consents they rely on, as a FHIR R4 Bundle (audited).
    A Part 2 referral whose consent is no longer in force is left out (and counted)."""
    referrals = []
    withheld = 0
    for referral in Referral.objects.select_related("referrer_agency", "performer_agency").order_by(
        "pk"
    ):
        if (
            referral.part2
            and not part2_decision(
                referral.person_token, referral.referrer_agency, referral.performer_agency
            ).allowed
        ):
            withheld += 1
            continue
        referrals.append(referral)
    records: list[ReferralRecord] = [r.to_record() for r in referrals]
    codes = sorted({r.consent_code for r in referrals if r.consent_code})
    consents: list[ConsentRecord] = []
    for consent in (
        Consent.objects.filter(code__in=codes)
        .select_related("disclosing_agency")
        .prefetch_related("recipients")
        .order_by("code")
    ):
        consents.append(
            ConsentRecord(
                id=consent.code,
                person_token=consent.person_token,
                disclosing_agency=consent.disclosing_agency.code,
                recipients=tuple(sorted(a.code for a in consent.recipients.all())),
                purpose=consent.purpose,
                information=consent.information,
                signed_on=consent.signed_on,
                expires_on=consent.expires_on,
                expiry_event=consent.expiry_event,
                revoked_at=consent.revoked_at,
            )
        )
    bundle = referral_bundle(records, consents)
    record(
        "care.referrals_exported",
        actor=actor,
        agency=actor.agency if actor else None,
        target="fhir",
        details={"referrals": len(records), "consents": len(consents), "withheld": withheld},
        actor_label=actor_label,
    )
    warnings = (
        [f"{withheld} Part 2 referral(s) left out: their consent is no longer in force"]
        if withheld
        else []
    )
    return FhirExport(bundle, len(records), len(consents), warnings)


@dataclass
class FhirImport:
    referrals_created: int = 0
    referrals_updated: int = 0
    referrals_unchanged: int = 0
    consents_created: int = 0
    consents_revoked: int = 0
    consents_unchanged: int = 0


_REQUESTER_STATUSES = frozenset(
    {TaskStatus.DRAFT, TaskStatus.REQUESTED, TaskStatus.CANCELLED, TaskStatus.ENTERED_IN_ERROR}
)


def _import_consent(rec: ConsentRecord, agencies: dict[str, Agency], result: FhirImport) -> None:
    from wellbeat import governance as core

    existing = Consent.objects.filter(code=rec.id).first()
    if existing is not None:
        if rec.revoked_at is not None and existing.revoked_at is None:
            existing.revoked_at = rec.revoked_at
            existing.revocation_reason = "revoked at the source (FHIR import)"
            existing.save(update_fields=["revoked_at", "revocation_reason"])
            result.consents_revoked += 1
        else:
            result.consents_unchanged += 1
        return
    core.Consent(
        id=rec.id,
        person_token=rec.person_token,
        disclosing_agency=rec.disclosing_agency,
        information=rec.information,
        recipients=frozenset(rec.recipients),
        purpose=rec.purpose,
        signed_on=rec.signed_on,
        expires_on=rec.expires_on,
        expiry_event=rec.expiry_event,
    )  # raises AgreementError on a consent missing a Part 2 element
    consent = Consent.objects.create(
        code=rec.id,
        person_token=rec.person_token,
        disclosing_agency=agencies[rec.disclosing_agency],
        information=rec.information,
        purpose=rec.purpose,
        signed_on=rec.signed_on,
        expires_on=rec.expires_on,
        expiry_event=rec.expiry_event,
        revoked_at=rec.revoked_at,
    )
    consent.recipients.set([agencies[code] for code in rec.recipients])
    result.consents_created += 1


def _referral_fields(rec: ReferralRecord, agencies: dict[str, Agency]) -> dict[str, Any]:
    entry = DirectoryEntry.objects.filter(service_id=rec.service_id).first()
    requested = None if rec.status is TaskStatus.DRAFT else rec.authored_on
    promised = entry.first_contact_hours if entry is not None else None
    return {
        "person_token": rec.person_token,
        "entry": entry,
        "service_id": rec.service_id,
        "service_name": rec.service_name,
        "referrer_agency": agencies[rec.requester_agency],
        "performer_agency": agencies[rec.performer_agency],
        "needs": list(rec.needs),
        "part2": rec.part2,
        "consent_code": rec.consent_id or "",
        "status": rec.status.value,
        "status_reason": rec.status_reason,
        "authored_on": rec.authored_on,
        "last_modified": rec.last_modified,
        "requested_at": requested,
        "first_contact_due": first_contact_due(requested, promised) if requested else None,
        "first_contact_at": rec.first_contact_at,
        "closed_at": rec.closed_at,
    }


def do_import_fhir(
    text: str, *, source: str = "bundle", actor: User | None = None, actor_label: str = ""
) -> FhirImport:
    """Bring a FHIR R4 Bundle of referrals (ServiceRequest + Task) and their Part 2 consents
    into the hub, as ``do_export_fhir`` writes them: new referrals are created, known ones
    (same id) take the bundle's state, identical ones are left alone, so importing an export
    changes nothing. All or nothing: any problem (unknown agency, a Part 2 referral without a
    consent in force, a malformed resource) refuses the whole bundle, naming each record."""
    from wellbeat.governance import AgreementError

    try:
        records, consents = read_referral_bundle(text, source)
    except FhirError as exc:
        raise CareError("invalid", str(exc)) from exc
    agencies = {a.code: a for a in Agency.objects.all()}
    problems: list[str] = []
    for c in consents:
        unknown = sorted({c.disclosing_agency, *c.recipients} - set(agencies))
        if unknown:
            problems.append(f"Consent {c.id}: agency {', '.join(unknown)} is not on this hub")
    for r in records:
        unknown = sorted({r.requester_agency, r.performer_agency} - set(agencies))
        if unknown:
            problems.append(f"Task {r.id}: agency {', '.join(unknown)} is not on this hub")
    if problems:
        raise CareError("invalid", f"{source}: " + "; ".join(problems))
    result = FhirImport()
    with transaction.atomic():
        for c in consents:
            try:
                _import_consent(c, agencies, result)
            except AgreementError as exc:
                problems.append(f"Consent {c.id}: {exc}")
        for r in records:
            # The Part 2 gate: a referral into SUD treatment flows only under a consent in
            # force (the bundle's own consents count: they were registered just above).
            if r.part2:
                decision = part2_decision(
                    r.person_token, agencies[r.requester_agency], agencies[r.performer_agency]
                )
                if not decision.allowed:
                    problems.append(f"Task {r.id}: Part 2 referral refused: {decision.reason}")
                    continue
            existing = Referral.objects.filter(public_id=r.id).first()
            if existing is not None and existing.to_record() == r:
                result.referrals_unchanged += 1
                continue
            fields = _referral_fields(r, agencies)
            previous = existing.status if existing is not None else ""
            if existing is None:
                referral = Referral.objects.create(public_id=r.id, **fields)
                result.referrals_created += 1
            else:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.save()
                referral = existing
                result.referrals_updated += 1
            if previous != referral.status:
                side = Side.REQUESTER if r.status in _REQUESTER_STATUSES else Side.PERFORMER
                ReferralEvent.objects.create(
                    referral=referral,
                    from_status=previous,
                    to_status=referral.status,
                    side=side.value,
                    reason=r.status_reason,
                    actor_agency=agencies[
                        r.requester_agency if side is Side.REQUESTER else r.performer_agency
                    ],
                    at=r.last_modified,
                )
        if problems:
            transaction.set_rollback(True)
        else:
            record(
                "care.referrals_imported",
                actor=actor,
                agency=actor.agency if actor else None,
                target="fhir",
                details={
                    "source": source,
                    "created": result.referrals_created,
                    "updated": result.referrals_updated,
                    "unchanged": result.referrals_unchanged,
                    "consents_created": result.consents_created,
                    "consents_revoked": result.consents_revoked,
                },
                actor_label=actor_label,
            )
    if problems:
        raise CareError("invalid", f"{source}: nothing imported: " + "; ".join(problems))
    return result
