"""The demo pipeline: a synthetic city, each agency preparing its own extracts, the hub ingesting.

The demo modules, which is which: this one builds the data (framework-free, no Django);
``wellbeat.web.demo_logins`` creates the demo agencies and logins; each web app's ``demo.py``
(``web/governance``, ``web/indicators``, ``web/care``) seeds that app's records through its real
actions; ``wellbeat.cli.demo`` is the ``wellbeat demo`` command that runs them all in order.

This module is framework-free: it plays both sides of the trust boundary. The agencies' side
(raw extracts with identifiers, the shared pseudonymisation key, the prepared batches) lives in
``agencies_dir``; the hub's side in ``data_dir``. Nothing from the agencies' side but prepared
batches ever reaches the hub's data directory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from wellbeat.geo import add_layer, load_layers
from wellbeat.ingest import IngestResult, ingest_batch
from wellbeat.ingest.areas import reassign_areas
from wellbeat.ingest.prepare import prepare
from wellbeat.lake.store import LakePaths, read_lake_settings
from wellbeat.privacy.keys import write_key_file
from wellbeat.synth.city import build_city

CITY_DIRNAME = "city"
KEY_FILENAME = "network.key"
BATCHES_DIRNAME = "batches"


@dataclass(frozen=True)
class SourceRun:
    """One agency source taken through prepare and ingest."""

    source: str
    rows: int
    committed: int
    quarantined: int
    already_ingested: bool
    batch_id: str


@dataclass(frozen=True)
class DemoPipeline:
    """What the demo pipeline did, for the console and for tests."""

    agencies_dir: Path
    data_dir: Path
    agencies: list[tuple[str, str, str]]
    runs: list[SourceRun]
    reused_city: bool
    seconds: float

    @property
    def rows_in(self) -> int:
        return sum(run.rows for run in self.runs)

    @property
    def committed(self) -> int:
        return sum(run.committed for run in self.runs)

    @property
    def quarantined(self) -> int:
        return sum(run.quarantined for run in self.runs)


def default_agencies_dir(data_dir: Path) -> Path:
    """The agencies' side of the demo sits beside the hub's data directory, never inside it."""
    data_dir = data_dir.expanduser().absolute()
    return data_dir.parent / f"{data_dir.name}-agencies"


def run_pipeline(
    data_dir: Path,
    *,
    agencies_dir: Path | None = None,
    seed: int = 42,
    scale: str = "small",
    end: date | None = None,
    progress: bool = False,
    say: Callable[[str], None] = lambda _line: None,
) -> DemoPipeline:
    """Build (or reuse) the city, prepare every source at its agency, ingest every batch.

    The city's period ends on ``end`` (the CLI passes today's date, so the demo lives in the
    present); a city already built is reused whatever its end date.

    Idempotent: a second run finds the city, the key and the batches already there and the hub
    reports each batch as already ingested.
    """
    started = time.perf_counter()
    data_dir = data_dir.expanduser().absolute()
    agencies_dir = (agencies_dir or default_agencies_dir(data_dir)).expanduser().absolute()
    if agencies_dir == data_dir or agencies_dir.is_relative_to(data_dir):
        raise ValueError(
            f"the agencies' directory {agencies_dir} must not be inside the hub's data "
            f"directory {data_dir}: raw identifiers never enter the hub"
        )
    city_dir = agencies_dir / CITY_DIRNAME
    city_json = city_dir / "city.json"
    reused = city_json.exists()
    if reused:
        say(f"Reusing the synthetic city in {city_dir}")
    else:
        ending = f", ending {end.isoformat()}" if end else ""
        say(f"Building the synthetic city (seed {seed}, scale {scale}{ending}) in {city_dir}")
        build_city(city_dir, seed=seed, scale=scale, progress=progress, end=end)
    city: dict[str, Any] = json.loads(city_json.read_text(encoding="utf-8"))

    key_file = agencies_dir / KEY_FILENAME
    if not key_file.exists():
        # One key shared by the agencies (never by the hub) so pseudonyms link across sectors.
        write_key_file(key_file)

    data_dir.mkdir(parents=True, exist_ok=True)
    installed = {layer.name for layer in load_layers(data_dir / "areas")}
    for layer_name, relative in sorted(city["layers"].items()):
        if layer_name not in installed:
            add_layer(data_dir, city_dir / relative, layer_name)

    # The hub reads periods in the city's time zone; a demo lake from before local days (or in
    # another zone) is re-derived once.
    zone = str(city.get("timezone") or "UTC")
    current = read_lake_settings(data_dir)
    if current.time_zone != zone or not LakePaths(data_dir).settings.exists():
        say(f"Setting the hub's time zone to {zone}")
        reassign_areas(data_dir, replace(current, time_zone=zone))

    runs: list[SourceRun] = []
    agencies: list[tuple[str, str, str]] = []
    for agency in city["agencies"]:
        agencies.append((agency["code"], agency["name"], agency["sector"]))
        for source in agency["sources"]:
            name = f"{agency['code']}/{source['name']}"
            batch_dir = agencies_dir / BATCHES_DIRNAME / agency["code"] / source["name"]
            if not (batch_dir / "batch.json").exists():
                prepare(
                    city_dir / source["extract"],
                    city_dir / source["profile"],
                    key_file,
                    batch_dir,
                    progress=progress,
                    overwrite=True,
                )
            result: IngestResult = ingest_batch(batch_dir, data_dir)
            runs.append(
                SourceRun(
                    source=name,
                    rows=result.rows_in,
                    committed=result.committed,
                    quarantined=result.quarantined,
                    already_ingested=result.already_ingested,
                    batch_id=result.batch_id,
                )
            )
            state = "already ingested" if result.already_ingested else "ingested"
            say(
                f"  {name:<20} {result.rows_in:>8,} rows  {result.committed:>8,} committed  "
                f"{result.quarantined:>5,} quarantined  ({state})"
            )
    return DemoPipeline(
        agencies_dir=agencies_dir,
        data_dir=data_dir,
        agencies=agencies,
        runs=runs,
        reused_city=reused,
        seconds=time.perf_counter() - started,
    )
