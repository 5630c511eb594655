"""Officer-initiated stops: traffic, pedestrian, bicycle stops and field interviews.

Every row is one stop of one person (the unit the Stanford Open Policing Project and most
open-data programs publish). The profile maps the agency's columns to the attributes of
``events/codesets/police_contacts.yaml`` (``stop_type``, ``reason``, ``outcome``,
``person_searched``, ``vehicle_searched``, ``search_basis``, ``contraband_found``,
``citation_issued``, ``race``); this connector reads them into the canonical vocabulary and
derives ``searched`` (person or vehicle searched), the denominator of the hit rate. Stops are
criminal-justice information: ``cji``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import Kind, Sector, Sensitivity
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    with_attributes,
    with_classified_syndromes,
    with_sensitivity,
)
from wellbeat.ingest.connectors.contacts import flag, with_canonical_attributes


def searched(events: pa.Table) -> pa.Array:
    """ "true" when the person or the vehicle was searched, "false" when neither was and at
    least one is known, null when neither is known."""
    person = flag(events, "person_searched")
    vehicle = flag(events, "vehicle_searched")
    any_true = pc.or_(pc.fill_null(person, False), pc.fill_null(vehicle, False))
    known = pc.or_(pc.is_valid(person), pc.is_valid(vehicle))
    return pc.if_else(any_true, "true", pc.if_else(known, "false", pa.scalar(None, pa.string())))


def derive(rows: SourceRows) -> pa.Table:
    """Canonical stop attributes, ``searched``, syndromes from any codes, and ``cji``."""
    events = with_canonical_attributes(with_classified_syndromes(rows), Kind.STOP.value)
    events = with_attributes(events, {"searched": searched(events)})
    return with_sensitivity(events, Sensitivity.CJI.value)


CONNECTOR = Connector(
    name="police_stop",
    description="officer-initiated stops (traffic, pedestrian, field interviews) with searches",
    derive=derive,
    sector=Sector.POLICE.value,
    kind=Kind.STOP.value,
)
