"""Benchmark: indicator computation over N synthetic lake events (not part of the test suite).

Run: ``python bench/indicators.py [--rows 10000000] [--workdir DIR]``. Writes the events
directly as lake Parquet (numpy + pyarrow, in chunks of 2M rows, each a committed batch with its
cube; no synth + prepare), over a 10x10 grid layer ``neighbourhood``. Then times, in the same
run, daily counts per neighbourhood of ``suspected_overdose`` over two years:

* the reference: hand-written DuckDB SQL on the same Parquet files;
* wellbeat from the events (``indicator_sql`` run by the engine): goal within 1.5x of it;
* wellbeat as the hub computes it (``indicator_counts``: the cube answers);
* the governed service (``governed_aggregate``, Django against a temp data dir, an EMS -> public
  health agreement): goal at most 20% over the same ungoverned query of that provider's rows.

Each timing is the best of ``--repeat`` runs. Prints times and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from wellbeat.analytics.indicators import (
    get_indicator,
    indicator_counts,
    indicator_data_requests,
    indicator_requests,
    indicator_sql,
)
from wellbeat.events.schema import lake_schema
from wellbeat.lake.cube import build_cube
from wellbeat.lake.engine import DuckDBEngine
from wellbeat.lake.store import BatchManifest, commit_batch, event_files, lake_lock, utc_now_text

LAYER = "neighbourhood"
CHUNK = 2_000_000
START = date(2023, 1, 1)
END = date(2025, 1, 1)
SOURCES = [  # agency, sector, kind, share
    ("EMS", "fire_ems", "ems_response", 0.3),
    ("GEN", "emergency_dept", "ed_visit", 0.4),
    ("MPD", "police", "call_for_service", 0.3),
]
SYNDROMES = [[], ["overdose"], ["opioid_overdose", "overdose"], ["assault_injury"],
             ["mental_health_crisis"], ["overdose", "stimulant_overdose"]]  # fmt: skip
SYNDROME_P = [0.6, 0.1, 0.08, 0.08, 0.1, 0.04]
CODES = [[], ["icd10cm:T40.1X1A"], ["apco:EDP"], ["nemsis:2301053"], ["icd10cm:S01.01XA"]]


def write_layer(data_dir: Path) -> None:
    features = []
    for c in range(10):
        for r in range(10):
            x, y = c * 0.01, r * 0.01
            ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]
            features.append({
                "type": "Feature",
                "properties": {"id": f"N{c}{r}", "name": f"Neighbourhood {c}{r}",
                               "population": 5000 + 100 * (c + r)},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            })  # fmt: skip
    path = data_dir / "areas" / f"{LAYER}.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def chunk_table(rng: np.random.Generator, n: int, agency_index: int, offset: int) -> pa.Table:
    """``n`` lake rows of one source agency."""
    agency, sector, kind, _ = SOURCES[agency_index]
    start_us = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1e6)
    span_us = int((END - START).days * 86_400 * 1e6)
    occurred = np.sort(start_us + rng.integers(0, span_us, n))
    reported = occurred + rng.integers(60, 6 * 3600, n) * 1_000_000
    col, row = rng.integers(0, 10, n), rng.integers(0, 10, n)
    lon = col * 0.01 + rng.random(n) * 0.01
    lat = row * 0.01 + rng.random(n) * 0.01
    area = np.char.add(np.char.add("N", col.astype(str)), row.astype(str))
    utc = pa.timestamp("us", tz="UTC")
    schema = lake_schema([LAYER])
    strings = pa.list_(pa.string())

    def pick(values: list[Any], p: list[float] | None, typ: pa.DataType) -> pa.Array:
        return pa.array(values, typ).take(pa.array(rng.choice(len(values), n, p=p)))

    columns: dict[str, pa.Array] = {
        "event_id": pa.array(np.char.add(f"{agency}-", np.arange(offset, offset + n).astype(str))),
        "agency": pa.array(np.full(n, agency, dtype=object), pa.string()),
        "sector": pa.array(np.full(n, sector, dtype=object), pa.string()),
        "kind": pa.array(np.full(n, kind, dtype=object), pa.string()),
        "occurred_at": pa.array(occurred, utc),
        "reported_at": pa.array(reported, utc),
        "lat": pa.array(lat),
        "lon": pa.array(lon),
        f"area_{LAYER}": pa.array(area, pa.string()),
        "h3": pa.nulls(n, pa.string()),
        "codes": pick(CODES, None, strings),
        "syndromes": pick(SYNDROMES, SYNDROME_P, strings),
        "person_token": pick([None, *[f"tok{i:04d}" for i in range(2000)]], None, pa.string()),
        "linkage_code": pa.nulls(n, pa.binary()),
        "age_band": pick(["20-24", "30-34", "45-49", "70-74"], None, pa.string()),
        "sex": pick(["female", "male"], None, pa.string()),
        "attributes": pa.array(
            [[("disposition", "transported")], []], pa.map_(pa.string(), pa.string())
        ).take(pa.array(rng.integers(0, 2, n))),
        "sensitivity": pick([["phi"]], None, strings),
        "batch_id": pa.array(np.full(n, "", dtype=object), pa.string()),
    }
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def build_lake(data_dir: Path, rows: int, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    write_layer(data_dir)
    offset = 0
    for a, (agency, sector, _, share) in enumerate(SOURCES):
        remaining = int(rows * share)
        part = 0
        while remaining > 0:
            n = min(CHUNK, remaining)
            batch_id = f"bench{agency.lower()}{part:04d}"
            table = chunk_table(rng, n, a, offset)
            table = table.set_column(
                table.schema.get_field_index("batch_id"), "batch_id",
                pa.array(np.full(n, batch_id, dtype=object), pa.string()),
            )  # fmt: skip
            cube = build_cube(table, [LAYER])
            occurred = table.column("occurred_at")
            manifest = BatchManifest(
                batch_id=batch_id, events_sha256=batch_id, agency=agency, sector=sector,
                connector="bench", profile="bench", prepared_at=None, key_fingerprint=None,
                ingested_at=utc_now_text(), rows_in=n, committed=n, quarantined=0,
                quarantine_lines=0, quarantine_path=None, files=(), aggregates=(),
                layers=(LAYER,), occurred_min=str(occurred[0]), occurred_max=str(occurred[-1]),
            )  # fmt: skip
            with lake_lock(data_dir):
                commit_batch(data_dir, manifest, table, cube, None)
            del table, cube
            offset += n
            remaining -= n
            part += 1


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


HAND_SQL = """
SELECT area_neighbourhood AS area, CAST(occurred_at AS DATE) AS day, count(*) AS n
FROM read_parquet({files})
WHERE kind IN ('ems_response', 'ed_visit') AND list_has_any(syndromes, ['overdose'])
  AND occurred_at >= TIMESTAMPTZ '2023-01-01 00:00:00+00'
  AND occurred_at < TIMESTAMPTZ '2025-01-01 00:00:00+00'
  {agency}
