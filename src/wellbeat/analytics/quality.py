"""Data-quality monitors per source agency, as NSSP runs them on its data feeds.

For each agency in the lake: freshness (hours since its newest event and since its last batch),
reporting latency (reported_at - occurred_at percentiles), volume drops and surges (recent daily
mean against a trailing baseline), the share of informative fields (codes, diagnosis codes,
syndromes, location, location inside an area), invalid codes (not in wellbeat's code sets) and
the quarantine share. Each check has warn and alert thresholds (``Thresholds``, documented in
docs/data-quality.md); a source's status is its worst check, and every non-ok check gives a
reason a person can act on. The hub reads its own lake here (aggregates only; no event rows
leave this module).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from wellbeat.events.codesets import (
    apco_call_type,
    icd10_key,
    nemsis_dispatch_reasons,
    nemsis_medication_responses,
    nibrs_category,
    sdoh_categories,
)
from wellbeat.events.periods import DEFAULT_TIME_ZONE, local_date
from wellbeat.events.schema import CODE_NAMESPACES, OUTSIDE_AREA, area_column
from wellbeat.lake.engine import open_engine
from wellbeat.lake.query import DUCKDB
from wellbeat.lake.store import BatchManifest, list_batches

Status = Literal["ok", "warn", "alert"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "alert")
DIAGNOSIS_SECTORS = frozenset({"emergency_dept", "hospital", "medical_examiner"})
"""Sectors whose records are expected to carry diagnosis (ICD-10) codes."""
_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
_DAY = 86_400.0


@dataclass(frozen=True)
class Thresholds:
    """Warn and alert limits of every check (defaults documented in docs/data-quality.md)."""

    freshness_warn_hours: float = 24.0
    freshness_alert_hours: float = 72.0
    """Hours since the source's newest event, or since its last batch, whichever is less."""
    latency_p90_warn_hours: float = 24.0
    latency_p90_alert_hours: float = 72.0
    recent_days: int = 7
    baseline_days: int = 28
    """Volume: mean daily count over the recent days vs the baseline days just before them."""
    min_baseline_per_day: float = 5.0
    """Below this baseline mean, volume is too small to judge (reported, never flagged)."""
    drop_warn_ratio: float = 0.5
    drop_alert_ratio: float = 0.25
    surge_warn_ratio: float = 2.0
    surge_alert_ratio: float = 3.0
    volume_min_abs_z: float = 3.0
    """A ratio flags only when the recent mean is also this many standard errors from the
    baseline mean (z), so small sources' noise does not raise flags."""
    informative_warn: float = 0.8
    informative_alert: float = 0.5
    """Minimum shares of events with codes and with a location (and inside an area)."""
    diagnosis_warn: float = 0.7
    diagnosis_alert: float = 0.4
    """Minimum share of events with a diagnosis code, for ED, hospital and ME sources."""
    invalid_codes_warn: float = 0.05
    invalid_codes_alert: float = 0.2
    quarantine_warn: float = 0.02
    quarantine_alert: float = 0.1
    """Share of rows quarantined in the batches ingested over the recent + baseline days."""


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Check:
    """One monitor's verdict on one source."""

    name: str
    status: Status
    value: float | None
    reason: str


