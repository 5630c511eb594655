"""Use of force: one row per force used on one subject (as police open-data programs publish).

The profile maps the agency's columns to ``force_type``, ``resistance``, ``subject_injury``,
``officer_injury`` and ``race`` (``events/codesets/police_contacts.yaml``); this connector reads
them into the canonical vocabulary. Use-of-force records are criminal-justice information
(``cji``); one that records an injury to the subject is also health information (``phi``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import Kind, Sector, Sensitivity
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    add_to_lists,
    lists_where,
    with_classified_syndromes,
    with_sensitivity,
)
from wellbeat.ingest.connectors.contacts import flag, with_canonical_attributes


def derive(rows: SourceRows) -> pa.Table:
    """Canonical use-of-force attributes, ``cji``, and ``phi`` where the subject was injured."""
    events = with_canonical_attributes(with_classified_syndromes(rows), Kind.USE_OF_FORCE.value)
    injured = pc.fill_null(flag(events, "subject_injury"), False).to_numpy(zero_copy_only=False)
    events = add_to_lists(
        events, "sensitivity", lists_where(np.asarray(injured), Sensitivity.PHI.value)
    )
    return with_sensitivity(events, Sensitivity.CJI.value)


CONNECTOR = Connector(
    name="use_of_force",
    description="police use of force, one row per force type used on a subject",
    derive=derive,
    sector=Sector.POLICE.value,
    kind=Kind.USE_OF_FORCE.value,
)
