"""Who may read a referral right now (the parties, clinical detail, Part 2 consent in force),
and the audit rows of every read and list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wellbeat.care.lifecycle import (
    Side,
)
from wellbeat.web.accounts.models import User
from wellbeat.web.audit.actions import record
from wellbeat.web.care.actions.common import (
    CLINICAL_ROLES,
    PERFORMER_ROLES,
    REFERRER_ROLES,
    CareError,
    _roles,
)
from wellbeat.web.care.actions.consent import part2_decision
from wellbeat.web.care.models import (
    Referral,
)


def sides_of(user: User, referral: Referral) -> set[Side]:
    """The sides of the referral the user acts for (by agency and role)."""
    sides: set[Side] = set()
    if user.agency_id is None:
        return sides
    if user.agency_id == referral.referrer_agency_id and _roles(user, REFERRER_ROLES):
        sides.add(Side.REQUESTER)
    if user.agency_id == referral.performer_agency_id and _roles(user, PERFORMER_ROLES):
        sides.add(Side.PERFORMER)
    return sides


def sees_clinical_detail(user: User, referral: Referral) -> bool:
    """Clinicians and care coordinators of either agency; never officers."""
    return bool(sides_of(user, referral)) and _roles(user, CLINICAL_ROLES)


@dataclass(frozen=True)
class ReferralAccess:
    """What one user may see of one referral right now."""

    referral: Referral
    sides: frozenset[Side]
    clinical: bool
    withheld: str = ""
    """Why the referral's content is withheld (Part 2 consent not in force), else empty."""

    @property
    def readable(self) -> bool:
        return not self.withheld


def access_for(user: User, referral: Referral) -> ReferralAccess | None:
    """The user's access to a referral (None: not a party); no audit (see do_open_referral)."""
    sides = sides_of(user, referral)
    if not sides:
        return None
    withheld = ""
    if referral.part2:
        decision = part2_decision(
            referral.person_token, referral.referrer_agency, referral.performer_agency
        )
        if not decision.allowed:
            withheld = (
                "Withheld under 42 CFR Part 2: the person's consent to share this referral is "
                f"no longer in force ({decision.reason})."
            )
    return ReferralAccess(
        referral, frozenset(sides), sees_clinical_detail(user, referral), withheld
    )


def do_open_referral(actor: User, referral: Referral) -> ReferralAccess:
    """Read one referral: refused to non-parties and, for Part 2 referrals, once the consent
    is no longer in force; the read (or refusal) is audited."""
    access = access_for(actor, referral)
    target = f"referral:{referral.public_id}"
    if access is None:
        record(
            "care.referral_read_refused",
            actor=actor,
            agency=actor.agency,
            target=target,
            details={"reason": "not a party"},
        )
        raise CareError("not_found", f"no referral {referral.public_id} that you may see")
    if access.withheld:
        record(
            "care.referral_read_refused",
            actor=actor,
            agency=actor.agency,
            target=target,
            details={"reason": "part2 consent not in force"},
        )
        raise CareError("consent_required", access.withheld)
    record(
        "care.referral_viewed",
        actor=actor,
        agency=actor.agency,
        target=target,
        details={"clinical": access.clinical, "sides": sorted(access.sides)},
    )
    return access


def record_list_access(actor: User, what: str, referrals: Sequence[Referral]) -> None:
    """Audit a page or API call that listed referrals (their ids, at most 200)."""
    record(
        "care.referrals_listed",
        actor=actor,
        agency=actor.agency,
        target=what,
        details={"count": len(referrals), "referrals": [str(r.public_id) for r in referrals[:200]]},
    )


def record_measures_export(actor: User, period: str, rows: int) -> None:
    """Audit a download of the care measures per period (counts only)."""
    record(
        "care.measures_exported",
        actor=actor,
        agency=actor.agency,
        target=f"care:measures:{period}",
        details={"period": period, "rows": rows},
    )
