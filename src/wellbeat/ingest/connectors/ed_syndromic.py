"""ED syndromic visits: DOSE-style syndromes from ICD-10-CM codes and the chief complaint.

The chief complaint (``keep_text: {chief_complaint: Column}``) is read here, at the source, and
not written to the batch unless the profile says ``share: true``.
"""

from __future__ import annotations

import pyarrow as pa

from wellbeat.events.schema import Kind, Sector, Sensitivity
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    with_classified_syndromes,
    with_sensitivity,
)

COMPLAINT = "chief_complaint"
"""The ``keep_text`` name the classifier reads."""


def derive(rows: SourceRows) -> pa.Table:
    """``phi``; syndromes from discharge diagnoses plus the chief complaint (CDC CCDD logic)."""
    events = with_classified_syndromes(rows, COMPLAINT)
    return with_sensitivity(events, Sensitivity.PHI.value)


CONNECTOR = Connector(
    name="ed_syndromic",
    description="emergency department syndromic visits (chief complaint + discharge diagnosis)",
    derive=derive,
    sector=Sector.EMERGENCY_DEPT.value,
    kind=Kind.ED_VISIT.value,
)
