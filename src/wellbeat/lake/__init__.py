"""The event store (partitioned Parquet, manifest, atomic idempotent batches) and query engines."""
