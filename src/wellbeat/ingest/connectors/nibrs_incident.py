"""Police incidents reported to NIBRS: criminal-justice sensitivity and crimes against persons."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.codesets import nibrs_offenses
from wellbeat.events.schema import Kind, Sector, Sensitivity
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    codes_in,
    with_attributes,
    with_classified_syndromes,
    with_sensitivity,
)

CATEGORY_ORDER = ("person", "property", "society", "group_b")
"""NIBRS "crime against" categories, most serious first (the order the attribute lists them)."""


def crimes_against(events: pa.Table) -> pa.Array:
    """Per row, the NIBRS categories of its offenses ("person;property"); null if none known."""
    rows, codes = codes_in(events, "nibrs")
    offenses = nibrs_offenses()
    index = pc.index_in(pc.utf8_upper(codes), value_set=pa.array(list(offenses), pa.string()))
    known = index.is_valid().to_numpy(zero_copy_only=False)
    category_of = np.array(
        [CATEGORY_ORDER.index(o.category) for o in offenses.values()], dtype=np.int64
    )
    category = category_of[pc.fill_null(index, 0).to_numpy(zero_copy_only=False)]
    bits = np.zeros(events.num_rows, dtype=np.int64)
    np.bitwise_or.at(bits, rows[known], 1 << category[known])
    labels = np.array(
        [
            ";".join(c for i, c in enumerate(CATEGORY_ORDER) if mask >> i & 1)
            for mask in range(1 << len(CATEGORY_ORDER))
        ],
        dtype=object,
    )
    return pa.array(labels[bits], pa.string(), mask=bits == 0)


def derive(rows: SourceRows) -> pa.Table:
    """``cji`` on every row; ``violent_crime`` for crimes against persons; ``crime_against``."""
    events = with_classified_syndromes(rows)
    events = with_sensitivity(events, Sensitivity.CJI.value)
    return with_attributes(events, {"crime_against": crimes_against(events)})


CONNECTOR = Connector(
    name="nibrs_incident",
    description="police incidents with NIBRS offense codes",
    derive=derive,
    sector=Sector.POLICE.value,
    kind=Kind.INCIDENT.value,
)
