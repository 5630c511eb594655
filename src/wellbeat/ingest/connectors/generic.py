"""Any extract described by a profile alone: the mapping is the whole story."""

from __future__ import annotations

import pyarrow as pa

from wellbeat.ingest.connectors.base import Connector, SourceRows


def derive(rows: SourceRows) -> pa.Table:
    """Nothing beyond the profile's mapping."""
    return rows.events


CONNECTOR = Connector(
    name="generic",
    description="any CSV, Parquet or NDJSON extract with a mapping profile",
    derive=derive,
)
