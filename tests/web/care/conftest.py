"""A small care world on top of the shared test world: a directory with services run by BHC
(behavioural health, one a Part 2 program) and CRN (community), and helpers to record
encounters and referrals through the real actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from tests.care.builders import service_doc

from wellbeat.care.hsds import WeeklyHours

ALL_WEEK = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PERSON = {"first_name": "Jordan", "last_name": "Rivera", "dob": date(1988, 4, 12), "sex": "female"}


@dataclass
class CareWorld:
    world: Any
    services: dict[str, Any]

    def encounter(self, username: str = "mpd_officer", **changes: Any) -> Any:
        from django.utils import timezone

        from wellbeat.privacy.pseudonym import Identity
        from wellbeat.web.care import actions

        fields: dict[str, Any] = {
            "identity": Identity(**PERSON),
            "occurred_at": timezone.now(),
            "place_type": "street",
            "needs": ["mental-health", "substance-use", "homelessness"],
            "crisis": True,
            "consent_to_refer": True,
            "latitude": 41.59,
            "longitude": -93.62,
        }
        fields.update(changes)
        return actions.do_record_encounter(self.world.users[username], **fields)

    def refer(self, service: str, username: str = "mpd_officer", encounter: Any = None) -> Any:
        from wellbeat.web.care import actions

        return actions.do_refer(
            self.world.users[username],
            encounter or self.encounter(username),
            self.services[service],
        )

    def completed(self, service: str, provider: str = "bhc_clinician") -> Any:
        """A referral the provider accepted, contacted and completed."""
        from wellbeat.web.care import actions

        referral = self.refer(service)
        for status in ("accepted", "in-progress", "completed"):
            referral = actions.do_change_status(self.world.users[provider], referral, status)
        return referral

    def declined(self, service: str, provider: str, reason: str) -> Any:
        """A referral the provider declined, with its reason."""
        from wellbeat.web.care import actions

        referral = self.refer(service)
        return actions.do_change_status(self.world.users[provider], referral, "rejected", reason)

    def part2_consent(self, **changes: Any) -> Any:
        """BHC records the person's Part 2 consent naming MPD, for care coordination."""
        from wellbeat.privacy.pseudonym import Identity
        from wellbeat.web.care.actions import hub_person_token
        from wellbeat.web.governance import actions as governance

        fields: dict[str, Any] = {
            "person_token": hub_person_token(Identity(**PERSON)),
            "information": "Whether the person entered and stayed in withdrawal management",
            "recipients": [self.world.agencies["MPD"]],
            "purpose": "care_coordination",
            "signed_on": date.today(),
            "expires_on": date(date.today().year + 1, 12, 31),
        }
        fields.update(changes)
        return governance.do_record_consent(self.world.users["bhc_clinician"], **fields)


@pytest.fixture
def care(world: Any, hub_data_dir: Path) -> CareWorld:
    from wellbeat.web.care import actions

    documents = {
        "counselling": service_doc(
            "Crisis counselling", hours=(WeeklyHours(ALL_WEEK, "00:00", "23:59"),)
        ),
        "detox": service_doc(
            "Withdrawal management",
            needs=("substance-use",),
            part2=True,
            first_contact_hours=24,
            hours=(WeeklyHours(ALL_WEEK, "00:00", "23:59"),),
        ),
        "housing": service_doc(
            "Housing navigation",
            agency="CRN",
            organization="Community Resource Network",
            needs=("homelessness", "housing-instability"),
            first_contact_hours=72,
        ),
        "shelter": service_doc(
            "Night shelter",
            agency=None,
            organization="Rescue Mission",
            needs=("homelessness",),
            accepting=False,
        ),
    }
    actions.do_import_directory(list(documents.values()), actor_label="test")
    from wellbeat.web.care.models import DirectoryEntry

    services = {k: DirectoryEntry.objects.get(service_id=d["id"]) for k, d in documents.items()}
    return CareWorld(world, services)
