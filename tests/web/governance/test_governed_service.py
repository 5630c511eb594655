"""The governed query service over a real lake: decisions, releases, audit, revocations."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from wellbeat.governance import DataRequest, Refusal
from wellbeat.governance.release import Release
from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.governance import actions
from wellbeat.web.governance.service import governed_aggregate, governed_extract

from .lake_support import DAY, ingest_events, write_areas

PURPOSE = "overdose_response"


def active_agreement(world, **kw):
    values = dict(
        title="EMS overdoses",
        provider=world.agencies["MFD"],
        recipient=world.agencies["PHD"],
        purpose=PURPOSE,
        granularity="aggregate",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=10,
        valid_from=date(2024, 1, 1),
        syndromes=["overdose"],
    )
    values.update(kw)
    agreement = actions.do_draft_agreement(world.users["mfd_admin"], **values)
    actions.do_approve_agreement(world.users["mfd_admin"], agreement)
    return actions.do_approve_agreement(world.users["phd_admin"], agreement)


def by_area(release: Release) -> dict[str, int | None]:
    return {r["area"]: r["count"] for r in release.table.to_pylist()}


@pytest.mark.django_db
def test_own_data_needs_no_agreement_and_every_read_is_audited(world, city) -> None:
    analyst = world.users["phd_analyst"]
    release = governed_aggregate(analyst, PURPOSE, DataRequest(area_layer="neighbourhood"))
    assert isinstance(release, Release)
    assert by_area(release) == {"n0": 2}
    entry = AuditEntry.objects.filter(action="governed.read").get()
    assert entry.actor_username == "phd_analyst"
    assert entry.details["providers"] == ["PHD"]


@pytest.mark.django_db
def test_reads_follow_the_agreement_lifecycle(world, city) -> None:
    analyst = world.users["phd_analyst"]
    request = DataRequest(agencies=("MFD",), area_layer="neighbourhood")
    refused = governed_aggregate(analyst, PURPOSE, request)
    assert isinstance(refused, Refusal)
    assert "no agreement from MFD to PHD exists" in refused.message
    assert AuditEntry.objects.filter(action="governed.refused").count() == 1

    agreement = active_agreement(world)
    release = governed_aggregate(analyst, PURPOSE, request)
    assert isinstance(release, Release)
    # n0 = 3 is small; n1 = 14 and n2 = 25 are released (no total holding n0 ever is).
    assert by_area(release) == {"n0": None, "n1": 14, "n2": 25}
    assert release.plan.agreement_ids == (agreement.code,)

    coarse = governed_aggregate(
        analyst, PURPOSE, DataRequest(agencies=("MFD",), area_layer="beat", period="week")
    )
    assert isinstance(coarse, Release)
    # b0 = n0 + n2 = 28 would give n0 away (28 - 25): a total holding a hidden cell is hidden.
    assert {r["area"]: r["count"] for r in coarse.table.to_pylist()} == {"b0": None, "b1": 14}

    actions.do_revoke_agreement(world.users["mfd_admin"], agreement, "pause sharing")
    again = governed_aggregate(analyst, PURPOSE, request)
    assert isinstance(again, Refusal)
    assert again.message == f"agreement {agreement.code} from MFD to PHD was revoked"


@pytest.mark.django_db
def test_the_outsider_reads_nothing_of_others(world, city) -> None:
    active_agreement(world)
    release = governed_aggregate(world.users["xpd_analyst"], PURPOSE, DataRequest(by=("agency",)))
    assert isinstance(release, Release)
    assert release.table.to_pylist() == [{"agency": "XPD", "count": 0, "suppressed": False}]
    refused = governed_aggregate(
        world.users["xpd_analyst"], PURPOSE, DataRequest(agencies=("MFD",))
    )
    assert isinstance(refused, Refusal)


@pytest.mark.django_db
def test_consent_revocation_applies_on_the_next_read(world, city) -> None:
    ingest_events(
        city,
        "BHC",
        "behavioral_health",
        "crisis_contact",
        {"n0": 2},
        syndromes=("mental_health_crisis",),
        sensitivity=("phi", "part2"),
        tokens=["p1:" + "a" * 64, "p1:" + "b" * 64],
        batch="sud",
    )
    agreement = actions.do_draft_agreement(
        world.users["bhc_admin"],
        title="BHC crisis contacts for care coordination",
        provider=world.agencies["BHC"],
        recipient=world.agencies["CRN"],
        purpose="care_coordination",
        granularity="person_level",
        finest_layer="neighbourhood",
        finest_period="day",
        min_cell=1,
        valid_from=date(2024, 1, 1),
        fields=["person_token", "occurred_at"],
    )
    actions.do_approve_agreement(world.users["bhc_admin"], agreement)
    crn_admin = world.users["crn_coordinator"]
    crn_admin.roles = ["agency_admin", "care_coordinator"]
    crn_admin.save()
    actions.do_approve_agreement(crn_admin, agreement)
    consent = actions.do_record_consent(
        world.users["bhc_clinician"],
        person_token="p1:" + "a" * 64,
        information="crisis contacts",
        recipients=[world.agencies["CRN"]],
        purpose="care_coordination",
        signed_on=date(2025, 1, 1),
        expires_on=date(2099, 1, 1),
    )
    request = DataRequest(kind="extract", agencies=("BHC",), columns=("person_token",))
    first = governed_extract(crn_admin, "care_coordination", request)
    assert isinstance(first, Release)
    assert first.table.num_rows == 1 and first.withheld_part2_rows == 1
    assert first.table["person_token"][0].as_py().startswith("r1:")
    actions.do_revoke_consent(world.users["bhc_clinician"], consent, "patient withdrew")
    second = governed_extract(crn_admin, "care_coordination", request)
    assert isinstance(second, Release)
    assert second.table.num_rows == 0 and second.withheld_part2_rows == 2


@pytest.mark.django_db
def test_the_differencing_attack_of_issue_8_fails_on_the_lake(world, hub_data_dir) -> None:
    """Under a daily k = 10 agreement, totals whose end differs by a day (or by four hours)
    once gave away a hidden day's count (or one event). Windows are now widened to whole
    days and a total holding a hidden day is hidden itself."""
    write_areas(hub_data_dir)
    ingest_events(hub_data_dir, "MFD", "fire_ems", "ems_response", {"n2": 25, "n1": 14})
    next_day = DAY + timedelta(days=1)
    ingest_events(
        hub_data_dir, "MFD", "fire_ems", "ems_response", {"n2": 5}, batch="c", day=next_day
    )
    active_agreement(world)
    analyst = world.users["phd_analyst"]
    midnight = DAY.replace(hour=0)

    def total(end: datetime) -> tuple[int | None, Release]:
        request = DataRequest(agencies=("MFD",), start=midnight, end=end)
        release = governed_aggregate(analyst, PURPOSE, request)
        assert isinstance(release, Release), release
        (row,) = release.table.to_pylist()
        return row["count"], release

    assert total(midnight + timedelta(days=1))[0] == 39
    assert total(midnight + timedelta(days=2))[0] is None  # holds the hidden 5
    for hours in (4, 8):
        count, release = total(midnight + timedelta(days=1, hours=hours))
        assert count is None
        assert release.plan.end == (midnight + timedelta(days=2)).date()  # a local day
        assert any("time window widened to whole days" in n for n in release.notes)
    entry = AuditEntry.objects.filter(action="governed.read").latest("id")
    assert entry.details["window_end"] == (midnight + timedelta(days=2)).date().isoformat()
