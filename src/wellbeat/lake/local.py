"""The local executor: in-process SQL over Arrow tables and local files, for the work that runs
before (or beside) the lake's engine: validating a batch, building its cube, reading a plain
or NDJSON extract, a statistics scan of two columns.

This module and ``wellbeat.lake.engine`` are the engine implementation: the only modules that
import DuckDB (checked by an import-linter contract in pyproject.toml). Callers build SQL text
and hand it here, with Arrow tables registered by name (no copy: DuckDB scans the Arrow memory
in place). Errors come back as ``SqlError`` carrying the engine's own message, so a caller can
quote its first line to the person whose file failed (docs/engine.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

Params = Mapping[str, Any] | Sequence[Any] | None
"""Named (``$name``) parameters as a mapping, positional (``?``) ones as a sequence."""


class SqlError(RuntimeError):
    """The local executor failed running SQL. ``str()`` is the engine's message, unchanged;
    ``sql`` is the statement that failed."""

    def __init__(self, message: str, sql: str) -> None:
        self.sql = sql
        super().__init__(message)


class SqlInputError(SqlError):
    """The input (a file being read, a value being cast) was refused, not the SQL itself."""


class LocalExecutor:
    """One in-process DuckDB connection. ``time_zone`` (default UTC) is the session zone in
    which zoned timestamps are read and printed; ``None`` keeps DuckDB's default.

    Use as a context manager, or ``close()`` when done. Not thread-safe: one per task.
    """

    def __init__(self, *, time_zone: str | None = "UTC") -> None:
        self._con = duckdb.connect()
        if time_zone is not None:
            self.execute("SET TimeZone = $zone", {"zone": time_zone})

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as ``name`` (a view over its memory, not a copy)."""
        self._con.register(name, table)

    def unregister(self, name: str) -> None:
        self._con.unregister(name)

    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement for its effect (``CREATE TEMP TABLE``, ``SET``, ``DROP``)."""
        try:
            self._con.execute(sql, params)
        except duckdb.Error as exc:
            raise _error(exc, sql) from exc

    def table(self, sql: str, params: Params = None) -> pa.Table:
        """The result of a query as an Arrow table."""
        try:
            return self._con.sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise _error(exc, sql) from exc

    def rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """The result of a (small) query as Python tuples."""
        try:
            return self._con.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise _error(exc, sql) from exc

    def close(self) -> None:
        self._con.close()


def _error(exc: duckdb.Error, sql: str) -> SqlError:
    if isinstance(exc, (duckdb.InvalidInputException, duckdb.ConversionException)):
        return SqlInputError(str(exc), sql)
    return SqlError(str(exc), sql)


__all__ = ["LocalExecutor", "Params", "SqlError", "SqlInputError"]
