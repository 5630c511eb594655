"""The 42 CFR Part 2 gate for referrals: a referral into a substance-use-disorder treatment
program, and every later read of it, needs a valid Part 2 consent of the person that links the
two agencies of the referral for care coordination.

Consents are the governance registry's (``wellbeat.governance.Consent``); this module only
decides. A consent links the referral's parties when one of them is the disclosing agency and
the other is among its recipients, the purpose is care coordination, and it is signed, not
expired and not revoked at the moment of the check, so a revocation stops sharing at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from wellbeat.governance import Consent

PART2_PURPOSE = "care_coordination"
"""The purpose a consent must name to cover a referral (wellbeat.governance.PURPOSES)."""


@dataclass(frozen=True)
class ConsentDecision:
    """Whether Part 2 sharing between the parties is allowed now, which consent allows it, and
    a reason a person can act on when it is not."""

    allowed: bool
    consent_id: str | None
    reason: str


def part2_consent(
    consents: Iterable[Consent],
    person_token: str,
    agency_a: str,
    agency_b: str,
    now: datetime,
    purpose: str = PART2_PURPOSE,
) -> ConsentDecision:
    """Find a consent that lets ``agency_a`` and ``agency_b`` share this person's Part 2
    referral at ``now`` (either may be the disclosing agency)."""
    mine = [c for c in consents if c.person_token == person_token]
    for consent in mine:
        if consent.permits(agency_a, agency_b, purpose, now) or consent.permits(
            agency_b, agency_a, purpose, now
        ):
            return ConsentDecision(
                True,
                consent.id,
                f"42 CFR Part 2 consent {consent.id} covers {agency_a} and {agency_b} "
                f"for {purpose}",
            )
    needed = (
        f"a valid 42 CFR Part 2 consent of this person (pseudonym {person_token[:12]}...) "
        f"for {purpose}, disclosed by {agency_b} to {agency_a} or by {agency_a} to {agency_b}"
    )
    if not mine:
        return ConsentDecision(False, None, f"needs {needed}; none is on file")
    problems = [f"{c.id}: {_why_not(c, agency_a, agency_b, purpose, now)}" for c in mine]
    return ConsentDecision(
        False, None, f"needs {needed}; the consents on file do not allow it ({'; '.join(problems)})"
    )


def _why_not(consent: Consent, a: str, b: str, purpose: str, now: datetime) -> str:
    if consent.revoked_at is not None and now >= consent.revoked_at:
        return f"revoked {consent.revoked_at:%Y-%m-%d %H:%M}"
    if consent.expires_on is not None and now.date() > consent.expires_on:
        return f"expired {consent.expires_on}"
    if consent.signed_on > now.date():
        return f"signed only from {consent.signed_on}"
    if consent.purpose != purpose:
        return f"purpose is {consent.purpose}"
    parties = {a, b}
    if consent.disclosing_agency not in parties:
        return f"disclosed by {consent.disclosing_agency}, not by {a} or {b}"
    other = (parties - {consent.disclosing_agency}) or parties
    return f"does not name {', '.join(sorted(other))} as a recipient"
