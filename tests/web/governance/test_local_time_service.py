"""The web app reads periods in the lake's time zone: governed reads, the audit entry, the
hub's today, and the setting that must agree with the lake."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wellbeat.governance import DataRequest
from wellbeat.governance.release import Release
from wellbeat.lake.store import LakeSettings, write_lake_settings
from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.env import SettingError, hub_time_zone
from wellbeat.web.governance.service import governed_aggregate
from wellbeat.web.governance.service import hub_time_zone as service_zone

from .lake_support import ingest_events, write_areas

PURPOSE = "overdose_response"
# 23:30 on New Year's Eve in Chicago is 05:30 UTC on New Year's Day.
LATE_NYE = datetime(2025, 1, 1, 5, 30, tzinfo=UTC)


@pytest.fixture
def chicago(hub_data_dir):
    write_areas(hub_data_dir)
    write_lake_settings(hub_data_dir, LakeSettings("America/Chicago"))
    ingest_events(hub_data_dir, "PHD", "public_health", "outreach_contact", {"n0": 3}, day=LATE_NYE)
    return hub_data_dir


@pytest.mark.django_db
def test_a_late_new_years_eve_counts_in_its_local_year(world, chicago) -> None:
    analyst = world.users["phd_analyst"]
    assert service_zone() == "America/Chicago"
    for period, first in (("day", date(2024, 12, 31)), ("year", date(2024, 1, 1))):
        release = governed_aggregate(analyst, PURPOSE, DataRequest(period=period))
        assert isinstance(release, Release)
        assert release.table.to_pylist() == [{"period": first, "count": 3, "suppressed": False}]
    # Day bounds given as dates are local days; the audit entry says in which zone.
    request = DataRequest(period="day", start=date(2024, 12, 31), end=date(2025, 1, 1))
    release = governed_aggregate(analyst, PURPOSE, request)
    assert isinstance(release, Release) and release.table.column("count").to_pylist() == [3]
    entry = AuditEntry.objects.filter(action="governed.read").latest("id")
    assert entry.details["window_end"] == "2025-01-01"
    assert entry.details["time_zone"] == "America/Chicago"
    new_year = DataRequest(period="day", start=date(2025, 1, 1), end=date(2025, 1, 2))
    release = governed_aggregate(analyst, PURPOSE, new_year)
    assert isinstance(release, Release) and release.table.num_rows == 0


def test_the_time_zone_setting_must_agree_with_the_lake() -> None:
    assert hub_time_zone("America/Chicago", {}) == "America/Chicago"
    assert hub_time_zone("America/Chicago", {"WELLBEAT_TIME_ZONE": "America/Chicago"}) == (
        "America/Chicago"
    )
    with pytest.raises(SettingError, match="disagrees with the lake's time zone"):
        hub_time_zone("America/Chicago", {"WELLBEAT_TIME_ZONE": "UTC"})