@dataclass(frozen=True)
class SourceQuality:
    """A source agency's data-quality report: overall status, each check, and the numbers."""

    agency: str
    sector: str | None
    status: Status
    reasons: tuple[str, ...]
    checks: tuple[Check, ...]
    metrics: Mapping[str, float | int | str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["checks"] = [asdict(c) for c in self.checks]
        data["metrics"] = dict(self.metrics)
        return data


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status (alert > warn > ok)."""
    return max(statuses, key=STATUSES.index, default="ok")


def code_is_valid(code: str) -> bool:
    """Whether a namespaced code is in wellbeat's code sets (ICD-10: well-formed; local and
    ISTV codes cannot be checked and count as valid)."""
    namespace, sep, value = code.partition(":")
    namespace, value = namespace.strip().lower(), value.strip()
    if not sep or namespace not in CODE_NAMESPACES or not value:
        return False
    if namespace in ("icd10cm", "icd10"):
        return bool(_ICD_SHAPE.match(icd10_key(value)))
    if namespace == "nibrs":
        return nibrs_category(value) is not None
    if namespace == "apco":
        return apco_call_type(value) is not None
    if namespace == "nemsis":
        return value in nemsis_dispatch_reasons() or value in nemsis_medication_responses()
    if namespace == "sdoh":
        return value.lower() in sdoh_categories()
    if namespace == "rxnorm":
        return value.isdigit()
    return True


# -- checks ----------------------------------------------------------------------------------------


def _high(name: str, value: float | None, warn: float, alert: float, what: str) -> Check:
    """A check where a larger value is worse."""
    if value is None:
        return Check(name, "ok", None, "")
    status: Status = "alert" if value > alert else "warn" if value > warn else "ok"
    limit = alert if status == "alert" else warn
    reason = "" if status == "ok" else what.format(value=value, limit=limit, status=status)
    return Check(name, status, value, reason)


def _low(name: str, value: float | None, warn: float, alert: float, what: str) -> Check:
    """A check where a smaller value is worse."""
    if value is None:
        return Check(name, "ok", None, "")
    status: Status = "alert" if value < alert else "warn" if value < warn else "ok"
    limit = alert if status == "alert" else warn
    reason = "" if status == "ok" else what.format(value=value, limit=limit, status=status)
    return Check(name, status, value, reason)


def volume_check(
    recent: list[int], baseline: list[int], t: Thresholds = DEFAULT_THRESHOLDS
) -> tuple[Check, dict[str, float | None]]:
    """Recent daily mean vs the trailing baseline: ratio and z (standard errors of the recent
    mean, from the baseline's daily standard deviation; Poisson sqrt(mean) when that is 0)."""
    base_mean = sum(baseline) / len(baseline) if baseline else 0.0
    recent_mean = sum(recent) / len(recent) if recent else 0.0
    metrics: dict[str, float | None] = {
        "volume_recent_mean": recent_mean,
        "volume_baseline_mean": base_mean,
        "volume_ratio": None,
        "volume_z": None,
    }
    if not baseline or not recent or base_mean < t.min_baseline_per_day:
        return Check("volume", "ok", None, ""), metrics
    var = sum((x - base_mean) ** 2 for x in baseline) / max(len(baseline) - 1, 1)
    sd = math.sqrt(var) if var > 0 else math.sqrt(base_mean)
    z = (recent_mean - base_mean) / (sd / math.sqrt(len(recent)))
    ratio = recent_mean / base_mean
    metrics["volume_ratio"], metrics["volume_z"] = ratio, z
    status: Status = "ok"
    if abs(z) >= t.volume_min_abs_z:
        if ratio < t.drop_alert_ratio or ratio > t.surge_alert_ratio:
            status = "alert"
        elif ratio < t.drop_warn_ratio or ratio > t.surge_warn_ratio:
            status = "warn"
    if status == "ok":
        return Check("volume", "ok", ratio, ""), metrics
    kind = "drop" if ratio < 1 else "surge"
    reason = (
        f"volume {kind}: {recent_mean:.1f} events/day over the last {len(recent)} days vs "
        f"{base_mean:.1f}/day in the {len(baseline)} days before (ratio {ratio:.2f}, z {z:.1f})"
    )
    return Check("volume", status, ratio, reason), metrics


# -- lake reads ------------------------------------------------------------------------------------


EPOCH_DAY = date(1970, 1, 1)
"""Day numbers count local days from here (the engine's ``local_day - DATE '1970-01-01'``)."""


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _profile_sql(first_layer: str | None) -> str:
    inside = (
        f"avg(CASE WHEN {area_column(first_layer)} IS NOT NULL "
        f"AND {area_column(first_layer)} <> $outside THEN 1 ELSE 0 END)"
        if first_layer
        else "NULL"
    )
    return f"""
        WITH newest AS (SELECT agency, max(occurred_at) AS newest FROM events GROUP BY agency)
        SELECT e.agency, any_value(n.newest) AS newest, count(*) AS events,
          quantile_cont(epoch(e.reported_at) - epoch(e.occurred_at), [0.5, 0.9]) AS latency,
          avg(CASE WHEN len(coalesce(e.codes, [])) > 0 THEN 1 ELSE 0 END) AS coded,
          avg(CASE WHEN len(list_filter(coalesce(e.codes, []), lambda c: starts_with(lower(c),
              'icd10'))) > 0 THEN 1 ELSE 0 END) AS diagnosed,
          avg(CASE WHEN len(coalesce(e.syndromes, [])) > 0 THEN 1 ELSE 0 END) AS syndromic,
          avg(CASE WHEN e.lat IS NOT NULL AND e.lon IS NOT NULL THEN 1 ELSE 0 END) AS located,
          {inside} AS inside
        FROM events e JOIN newest n USING (agency)
        WHERE e.occurred_at > n.newest - to_days(CAST($window AS INTEGER))
        GROUP BY e.agency
    """


def source_quality(
    data_dir: Path,
    now: datetime | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[SourceQuality]:
    """A report per source agency in the hub's lake, sorted by agency.

    Informative shares, latency and invalid codes are measured over the source's newest
    ``recent_days + baseline_days`` days of events. Volume compares the last ``recent_days``
    complete local days (the lake's time zone) that the source has had time to report
    (ending ``max(1 day, p90 latency)`` before ``now``) with the ``baseline_days`` before them.
    """
    t = thresholds
    now = (now or datetime.now(UTC)).astimezone(UTC)
    manifests = list_batches(Path(data_dir))
    if not manifests:
        return []
    window = t.recent_days + t.baseline_days
    engine = open_engine(Path(data_dir))
    try:
        layers = engine.layers()
        profile = {
            row["agency"]: row
            for row in engine.sql(
                _profile_sql(layers[0] if layers else None),
                {"window": window, **({"outside": OUTSIDE_AREA} if layers else {})},
            ).to_pylist()
        }
        code_rows = engine.sql(
            "WITH newest AS (SELECT agency, max(occurred_at) AS newest FROM events GROUP BY "
            "agency) SELECT agency, code, count(*) AS n FROM (SELECT e.agency, "
            "unnest(e.codes) AS code FROM events e JOIN newest n USING (agency) WHERE "
            "e.occurred_at > n.newest - to_days(CAST($window AS INTEGER))) GROUP BY ALL",
            {"window": window},
        ).to_pylist()
        horizon = now - timedelta(days=window + 60)
        time_zone = engine.time_zone()
        daily_rows = engine.sql(
            f"SELECT agency, CAST({DUCKDB.local_day()} - DATE '1970-01-01' AS BIGINT) AS day, "
            "count(*) AS n FROM events WHERE occurred_at >= CAST($from AS TIMESTAMPTZ) "
            "AND occurred_at < CAST($now AS TIMESTAMPTZ) GROUP BY ALL",
            {"from": horizon.isoformat(), "now": now.isoformat()},
        ).to_pylist()
    finally:
        engine.close()
    codes: dict[str, list[tuple[str, int]]] = {}
    for row in code_rows:
        codes.setdefault(row["agency"], []).append((row["code"], int(row["n"])))
    daily: dict[str, dict[int, int]] = {}
    for row in daily_rows:
        daily.setdefault(row["agency"], {})[int(row["day"])] = int(row["n"])
    per_agency: dict[str, list[BatchManifest]] = {}
    for m in manifests:
        per_agency.setdefault(m.agency, []).append(m)
    return [
        _source_report(
            agency,
            batches,
            profile.get(agency),
            codes.get(agency, []),
            daily.get(agency, {}),
            now,
            t,
            time_zone,
        )
        for agency, batches in sorted(per_agency.items())
    ]


def _source_report(
    agency: str,
    batches: list[BatchManifest],
    profile: Mapping[str, Any] | None,
    codes: list[tuple[str, int]],
    daily: Mapping[int, int],
    now: datetime,
    t: Thresholds,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> SourceQuality:
    sectors = sorted({b.sector for b in batches if b.sector})
    sector = sectors[0] if len(sectors) == 1 else ("mixed" if sectors else None)
    checks: list[Check] = []
    metrics: dict[str, float | int | str | None] = {}

    # Freshness: the newest event and the newest batch; a source is fresh if either is recent.
    last_batch = max(_utc(b.ingested_at) or now for b in batches)
    newest = profile["newest"] if profile else None
    hours_batch = (now - last_batch).total_seconds() / 3600
    hours_event = (now - newest).total_seconds() / 3600 if newest is not None else None
    metrics.update(
        last_batch_at=last_batch.isoformat(),
        newest_event_at=newest.isoformat() if newest is not None else None,
        hours_since_last_batch=round(hours_batch, 2),
        hours_since_newest_event=round(hours_event, 2) if hours_event is not None else None,
    )
    stale = min(hours_batch, hours_event) if hours_event is not None else hours_batch
    checks.append(
        _high("freshness", stale, t.freshness_warn_hours, t.freshness_alert_hours,
              "stale: no new batch or event for {value:.0f} hours (" "{status} after {limit:.0f})")
    )  # fmt: skip

    # Latency.
    latency = profile["latency"] if profile else None
    p50, p90 = (latency[0], latency[1]) if latency else (None, None)
    metrics.update(latency_p50_hours=_hours(p50), latency_p90_hours=_hours(p90))
    checks.append(
        _high("latency", _hours(p90), t.latency_p90_warn_hours, t.latency_p90_alert_hours,
              "slow reporting: 90% of events reach the hub within {value:.1f} hours "
              "({status} above {limit:.0f})")
    )  # fmt: skip

    # Volume: complete local days the source has had time to report.
    lag_days = max(1, math.ceil((p90 or 0.0) / _DAY))
    today = (local_date(now, time_zone) - EPOCH_DAY).days
    last = today - lag_days  # last day judged, inclusive
    recent = [daily.get(d, 0) for d in range(last - t.recent_days + 1, last + 1)]
    base_end = last - t.recent_days
    baseline = [daily.get(d, 0) for d in range(base_end - t.baseline_days + 1, base_end + 1)]
    volume, volume_metrics = volume_check(recent, baseline, t)
    metrics.update(volume_metrics)
    checks.append(volume)

    # Informative fields.
    events = int(profile["events"]) if profile else 0
    metrics["events_checked"] = events
    shares = {
        "codes": profile["coded"] if profile else None,
        "diagnosis": profile["diagnosed"] if profile else None,
        "syndromes": profile["syndromic"] if profile else None,
        "location": profile["located"] if profile else None,
        "inside_area": profile["inside"] if profile else None,
    }
    for key, value in shares.items():
        metrics[f"share_{key}"] = None if value is None else round(float(value), 4)
    labels = {"codes": "a code", "location": "coordinates", "inside_area": "a location in an area"}
    for key, label in labels.items():
        checks.append(
            _low(f"informative_{key}", shares[key], t.informative_warn, t.informative_alert,
                 f"only {{value:.0%}} of events carry {label} ({{status}} below {{limit:.0%}})")
        )  # fmt: skip
    if sector in DIAGNOSIS_SECTORS:
        checks.append(
            _low("informative_diagnosis", shares["diagnosis"], t.diagnosis_warn,
                 t.diagnosis_alert, "only {value:.0%} of events carry an ICD-10 diagnosis code "
                 "({status} below {limit:.0%})")
        )  # fmt: skip

    # Invalid codes.
    total_codes = sum(n for _, n in codes)
    invalid = [(c, n) for c, n in codes if not code_is_valid(c)]
    invalid_share = sum(n for _, n in invalid) / total_codes if total_codes else None
    metrics["invalid_code_share"] = None if invalid_share is None else round(invalid_share, 4)
    examples = ", ".join(c for c, _ in sorted(invalid, key=lambda x: -x[1])[:3])
    checks.append(
        _high("invalid_codes", invalid_share, t.invalid_codes_warn, t.invalid_codes_alert,
              "{value:.0%} of codes are not in the code sets ({status} above {limit:.0%}; e.g. "
              + examples.replace("{", "{{").replace("}", "}}") + ")")
    )  # fmt: skip

    # Quarantine over the batches ingested in the monitoring window.
    since = now - timedelta(days=t.recent_days + t.baseline_days)
    window_batches = [b for b in batches if (_utc(b.ingested_at) or now) >= since] or batches[-1:]
    rows_in = sum(b.rows_in for b in window_batches)
    quarantined = sum(b.quarantined for b in window_batches)
    q_share = quarantined / rows_in if rows_in else None
    metrics.update(rows_in=rows_in, quarantined=quarantined,
                   quarantine_share=None if q_share is None else round(q_share, 4))  # fmt: skip
    checks.append(
        _high("quarantine", q_share, t.quarantine_warn, t.quarantine_alert,
              "{value:.1%} of rows were quarantined ({status} above {limit:.0%})")
    )  # fmt: skip

    status = worst(c.status for c in checks)
    reasons = tuple(c.reason for c in checks if c.status != "ok")
    return SourceQuality(agency, sector, status, reasons, tuple(checks), metrics)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 3)


__all__ = [
    "DEFAULT_THRESHOLDS",
    "Check",
    "SourceQuality",
    "Thresholds",
    "code_is_valid",
    "source_quality",
    "volume_check",
    "worst",
]
