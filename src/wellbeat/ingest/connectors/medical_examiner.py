"""Medical examiner deaths: fatal overdose syndromes from cause-of-death ICD-10 codes.

Death records code the underlying cause (X40-X44, X60-X64, X85, Y10-Y14 for drug poisoning)
with the drugs as multiple-cause T codes; the events classifier reads both (docs/events.md).
"""

from __future__ import annotations

import pyarrow as pa

from wellbeat.events.schema import Kind, Sector
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    with_attributes,
    with_classified_syndromes,
)


def derive(rows: SourceRows) -> pa.Table:
    """Syndromes from the cause-of-death codes; ``fatal: "true"`` unless the profile says."""
    events = with_classified_syndromes(rows)
    fatal = pa.repeat(pa.scalar("true", pa.string()), events.num_rows)
    return with_attributes(events, {"fatal": fatal})


CONNECTOR = Connector(
    name="medical_examiner",
    description="medical examiner / coroner death records with ICD-10 causes",
    derive=derive,
    sector=Sector.MEDICAL_EXAMINER.value,
    kind=Kind.DEATH.value,
)
