"""The demo's care activity: the synthetic city's crisis calls replayed through triage, with
co-responder encounters and referrals worked by the providers, feeding every measure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wellbeat.care.hsds import synthetic_directory
from wellbeat.care.triage import CIVILIAN_RESPONSES
from wellbeat.demo_pipeline import run_pipeline
from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.care.actions import do_import_directory
from wellbeat.web.care.demo import seed_care_activity
from wellbeat.web.care.models import Encounter, Referral, TriageCall
from wellbeat.web.care.reports import care_measures
from wellbeat.web.demo_logins import seed_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_hub(tmp_path: Path, hub_data_dir: Path, settings: Any) -> Path:
    settings.WELLBEAT_DEMO = True
    pipeline = run_pipeline(tmp_path / "hub", scale="tiny", seed=7)
    seed_demo(hub_data_dir, pipeline.agencies)
    do_import_directory(synthetic_directory(), actor_label="test")
    return pipeline.agencies_dir


def test_replayed_calls_feed_every_measure_once(demo_hub: Path) -> None:
    seeded = seed_care_activity(demo_hub, seed=3, days=730)
    assert seeded.calls == TriageCall.objects.count() > 0
    assert seeded.referrals == Referral.objects.count() > 0
    assert seeded.encounters == Encounter.objects.count() >= seeded.referrals
    # Every call has what was sent and how it ended; none with a weapon went to civilians.
    assert not TriageCall.objects.filter(outcome="").exists()
    for call in TriageCall.objects.all():
        if call.weapon or "weapon" in call.keyword_groups:
            assert call.actual_response not in {r.value for r in CIVILIAN_RESPONSES}
    measures = {m.key: m for m in care_measures()}
    for key in (
        "referral_completion_rate",
        "time_to_first_contact_hours",
        "alternative_response_share",
        "diversion_rate",
        "repeat_crisis_30d",
    ):
        assert measures[key].value is not None, key
    # History kept its own times (the city's), and each step was audited.
    assert Referral.objects.filter(requested_at__year__lte=2025).count() == seeded.referrals
    assert AuditEntry.objects.filter(action="care.triage_outcome_recorded").count() == seeded.calls

    # Referrals carry sealed names for the provider agencies; the team's clinician has cases.
    from wellbeat.web.accounts.models import User
    from wellbeat.web.care import actions
    from wellbeat.web.care.demo import DEMO_CONTACT_PASSPHRASE
    from wellbeat.web.care.models import AgencyKey, ContactStatus
    from wellbeat.web.demo_logins import demo_username

    assert set(AgencyKey.objects.values_list("agency__code", flat=True)) == {"NBH", "CHD"}
    sealed = Referral.objects.filter(contact_status=ContactStatus.SEALED)
    assert 0 < sealed.count() < seeded.referrals
    clinician = User.objects.get(username=demo_username("NBH", "clinician"))
    assert Encounter.objects.filter(recorded_by=clinician, responder_role="co_responder").exists()
    keys = actions.do_unlock_contact_keys(clinician, DEMO_CONTACT_PASSPHRASE)
    mine = list(sealed.filter(performer_agency=clinician.agency))
    cards = actions.do_reveal_contacts(clinician, mine, keys, "test")
    assert len(cards) == len(mine) > 0
    assert all(" " in c.name and c.phone.startswith("+1 515 555 01") for c in cards.values())
    # The people's names are in the cards, and nowhere in the hub's database.
    from tests.web.care.test_contact_cards import hub_database_dump, leaks

    names = tuple({c.name for c in cards.values()})
    assert leaks(hub_database_dump(), names) == []

    again = seed_care_activity(demo_hub, seed=3, days=730)
    assert again.already_seeded
    assert TriageCall.objects.count() == seeded.calls
    assert Referral.objects.count() == seeded.referrals


def test_outside_demo_mode_nothing_is_replayed(demo_hub: Path, settings: Any) -> None:
    settings.WELLBEAT_DEMO = False
    with pytest.raises(RuntimeError, match="demo mode"):
        seed_care_activity(demo_hub)
    assert not TriageCall.objects.exists()


def test_a_city_ending_today_replays_only_calls_whose_steps_have_happened(
    tmp_path: Path, hub_data_dir: Path, settings: Any
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from wellbeat.synth.geography import TIMEZONE

    settings.WELLBEAT_DEMO = True
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    pipeline = run_pipeline(tmp_path / "hub", scale="tiny", seed=7, end=today)
    seed_demo(hub_data_dir, pipeline.agencies)
    do_import_directory(synthetic_directory(as_of=today), actor_label="test")
    seeded = seed_care_activity(pipeline.agencies_dir, seed=3, days=30)
    assert seeded.calls > 0
    now = datetime.now(UTC)
    assert not TriageCall.objects.filter(received_at__gt=now).exists()
    assert not TriageCall.objects.filter(outcome_recorded_at__gt=now).exists()
    assert not Referral.objects.filter(authored_on__gt=now).exists()