GROUP BY ALL
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="wellbeat-bench-ind-"))
    data_dir = work / "hub"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    t0 = time.perf_counter()
    build_lake(data_dir, args.rows)
    print(f"lake: {args.rows:,} events written in {time.perf_counter() - t0:.1f} s")

    indicator = get_indicator("suspected_overdose")
    files = "[" + ", ".join(f"'{p}'" for p in event_files(data_dir)) + "]"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    hand_s, hand = best(
        lambda: con.sql(HAND_SQL.format(files=files, agency="")).fetchall(), args.repeat
    )
    engine = DuckDBEngine(data_dir)
    sql = indicator_sql(indicator, LAYER, "day", START, END)
    events_s, from_events = best(lambda: engine.sql(sql.sql, sql.params), args.repeat)
    cube_s, from_cube = best(
        lambda: indicator_counts(engine, indicator, LAYER, "day", START, END), args.repeat
    )
    assert sum(n for *_, n in hand) == sum(from_events.column("count").to_pylist())
    assert sum(from_cube.values()) == sum(n for *_, n in hand)
    print(f"hand-written DuckDB SQL on the Parquet:    {hand_s:7.3f} s  ({len(hand):,} cells)")
    print(f"wellbeat from events (indicator_sql):      {events_s:7.3f} s  "
          f"ratio {events_s / hand_s:.2f} (goal <= 1.5)")  # fmt: skip
    print(f"wellbeat as the hub computes (cube):       {cube_s:7.3f} s  "
          f"ratio {cube_s / hand_s:.2f}")  # fmt: skip

    governed_benchmark(data_dir, engine, indicator, args.repeat)
    engine.close()
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


