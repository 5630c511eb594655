"""Source-side preparation (connectors, mapping profiles) and hub-side validated ingestion."""
