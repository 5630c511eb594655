"""The hub's state for the home page, from the lake's aggregate bookkeeping only.

This is the one module of the web app outside governance that touches ``wellbeat.lake``: it
reads ``lake_stats`` and batch manifests (counts, times, latency percentiles), never an event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wellbeat.lake.store import LakeError, lake_stats, list_batches

logger = logging.getLogger(__name__)


@dataclass
class SourceStatus:
    """One providing agency's feed: what arrived, when, and how much was rejected."""

    agency: str
    sectors: list[str] = field(default_factory=list)
    batches: int = 0
    rows_in: int = 0
    committed: int = 0
    quarantined: int = 0
    last_batch_id: str = ""
    last_ingested_at: datetime | None = None
    newest_event_at: datetime | None = None
    latency_p50_hours: float | None = None
    latency_p90_hours: float | None = None

    @property
    def freshness_hours(self) -> float | None:
        """Hours since the newest event of this source happened (how stale its feed is)."""
        if self.newest_event_at is None:
            return None
        return (datetime.now(UTC) - self.newest_event_at).total_seconds() / 3600

    @property
    def quarantine_percent(self) -> float:
        return 100.0 * self.quarantined / self.rows_in if self.rows_in else 0.0


@dataclass
class HubStatus:
    sources: list[SourceStatus]
    batches: int
    committed: int
    quarantined: int
    last_batch_id: str = ""
    last_ingested_at: datetime | None = None
    error: str = ""


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def hub_status(data_dir: Path) -> HubStatus:
    """Per-source totals, freshness and reporting latency from ``wellbeat.lake`` statistics."""
    try:
        stats = lake_stats(data_dir)
        manifests = list_batches(data_dir)
    except LakeError as exc:
        return HubStatus([], 0, 0, 0, error=f"The lake could not be read: {exc}")
    except Exception as exc:  # the engine's own errors (an unreadable file): show, don't crash
        logger.exception("lake statistics failed for %s", data_dir)
        return HubStatus([], 0, 0, 0, error=f"The lake could not be read: {exc}")
    sectors: dict[str, list[str]] = {}
    last_batch: dict[str, tuple[str, str]] = {}
    for manifest in manifests:
        known = sectors.setdefault(manifest.agency, [])
        if manifest.sector and manifest.sector not in known:
            known.append(manifest.sector)
        previous = last_batch.get(manifest.agency)
        if previous is None or manifest.ingested_at > previous[0]:
            last_batch[manifest.agency] = (manifest.ingested_at, manifest.batch_id)
    sources = [
        SourceStatus(
            agency=agency.agency,
            sectors=sectors.get(agency.agency, []),
            batches=agency.batches,
            rows_in=agency.rows_in,
            committed=agency.committed,
            quarantined=agency.quarantined,
            last_batch_id=last_batch.get(agency.agency, ("", ""))[1],
            last_ingested_at=_parse_time(agency.last_ingested_at),
            newest_event_at=_parse_time(agency.last_occurred_at),
            latency_p50_hours=_hours(agency.latency_seconds.get("p50")),
            latency_p90_hours=_hours(agency.latency_seconds.get("p90")),
        )
        for agency in stats.agencies
    ]
    newest = max(
        sources, key=lambda s: s.last_ingested_at or datetime.min.replace(tzinfo=UTC), default=None
    )
    return HubStatus(
        sources=sources,
        batches=stats.batches,
        committed=stats.committed,
        quarantined=stats.quarantined,
        last_batch_id=newest.last_batch_id if newest else "",
        last_ingested_at=newest.last_ingested_at if newest else None,
    )
