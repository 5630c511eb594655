"""Connectors: one small module per kind of source, registered by name.

Each module defines ``CONNECTOR`` (a ``base.Connector``): the source kind's default sector and
event kind, and ``derive(rows) -> table``, which adds what that source implies (syndromes,
sensitivity, attributes) to the events the profile mapped. docs/prepare.md lists them.
"""

from __future__ import annotations

from wellbeat.ingest.connectors import (
    cardiff_assault,
    ed_syndromic,
    ems_run,
    generic,
    medical_examiner,
    nibrs_incident,
    police_cad,
    police_stop,
    use_of_force,
)
from wellbeat.ingest.connectors.base import Connector, SourceRows

CONNECTORS: dict[str, Connector] = {
    module.CONNECTOR.name: module.CONNECTOR
    for module in (
        police_cad,
        nibrs_incident,
        ems_run,
        ed_syndromic,
        medical_examiner,
        cardiff_assault,
        police_stop,
        use_of_force,
        generic,
    )
}
"""Connector name (the profile's ``connector:``) -> connector."""

__all__ = ["CONNECTORS", "Connector", "SourceRows"]