def governed_benchmark(data_dir: Path, engine: DuckDBEngine, indicator: Any, repeat: int) -> None:
    """The governed service against the same engine query for the provider's rows."""
    os.environ["WELLBEAT_DEMO"] = "1"
    from wellbeat.web.demo import seed_demo

    seed_demo(data_dir, [("EMS", "Metro EMS", "fire_ems"), ("PHD", "Public Health",
                                                          "public_health")])  # fmt: skip
    from wellbeat.governance import Refusal
    from wellbeat.governance.execute import engine_queries, run_plan
    from wellbeat.governance.release import release
    from wellbeat.web.accounts.models import User
    from wellbeat.web.governance.demo import seed_agreements
    from wellbeat.web.governance.service import (
        decide,
        governed_aggregate,
        hub_key,
        lake_engine,
        requester_for_user,
    )

    seed_agreements()
    analyst = User.objects.get(username="phd-analyst")
    (request,) = indicator_data_requests(indicator, LAYER, "day", START, END)
    request = type(request)(**{**request.__dict__, "kinds": ("ems_response",)})
    purpose = "overdose_response"

    def governed() -> Any:
        result = governed_aggregate(analyst, purpose, request)
        if not hasattr(result, "table"):
            raise SystemExit(f"governed read refused: {result.message}")
        return result

    (query,) = indicator_requests(indicator, LAYER, "day", START, END)
    direct_query = type(query)(
        type(query.filter)(**{**query.filter.__dict__, "agencies": ("EMS",),
                              "kinds": ("ems_response",)}),
        query.area_layer, query.period, query.by,
    )  # fmt: skip
    governed()  # warm caches (layer order, hub key)
    direct_s, direct = best(lambda: engine.aggregate(direct_query), repeat)
    governed_s, released = best(governed, repeat)
    direct_events_s, _ = best(lambda: engine.aggregate(direct_query, use_cube=False), repeat)
    # Where the governed time goes: the plan run without Django (engine + release), and the
    # release alone (narrowing and suppression) on the engine's answer.
    decision = decide(requester_for_user(analyst), purpose, request)
    if isinstance(decision, Refusal):
        raise SystemExit(f"governed read refused: {decision.message}")
    key = hub_key()
    run_s, _ = best(lambda: run_plan(decision, lake_engine(), key), repeat)
    # The release's input is what the engine returns for the plan: EMS's protected base table.
    base_q = next(q for g, q in engine_queries(decision) if g.provider == "EMS")
    base = lake_engine().aggregate(base_q)  # type: ignore[arg-type]
    answer = base.append_column("agency", pa.repeat(pa.scalar("EMS"), base.num_rows))
    release_s, _ = best(lambda: release(decision, answer, key), repeat)
    print(
        f"EMS rows, engine directly (cube):          {direct_s:7.3f} s  ({direct.num_rows:,} cells)"
    )
    print(f"EMS rows, governed_aggregate:              {governed_s:7.3f} s  "
          f"overhead {governed_s / direct_s - 1:+.0%} (goal <= +20%)")  # fmt: skip
    print(f"EMS rows, engine directly (events):        {direct_events_s:7.3f} s  "
          f"governed/events {governed_s / direct_events_s - 1:+.0%}")  # fmt: skip
    print(f"  of which run_plan (engine + release):    {run_s:7.3f} s")
    print(f"  of which release (protect base, sum):    {release_s:7.3f} s  "
          f"({base.num_rows:,} base cells)")  # fmt: skip
    print(f"  service (agreements, audit write):       {governed_s - run_s:7.3f} s")
    print(f"released cells: {released.table.num_rows:,} "
          f"({released.suppressed_cells:,} suppressed)")  # fmt: skip


if __name__ == "__main__":
    main()
