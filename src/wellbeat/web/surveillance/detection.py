"""The scheduled detection job: every watched indicator x area series through its method and
the threshold spikes, signals folded into alerts, deliveries to subscribers queued. Idempotent:
a second run over the same data raises nothing new (signal keys are unique). Detection never
sends: the delivery queue's worker does (``wellbeat.web.surveillance.delivery``)."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from wellbeat.analytics.alerts import (
    DEFAULT_MIN_COUNT,
    DEFAULT_SPIKE_THRESHOLD,
    AlertConfigError,
    Signal,
    count_matrix,
    default_method,
    detect_aberrations,
    detect_spikes,
    neighbours_to_notify,
)
from wellbeat.events.periods import period_start
from wellbeat.geo import AreaLayer, load_layers, queen_neighbours
from wellbeat.governance import DataRequest
from wellbeat.web.accounts.models import Agency
from wellbeat.web.governance.service import data_dir, system_aggregate, system_source_quality
from wellbeat.web.surveillance.actions import (
    SignalContext,
    do_raise_data_quality,
    do_raise_signals,
)
from wellbeat.web.surveillance.delivery import queue_deliveries
from wellbeat.web.surveillance.models import Alert, SpikeThreshold
from wellbeat.web.surveillance.watchlist import DEFAULT_LAYER, WATCHLIST, WatchedIndicator

JOB_NAME = "alerts"
DEFAULT_RECHECK_DAYS = 7
"""Each run re-evaluates the last week (late reports can still complete a signal); signal keys
keep it from raising anything twice."""


@dataclass
class DetectionRun:
    """What one run did, for the CLI and logs."""

    as_of: dt.date
    since: dt.date
    layer: str
    signals: int = 0
    raised: int = 0
    extended: int = 0
    duplicates: int = 0
    data_quality: int = 0
    queued: int = 0
    per_indicator: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "since": self.since.isoformat(),
            "layer": self.layer,
            "signals": self.signals,
            "raised": self.raised,
            "extended": self.extended,
            "duplicates": self.duplicates,
            "data_quality_alerts": self.data_quality,
            "queued_deliveries": self.queued,
            "indicators": self.per_indicator,
            "seconds": round(self.seconds, 2),
        }


def _layer(name: str) -> AreaLayer:
    layers = {layer.name: layer for layer in load_layers(data_dir() / "areas")}
    if name not in layers:
        known = ", ".join(sorted(layers)) or "none (add one with `wellbeat areas add`)"
        raise AlertConfigError(f"area layer {name!r} is not installed; known layers: {known}")
    return layers[name]


def _signals_for(
    spec: WatchedIndicator,
    layer: AreaLayer,
    as_of: dt.date,
    since: dt.date,
    method: str,
    min_count: int,
    thresholds: dict[str, int],
) -> tuple[list[Signal], dict[tuple[str, dt.date], set[str]]]:
    end = as_of + dt.timedelta(days=1)  # a local day of the hub: through as_of, local time
    table = system_aggregate(JOB_NAME, _request(spec, layer.name, end))
    rows: list[tuple[str, dt.date, float]] = []
    contributors: dict[tuple[str, dt.date], set[str]] = defaultdict(set)
    for area, period, agency, count in zip(
        table.column("area").to_pylist(),
        table.column("period").to_pylist(),
        table.column("agency").to_pylist(),
        table.column("count").to_pylist(),
        strict=True,
    ):
        if area is None or not count:
            continue
        rows.append((area, period, float(count)))
        contributors[(area, period)].add(agency)
    if not rows:
        return [], contributors
    first = min(day for _, day, _ in rows)
    last = period_start(as_of, spec.period)
    if first > last:
        return [], contributors
    matrix = count_matrix(spec.id, layer.name, spec.period, rows, list(layer.ids), first, last)
    since_period = period_start(since, spec.period)
    signals = detect_aberrations(matrix, method, since=since_period, min_count=min_count)
    if spec.spikes and spec.period == "day":
        signals += detect_spikes(
            matrix, thresholds, default=DEFAULT_SPIKE_THRESHOLD, since=since_period
        )
    return signals, contributors


def _request(spec: WatchedIndicator, layer: str, end: dt.date) -> DataRequest:
    return replace(spec.request(layer), end=end)


def run_detection(
    as_of: dt.date,
    *,
    since: dt.date | None = None,
    layer: str = DEFAULT_LAYER,
    daily_method: str | None = None,
    weekly_method: str | None = None,
    min_count: int = DEFAULT_MIN_COUNT,
) -> DetectionRun:
    """Detect over every watched indicator up to ``as_of``; signals from ``since`` on (default:
    the last ``DEFAULT_RECHECK_DAYS`` days) become alerts; their deliveries are queued (not
    sent: no network wait here)."""
    started = time.perf_counter()
    since = since or as_of - dt.timedelta(days=DEFAULT_RECHECK_DAYS - 1)
    if since > as_of:
        raise AlertConfigError(f"--from {since} is after --date {as_of}")
    area_layer = _layer(layer)
    names = dict(zip(area_layer.ids, area_layer.names, strict=True))
    neighbours = queen_neighbours(area_layer)
    run = DetectionRun(as_of=as_of, since=since, layer=layer)
    new_alerts = []
    for spec in WATCHLIST:
        method = (weekly_method if spec.period == "week" else daily_method) or default_method(
            spec.period
        )
        thresholds = {
            t.area: t.threshold
            for t in SpikeThreshold.objects.filter(indicator=spec.id, layer=layer)
        }
        signals, contributors = _signals_for(
            spec, area_layer, as_of, since, method, min_count, thresholds
        )
        context = {
            s.key: SignalContext(
                label=spec.label,
                purpose=spec.purpose,
                agencies=sorted(contributors.get((s.area, s.period), set())),
                area_name=names.get(s.area, s.area),
                neighbours=neighbours_to_notify(s.area, neighbours),
            )
            for s in signals
        }
        outcome = do_raise_signals(signals, context)
        new_alerts.extend(outcome.raised)
        run.signals += len(signals)
        run.raised += len(outcome.raised)
        run.extended += len(outcome.extended)
        run.duplicates += outcome.duplicates
        run.per_indicator[spec.id] = {
            "method": method,
            "signals": len(signals),
            "raised": len(outcome.raised),
        }
    new_alerts.extend(_raise_data_quality(as_of, run))
    run.queued = len(queue_deliveries(new_alerts))
    run.seconds = time.perf_counter() - started
    return run


def _raise_data_quality(as_of: dt.date, run: DetectionRun) -> list[Alert]:
    """One data-quality alert per source agency and failing check (status ``alert``), to
    that agency's admins; an open one is updated rather than raised again."""
    agencies = {a.code: a for a in Agency.objects.all()}
    raised = []
    for report in system_source_quality(JOB_NAME):
        source = agencies.get(report.agency)
        if source is None or report.status != "alert":
            continue
        for check in report.checks:
            if check.status == "alert":
                alert, created = do_raise_data_quality(source, check.name, check.reason, as_of)
                if created:
                    raised.append(alert)
                    run.data_quality += 1
    return raised
