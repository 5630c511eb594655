"""The detection job on a small city: the planted spike raises alerts, nothing twice, the
neighbours are named, and every read the job makes is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.surveillance.detection import run_detection
from wellbeat.web.surveillance.models import Alert, AlertSignal, SpikeThreshold
from wellbeat.web.surveillance.watchlist import WATCHLIST

from .conftest import FIRST_DAY, LAST_DAY, SPIKE_AREA, SPIKE_COUNT

pytestmark = pytest.mark.django_db


def test_the_planted_spike_raises_an_aberration_and_a_threshold_alert(detected: Any) -> None:
    spike_alerts = Alert.objects.filter(area=SPIKE_AREA, last_signal_on=LAST_DAY)
    assert {a.method for a in spike_alerts} == {"ears-c2", "threshold"}
    threshold = spike_alerts.get(method="threshold")
    assert threshold.observed == SPIKE_COUNT
    assert threshold.threshold == 4
    assert threshold.agencies == ["MFD"]
    # n1 touches every other square of the 2x2 grid (queen contiguity).
    assert threshold.neighbours == ["n0", "n2", "n3"]
    assert threshold.area_name == "N1"
    # The quiet background (one event every few days) raises nothing.
    assert not Alert.objects.exclude(area=SPIKE_AREA).exclude(kind="data_quality").exists()


def test_running_again_raises_nothing_twice(detected: Any) -> None:
    before = (Alert.objects.count(), AlertSignal.objects.count())
    again = run_detection(LAST_DAY, since=FIRST_DAY)
    assert again.raised == 0 and again.extended == 0
    assert again.duplicates == detected.signals > 0
    assert (Alert.objects.count(), AlertSignal.objects.count()) == before


def test_a_next_day_signal_extends_the_running_alert(watched_city: Any) -> None:
    from .conftest import ingest_daily

    run_detection(LAST_DAY, since=FIRST_DAY)
    first = Alert.objects.get(area=SPIKE_AREA, method="threshold")
    # More reports arrive for the next day in the same area.
    counts = {(SPIKE_AREA, LAST_DAY + dt.timedelta(days=1)): 5}
    ingest_daily(watched_city, "MFX", counts)
    run_detection(LAST_DAY + dt.timedelta(days=1))
    extended = Alert.objects.get(pk=first.pk)
    assert Alert.objects.filter(area=SPIKE_AREA, method="threshold").count() == 1
    assert extended.last_signal_on == LAST_DAY + dt.timedelta(days=1)
    assert extended.started_on == LAST_DAY
    assert extended.signals.count() == 2
    assert extended.agencies == ["MFD", "MFX"]


def test_an_admin_threshold_overrides_the_default(watched_city: Any, world: Any) -> None:
    from wellbeat.web.surveillance.actions import do_set_spike_threshold

    do_set_spike_threshold(
        world.users["mfd_admin"], "suspected_overdose", "neighbourhood", SPIKE_AREA, 7
    )
    run_detection(LAST_DAY, since=FIRST_DAY)
    assert not Alert.objects.filter(method="threshold").exists()
    assert SpikeThreshold.objects.get().set_by == world.users["mfd_admin"]


def test_every_job_read_is_audited_as_a_system_read(detected: Any) -> None:
    reads = AuditEntry.objects.filter(action="system.read")
    # One per watched indicator, one for the quality monitors.
    assert reads.count() == len(WATCHLIST) + 1
    assert {e.actor_username for e in reads} == {"job:alerts"}
    raised = AuditEntry.objects.filter(action="alert.raised")
    assert raised.count() == Alert.objects.count()  # data-quality alerts included


def test_a_stale_source_raises_one_data_quality_alert_to_its_admins(
    watched_city: Any, world: Any
) -> None:
    from wellbeat.web.surveillance.actions import can_see

    # The test events carry no codes at all: the informative-codes monitor fails.
    run_detection(LAST_DAY, since=FIRST_DAY)
    dq = Alert.objects.filter(kind="data_quality", source_agency=world.agencies["MFD"])
    assert dq.count() >= 1
    alert = dq.first()
    assert alert is not None and alert.summary
    assert can_see(world.users["mfd_admin"], alert)
    assert not can_see(world.users["mfd_analyst"], alert)
    assert not can_see(world.users["phd_admin"], alert)
    before = dq.count()
    run_detection(LAST_DAY, since=FIRST_DAY)
    assert dq.count() == before


def test_the_home_page_shows_data_quality_per_source(
    client: Any, watched_city: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_analyst"])
    page = client.get("/").content.decode()
    assert "Data quality by source" in page
    assert "quality-alert" in page and ">MFD<" in page
