"""The hub's state for the home page, from the lake's aggregate bookkeeping only.

This is the one module of the web app outside governance that touches ``wellbeat.lake``, and
it reads batch manifests and statistics (counts, times), never an event row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wellbeat.lake.store import LakeError, list_batches


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


def hub_status(data_dir: Path) -> HubStatus:
    """Per-source totals and times from the committed batches' manifests."""
    try:
        manifests = list_batches(data_dir)
    except (LakeError, OSError) as exc:
        return HubStatus([], 0, 0, 0, error=f"The lake could not be read: {exc}")
    sources: dict[str, SourceStatus] = {}
    last: tuple[datetime, str] | None = None
    for manifest in manifests:
        source = sources.setdefault(manifest.agency, SourceStatus(agency=manifest.agency))
        if manifest.sector and manifest.sector not in source.sectors:
            source.sectors.append(manifest.sector)
        source.batches += 1
        source.rows_in += manifest.rows_in
        source.committed += manifest.committed
        source.quarantined += manifest.quarantined
        ingested = _parse_time(manifest.ingested_at)
        if ingested and (source.last_ingested_at is None or ingested > source.last_ingested_at):
            source.last_ingested_at = ingested
            source.last_batch_id = manifest.batch_id
        newest = _parse_time(manifest.occurred_max)
        if newest and (source.newest_event_at is None or newest > source.newest_event_at):
            source.newest_event_at = newest
        if ingested and (last is None or ingested > last[0]):
            last = (ingested, manifest.batch_id)
    ordered = sorted(sources.values(), key=lambda s: s.agency)
    return HubStatus(
        sources=ordered,
        batches=sum(s.batches for s in ordered),
        committed=sum(s.committed for s in ordered),
        quarantined=sum(s.quarantined for s in ordered),
        last_batch_id=last[1] if last else "",
        last_ingested_at=last[0] if last else None,
    )
