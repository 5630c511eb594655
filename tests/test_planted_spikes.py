"""Done-when for joint surveillance: on the synthetic city every planted overdose spike raises
an alert within one day of its onset; the false-alert rate per 1,000 area-days (alerts with no
signal inside a planted window) is printed and quoted in docs/alerts.md."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_every_planted_overdose_spike_raises_an_alert_within_a_day(
    hub_data_dir: Path, tmp_path: Path, capsys: Any
) -> None:
    from wellbeat.demo_pipeline import run_pipeline
    from wellbeat.geo import load_layer
    from wellbeat.web.surveillance.detection import run_detection
    from wellbeat.web.surveillance.models import Alert

    pipeline = run_pipeline(hub_data_dir, agencies_dir=tmp_path / "agencies", scale="small")
    truth = json.loads(
        (pipeline.agencies_dir / "city" / "ground_truth" / "planted.json").read_text()
    )
    spikes = truth["spikes"]
    assert spikes, "the synthetic city plants overdose spikes"
    first = min(_day(s["start"]) for s in spikes) - dt.timedelta(days=100)
    last = max(_day(s["end"]) for s in spikes) + dt.timedelta(days=20)
    run = run_detection(last, since=first)
    assert run.raised > 0

    alerts = list(Alert.objects.filter(indicator="suspected_overdose").prefetch_related("signals"))
    missed = []
    for spike in spikes:
        start = _day(spike["start"])
        onset = {start, start + dt.timedelta(days=1)}
        hit = [
            a
            for a in alerts
            if a.area in spike["neighbourhoods"] and any(s.period in onset for s in a.signals.all())
        ]
        if not hit:
            missed.append(spike["id"])
    assert missed == [], f"planted spikes without an alert within a day of onset: {missed}"

    def in_planted_window(area: str, day: dt.date) -> bool:
        return any(
            area in s["neighbourhoods"]
            and _day(s["start"]) <= day <= _day(s["end"]) + dt.timedelta(days=1)
            for s in spikes
        )

    false_alerts = [
        a for a in alerts if not any(in_planted_window(a.area, s.period) for s in a.signals.all())
    ]
    areas = len(load_layer(hub_data_dir / "areas" / "neighbourhood.geojson"))
    area_days = areas * ((last - first).days + 1)
    rate = 1000 * len(false_alerts) / area_days
    with capsys.disabled():
        print(
            f"\nplanted spikes: {len(spikes)} all alerted within a day of onset; "
            f"{len(alerts)} overdose alerts, {len(false_alerts)} outside planted windows over "
            f"{area_days} area-days = {rate:.2f} false alerts per 1,000 area-days"
        )
    assert rate < 5.0
