"""The agencies of the synthetic city and the extracts each one exports."""

from __future__ import annotations

from wellbeat.synth.sources import police
from wellbeat.synth.sources.base import Source

AGENCIES: dict[str, tuple[str, str]] = {
    police.AGENCY: (police.AGENCY_NAME, "police"),
}
"""Agency code -> (name, sector), in city.json order."""

SOURCES: tuple[Source, ...] = (police.CAD, police.NIBRS)
"""Every source, grouped by agency in AGENCIES order."""
