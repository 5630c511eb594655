"""Query executors over the lake. An ``Engine`` binds relations and runs builder SQL; it never
builds SQL itself, so every engine answers the same queries the same way (docs/engine.md)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import duckdb
import pyarrow as pa

from wellbeat.events.schema import lake_schema
from wellbeat.lake.cube import cube_schema
from wellbeat.lake.query import (
    AREA_BY_PREFIX,
    DUCKDB,
    AggregateQuery,
    ExtractQuery,
    QueryError,
    SqlQuery,
    aggregate_sql,
    cube_aggregate_sql,
    cube_answers,
    extract_sql,
    whole_days,
)
from wellbeat.lake.store import (
    BatchManifest,
    LakePaths,
    LakeSettings,
    cube_files,
    event_files,
    list_batches,
    read_lake_settings,
)

ENGINE_KINDS = ("duckdb",)


class EngineError(RuntimeError):
    """The engine failed running a query; carries the SQL that failed."""

    def __init__(self, message: str, sql: str) -> None:
        self.sql = sql
        super().__init__(f"{message}\nwhile running SQL:\n{sql}")


@runtime_checkable
class Engine(Protocol):
    """What callers (governance, analytics, the web app) may ask of the lake."""

    def aggregate(self, q: AggregateQuery) -> pa.Table:
        """Counts: columns [area] [period] [by...] count."""
        ...

    def extract(self, q: ExtractQuery) -> pa.Table:
        """Event rows with the requested lake columns."""
        ...

    def layers(self) -> list[str]:
        """Area layers queries may group by, sorted."""
        ...

    def time_zone(self) -> str:
        """The lake's time zone, in which its local days are cut."""
        ...

    def sql(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Read-only SQL in the engine's dialect over the ``events`` and ``cube`` relations
        (builder SQL that has no typed query: indicators, data quality)."""
        ...

    def close(self) -> None:
        """Release the engine's connection and threads."""
        ...


def _sql_paths(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


class DuckDBEngine:
    """The default engine: DuckDB over the Parquet files that committed manifests name.

    The set of committed batches is re-read before each query (cheap: a directory listing), so
    a long-running server sees new batches without reopening. Thread-safe.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone = 'UTC'")
        self._lock = threading.Lock()
        self._bound: tuple[str, ...] | None = None
        """Manifest and layer file names the views were last built from."""
        self._layers: list[str] = []
        self._columns: list[str] = []
        self._settings = LakeSettings()
        self.last_source: str = ""
        """``cube`` or ``events``: where the last aggregate was answered from (for tests)."""

    # -- binding -----------------------------------------------------------------------------
    def _bind(self) -> None:
        # A manifest is replaced (never edited in place) when its batch is revised: the names
        # and modification times of the manifests and area layer files identify the lake's
        # state, so manifests are re-read only when that changes.
        paths = LakePaths(self.data_dir)
        names = tuple(
            f"{p.name}@{p.stat().st_mtime_ns}"
            for p in sorted(paths.manifests.glob("*.json"))
            + sorted(paths.areas.glob("*.geojson"))
            + ([paths.settings] if paths.settings.exists() else [])
        )
        if names == self._bound:
            return
        self._settings = read_lake_settings(self.data_dir)
        manifests = list_batches(self.data_dir)
        layers = self._collect_layers(manifests)
        self._define("events", event_files(self.data_dir, manifests), lake_schema(layers))
        self._define("cube", cube_files(self.data_dir, manifests), cube_schema(layers))
        self._layers = layers
        self._columns = list(lake_schema(layers).names)
        self._bound = names

    def _collect_layers(self, manifests: list[BatchManifest]) -> list[str]:
        names = {layer for m in manifests for layer in m.layers}
        areas = LakePaths(self.data_dir).areas
        if areas.is_dir():
            names |= {p.stem for p in areas.glob("*.geojson")}
        return sorted(names)

    def _define(self, name: str, files: list[Path], schema: pa.Schema) -> None:
        """Bind ``name`` to the files, with every expected column present (NULL if a batch
        predates a layer)."""
        empty_name = f"_{name}_empty"
        self._con.register(empty_name, schema.empty_table())
        if files:
            source = f"read_parquet({_sql_paths(files)}, union_by_name = true)"
            sql = (
                f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"SELECT * FROM {empty_name} UNION ALL BY NAME SELECT * FROM {source}"
            )
        else:
            sql = f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {empty_name}"
        self._run_statement(sql)

    # -- execution ---------------------------------------------------------------------------
    def _run_statement(self, sql: str) -> None:
        try:
            self._con.execute(sql)
        except duckdb.Error as exc:
            raise EngineError(str(exc), sql) from exc

    def _run(self, query: SqlQuery) -> pa.Table:
        try:
            return self._con.sql(query.sql, params=query.params or None).to_arrow_table()
        except duckdb.Error as exc:
            raise EngineError(str(exc), query.sql) from exc

    def _check_layer(self, layer: str | None) -> None:
        if layer is not None and layer not in self._layers:
            known = ", ".join(self._layers) or "none"
            raise QueryError(f"unknown area layer {layer!r} (layers: {known})")

    def aggregate(self, q: AggregateQuery, *, use_cube: bool = True) -> pa.Table:
        """Counts, from the cube when it can answer (identical results), else from events."""
        with self._lock:
            self._bind()
            self._check_layer(q.area_layer)
            for dim in q.by:
                if dim.startswith(AREA_BY_PREFIX):
                    self._check_layer(dim.removeprefix(AREA_BY_PREFIX))
            if self._settings.zone_layer is None:
                # An instant at a local midnight is a whole local day: the cube can answer.
                q = replace(q, filter=whole_days(q.filter, self._settings.time_zone))
            if use_cube and cube_answers(q):
                self.last_source = "cube"
                return self._run(cube_aggregate_sql(q, DUCKDB, "cube"))
            self.last_source = "events"
            return self._run(aggregate_sql(q, DUCKDB, "events"))

    def extract(self, q: ExtractQuery) -> pa.Table:
        with self._lock:
            self._bind()
            return self._run(extract_sql(q, self._columns, DUCKDB, "events"))

    def layers(self) -> list[str]:
        with self._lock:
            self._bind()
            return list(self._layers)

    def columns(self) -> list[str]:
        """Lake columns extracts may ask for (EVENT_SCHEMA plus one per area layer)."""
        with self._lock:
            self._bind()
            return list(self._columns)

    def time_zone(self) -> str:
        """The lake's time zone (``lake/settings.json``), in which its local days are cut."""
        with self._lock:
            self._bind()
            return self._settings.time_zone

    def sql(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Run read-only SQL over the ``events`` and ``cube`` views (analysts, stats)."""
        with self._lock:
            self._bind()
            return self._run(SqlQuery(sql, params or {}))

    def close(self) -> None:
        self._con.close()


def open_engine(data_dir: Path, kind: str = "duckdb") -> Engine:
    """An engine over the lake in ``data_dir``. ``kind``: ``duckdb`` (the default, embedded)."""
    if kind == "duckdb":
        return DuckDBEngine(Path(data_dir))
    if kind == "spark":
        raise ValueError(
            "engine 'spark' is not built yet: docs/engine.md describes how to add it "
            "(a Dialect subclass and an executor); use kind='duckdb'"
        )
    raise ValueError(f"unknown engine kind {kind!r}; expected one of {', '.join(ENGINE_KINDS)}")


__all__ = [
    "DuckDBEngine",
    "Engine",
    "EngineError",
    "open_engine",
]
