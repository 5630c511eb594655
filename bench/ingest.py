"""Benchmark: prepare + ingest one million synthetic events (not part of the test suite).

Run: ``python bench/ingest.py [--rows N] [--workdir DIR]``. Writes a synthetic police CAD
extract (CSV, with names and dates of birth for the pseudonymiser), then times, in the same run:

* the reference: DuckDB's plain ``COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'``;
* ``wellbeat.ingest.prepare.prepare`` (the source side) and ``wellbeat.ingest.ingest_batch``
  (the hub side, into a data directory with a 64-area layer).

Prints rows/s for each and the ratio of prepare+ingest speed to the raw copy's (goal >= 0.25).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from wellbeat.ingest import ingest_batch
from wellbeat.ingest.prepare import prepare
from wellbeat.privacy.keys import write_key_file

PROFILE = """\
profile: bench-cad
connector: generic
agency: BPD
sector: police
kind: call_for_service
format: csv
timezone: America/Chicago
fields:
  event_id: {column: CallNumber}
  occurred_at: {column: CallReceived, format: "%m/%d/%Y %H:%M:%S"}
  reported_at: {column: EntryTime, format: "%m/%d/%Y %H:%M:%S"}
  lat: {column: Latitude}
  lon: {column: Longitude}
  sex: {column: Gender, map: {M: male, F: female, U: unknown}}
  age_band: {column: Age}
codes:
  - {column: CallType, namespace: apco}
attributes:
  disposition: {column: Disposition}
identity:
  first_name: FirstName
  last_name: LastName
  dob: BirthDate
  dob_format: "%Y-%m-%d"
sensitivity: [cji]
"""

CALL_TYPES = np.array(
    [
        "EDP",
        "SUICTHRT",
        "WELFARE",
        "INTOX",
        "OD",
        "PERDOWN",
        "DISORD",
        "DVNA",
        "TRESPASS",
        "NOISE",
        "SHOTS",
        "ASSAULT",
        "THEFT",
        "BURGLARY",
        "TRAFFIC",
    ]
)
FIRST = np.array(["Ana", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jo"])
LAST = np.array(["Diaz", "Kim", "Okafor", "Nowak", "Singh", "Smith", "Rossi", "Haddad"])


def write_extract(path: Path, rows: int, locations: int, seed: int = 3) -> None:
    """A CAD extract in the agency's own format: local US timestamps, letters for sex.

    Coordinates are drawn from ``locations`` geocoded addresses (CAD geocodes calls to an
    address or intersection, so locations repeat); 0 gives every call its own random point.
    """
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00")
    occurred = start + rng.integers(0, 180 * 86400, rows).astype("timedelta64[s]")
    entered = occurred + rng.integers(30, 1800, rows).astype("timedelta64[s]")
    people = rng.integers(0, max(rows // 20, 1), rows)  # ~20 calls per distinct person
    points = locations or rows
    lat = np.round(rng.uniform(41.70, 42.00, points), 6)
    lon = np.round(rng.uniform(-87.90, -87.50, points), 6)
    if locations:
        where = rng.integers(0, locations, rows)
        lat, lon = lat[where], lon[where]

    def us_format(values: np.ndarray) -> pa.Array:
        text = pa.array(values.astype("datetime64[s]"))
        return pa.compute.strftime(text, format="%m/%d/%Y %H:%M:%S")

    table = pa.table(
        {
            "CallNumber": pa.array(np.char.add("C", np.arange(rows).astype(str))),
            "CallReceived": us_format(occurred),
            "EntryTime": us_format(entered),
            "Latitude": lat,
            "Longitude": lon,
            "Gender": rng.choice(np.array(["M", "F", "U"]), rows),
            "Age": rng.integers(0, 95, rows),
            "CallType": rng.choice(CALL_TYPES, rows),
            "Disposition": rng.choice(np.array(["REPORT", "GOA", "ADVISED", "ARREST"]), rows),
            "FirstName": FIRST[people % len(FIRST)],
            "LastName": np.char.add(LAST[people % len(LAST)], (people // 80).astype(str)),
            "BirthDate": (
                np.datetime64("1950-01-01") + (people % 20000).astype("timedelta64[D]")
            ).astype(str),
        }
    )
    pacsv.write_csv(table, path)


def write_areas(data_dir: Path, side: int = 8) -> None:
    """A side x side grid of square areas over the extract's bounding box."""
    lon0, lat0, dlon, dlat = -87.9, 41.7, 0.4 / side, 0.3 / side
    features = []
    for i in range(side):
        for j in range(side):
            x, y = lon0 + i * dlon, lat0 + j * dlat
            ring = [[x, y], [x + dlon, y], [x + dlon, y + dlat], [x, y + dlat], [x, y]]
            features.append(
                {
                    "type": "Feature",
                    "properties": {"id": f"B{i}{j}", "name": f"Beat {i}{j}", "population": 5000},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    (data_dir / "areas").mkdir(parents=True, exist_ok=True)
    (data_dir / "areas" / "beat.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )


class Timer:
    """Wall-clock and CPU seconds (all threads of this process) of a block.

    CPU time is reported beside wall time because the machine may be shared: it measures the
    work done, which other processes' load does not inflate.
    """

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def raw_copy(csv_path: Path, out: Path) -> Timer:
    """The reference: DuckDB's plain CSV -> Parquet copy of the same file."""
    with duckdb.connect() as con, Timer() as timer:
        con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{out}' (FORMAT parquet)")
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="events to generate")
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    parser.add_argument(
        "--locations",
        type=int,
        default=150_000,
        help="distinct geocoded addresses the calls fall on (0: a random point per call)",
    )
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="wellbeat-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        extract, profile, key = work / "cad.csv", work / "cad.yaml", work / "bpd.key"
        batch, data = work / "batch", work / "hub"
        for stale in (batch, data):
            shutil.rmtree(stale, ignore_errors=True)
        write_extract(extract, args.rows, args.locations)
        profile.write_text(PROFILE)
        write_key_file(key)
        write_areas(data)
        size_mb = extract.stat().st_size / 1e6

        copy = raw_copy(extract, work / "raw.parquet")
        with Timer() as prepared:
            prepare(extract, profile, key, batch)
        with Timer() as ingested:
            result = ingest_batch(batch, data)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    n = args.rows
    print(
        f"rows {n:,} (CSV {size_mb:.0f} MB, {args.locations or n:,} distinct locations); "
        f"committed {result.committed:,}, "
        f"quarantined {result.quarantined:,}"
    )
    print(f"{'':30}{'wall s':>8}{'rows/s':>12}{'cpu s':>8}")
    stages = [
        ("duckdb raw CSV->Parquet copy", copy.wall, copy.cpu),
        ("prepare", prepared.wall, prepared.cpu),
        ("ingest", ingested.wall, ingested.cpu),
        ("prepare + ingest", prepared.wall + ingested.wall, prepared.cpu + ingested.cpu),
    ]
    for name, wall, cpu in stages:
        print(f"{name:30}{wall:8.2f}{n / wall:12,.0f}{cpu:8.2f}")
    total_wall, total_cpu = stages[3][1], stages[3][2]
    print(
        f"speed ratio to the raw copy (goal >= 0.25): prepare+ingest {copy.wall / total_wall:.3f}"
        f" wall, {copy.cpu / total_cpu:.3f} cpu; ingest alone {copy.wall / ingested.wall:.3f}"
        f" wall, {copy.cpu / ingested.cpu:.3f} cpu"
    )


if __name__ == "__main__":
    main()
