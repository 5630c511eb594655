"""The Part 2 gate: which consents let two agencies share a person's SUD referral, and why not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from wellbeat.care.consent import part2_consent
from wellbeat.governance import Consent

NOW = datetime(2025, 7, 1, 12, tzinfo=UTC)
PERSON = "p1:" + "cd" * 32


def consent(**changes: object) -> Consent:
    fields: dict[str, object] = {
        "id": "CON-0001",
        "person_token": PERSON,
        "disclosing_agency": "BHC",
        "information": "Treatment status",
        "recipients": frozenset({"MPD"}),
        "purpose": "care_coordination",
        "signed_on": date(2025, 6, 1),
        "expires_on": date(2026, 6, 1),
    }
    fields.update(changes)
    return Consent(**fields)  # type: ignore[arg-type]


def test_no_consent_on_file_is_refused_with_what_is_needed() -> None:
    decision = part2_consent([], PERSON, "MPD", "BHC", NOW)
    assert not decision.allowed
    assert "needs a valid 42 CFR Part 2 consent" in decision.reason
    assert "none is on file" in decision.reason


def test_a_consent_in_either_direction_allows_sharing() -> None:
    assert part2_consent([consent()], PERSON, "MPD", "BHC", NOW).consent_id == "CON-0001"
    flipped = consent(disclosing_agency="MPD", recipients=frozenset({"BHC"}))
    assert part2_consent([flipped], PERSON, "MPD", "BHC", NOW).allowed


def test_revocation_applies_from_its_instant() -> None:
    revoked = consent(revoked_at=NOW)
    assert part2_consent([revoked], PERSON, "MPD", "BHC", NOW - timedelta(seconds=1)).allowed
    decision = part2_consent([revoked], PERSON, "MPD", "BHC", NOW)
    assert not decision.allowed
    assert "CON-0001: revoked 2025-07-01 12:00" in decision.reason


def test_other_reasons_are_named() -> None:
    cases = {
        "expired 2025-06-30": consent(expires_on=date(2025, 6, 30)),
        "purpose is research": consent(purpose="research"),
        "disclosed by GEN": consent(disclosing_agency="GEN"),
        "does not name MPD": consent(recipients=frozenset({"CRN"})),
        "signed only from 2025-08-01": consent(
            signed_on=date(2025, 8, 1), expires_on=None, expiry_event="discharge"
        ),
    }
    for expected, given in cases.items():
        decision = part2_consent([given], PERSON, "MPD", "BHC", NOW)
        assert not decision.allowed and expected in decision.reason, decision.reason


def test_another_persons_consent_does_not_count() -> None:
    other = consent(person_token="p1:" + "ef" * 32)
    assert "none is on file" in part2_consent([other], PERSON, "MPD", "BHC", NOW).reason
