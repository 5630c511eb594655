"""Police calls for service from a CAD system: syndromes and response facts from APCO call types."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.codesets import apco_call_types
from wellbeat.events.schema import Kind, Sector
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    codes_in,
    with_attributes,
    with_classified_syndromes,
)


def _call_type_flags(events: pa.Table) -> dict[str, pa.Array]:
    """Per row, whether its APCO call type is a behavioural-health call and civilian-eligible.

    A row with several APCO codes is flagged when any of them is; rows without a known APCO
    code get neither attribute (unknown, not "false").
    """
    rows, codes = codes_in(events, "apco")
    types = list(apco_call_types().values())
    index = pc.index_in(pc.utf8_upper(codes), value_set=pa.array([t.code for t in types]))
    known = index.is_valid().to_numpy(zero_copy_only=False)
    position = pc.fill_null(index, 0).to_numpy(zero_copy_only=False)
    has_type = np.zeros(events.num_rows, dtype=bool)
    has_type[rows[known]] = True
    flags: dict[str, pa.Array] = {}
    for name in ("behavioral_health", "civilian_eligible"):
        truth = np.array([getattr(t, name) for t in types], dtype=bool)[position] & known
        flagged = np.zeros(events.num_rows, dtype=bool)
        flagged[rows[truth]] = True
        text = np.where(flagged, "true", "false").astype(object)
        flags[name] = pa.array(text, pa.string(), mask=~has_type)
    return flags


def derive(rows: SourceRows) -> pa.Table:
    """Syndromes from the call's codes (APCO, plus NIBRS or NEMSIS when present) and APCO flags."""
    events = with_classified_syndromes(rows)
    return with_attributes(events, _call_type_flags(events))


CONNECTOR = Connector(
    name="police_cad",
    description="police calls for service (CAD) with APCO call types",
    derive=derive,
    sector=Sector.POLICE.value,
    kind=Kind.CALL_FOR_SERVICE.value,
)
