"""Data-quality monitors flag what an NSSP-style feed monitor would: a stale source, a volume
drop, a high quarantine share, few informative fields and invalid codes; a clean feed is ok."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.analytics.indicators.world import Event, batch_row, ingest_events

from wellbeat.analytics.quality import (
    SourceQuality,
    Thresholds,
    code_is_valid,
    source_quality,
    volume_check,
)
from wellbeat.cli import cli

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
MIDNIGHT = NOW.replace(hour=0)


def feed(agency: str, kind: str, days: range, per_day: int, **fields: object) -> list[Event]:
    """``per_day`` events on each UTC day ``today - d`` for d in ``days``, spread over the day."""
    out = []
    for d in days:
        for i in range(per_day):
            at = MIDNIGHT - timedelta(days=d) + timedelta(hours=1 + 20 * i / per_day)
            out.append(Event(agency, kind, at, **fields))  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SourceQuality]:
    hub = tmp_path_factory.mktemp("quality-hub")
    work = tmp_path_factory.mktemp("quality-batches")
    events: list[Event] = []
    coded = {"codes": ["icd10cm:T40.1X1A"], "syndromes": ["overdose"]}
    events += feed("GEN", "ed_visit", range(1, 40), 10, **coded)  # healthy
    events += feed("EMS", "ems_response", range(8, 40), 20, codes=["nemsis:2301053"])
    events += feed("EMS", "ems_response", range(1, 8), 2, codes=["nemsis:2301053"])  # drop
    events += feed("OME", "death", range(9, 40), 6, codes=["icd10:X42"])  # stale
    events += feed("MPD", "call_for_service", range(1, 40), 6, codes=["apco:EDP"])
    events += feed("MPD", "call_for_service", range(1, 40), 4, codes=["apco:NOPE"], area=None)
    ingest_events(hub, events, work, now=NOW + timedelta(hours=1))
    # NBH: a third of its rows cannot be read (quarantined at ingest)
    rows = [
        batch_row(n, e) for n, e in enumerate(feed("NBH", "crisis_contact", range(1, 40), 3), 1)
    ]
    for row in rows[::3]:
        row["occurred_at"] = "not a time"
    _ingest_rows(hub, work / "nbh", rows)
    # OME's only batch arrived eight days ago
    for manifest in (hub / "lake" / "manifest").glob("*.json"):
        data = json.loads(manifest.read_text())
        if data["agency"] == "OME":
            data["ingested_at"] = (NOW - timedelta(days=8)).isoformat()
            manifest.write_text(json.dumps(data))
    return {r.agency: r for r in source_quality(hub, now=NOW + timedelta(hours=2))}


def _ingest_rows(hub: Path, directory: Path, rows: list[dict[str, object]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from wellbeat.events.schema import BATCH_SCHEMA
    from wellbeat.ingest import ingest_batch

    directory.mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=BATCH_SCHEMA), directory / "events.parquet")
    meta = {"format": "wellbeat-batch/1", "agency": "NBH", "sector": "behavioral_health",
            "connector": "generic", "profile": "test", "rows": len(rows)}  # fmt: skip
    (directory / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
    ingest_batch(directory, hub, now=NOW + timedelta(hours=1))


def check(report: SourceQuality, name: str) -> str:
    return next(c.status for c in report.checks if c.name == name)


def test_a_clean_feed_is_ok(reports: dict[str, SourceQuality]) -> None:
    gen = reports["GEN"]
    assert gen.status == "ok" and gen.reasons == ()
    assert gen.metrics["volume_ratio"] == pytest.approx(1.0)
    assert gen.metrics["share_codes"] == 1.0 and gen.metrics["share_diagnosis"] == 1.0
    assert gen.metrics["latency_p90_hours"] == pytest.approx(2.0)
    assert gen.sector == "emergency_dept"


def test_a_source_that_stops_sending_goes_stale_and_drops(tmp_path: Path) -> None:
    events = feed("GEN", "ed_visit", range(1, 40), 10, codes=["icd10cm:T40.1X1A"])
    ingest_events(tmp_path / "hub", events, tmp_path, now=NOW + timedelta(hours=1))
    (report,) = source_quality(tmp_path / "hub", now=NOW + timedelta(days=2))
    assert report.status == "warn"
    assert [c.name for c in report.checks if c.status != "ok"] == ["freshness"]
    (later,) = source_quality(tmp_path / "hub", now=NOW + timedelta(days=6))
    assert later.status == "alert"
    assert [c.name for c in later.checks if c.status != "ok"] == ["freshness", "volume"]


def test_stale_source_raises_an_alert(reports: dict[str, SourceQuality]) -> None:
    ome = reports["OME"]
    assert ome.status == "alert" and check(ome, "freshness") == "alert"
    assert ome.metrics["hours_since_last_batch"] == pytest.approx(8 * 24 + 2)
    assert any(r.startswith("stale: no new batch or event for 194 hours") for r in ome.reasons)


def test_volume_drop_is_flagged(reports: dict[str, SourceQuality]) -> None:
    ems = reports["EMS"]
    assert check(ems, "volume") == "alert"
    assert ems.metrics["volume_ratio"] == pytest.approx(2 / 20)
    assert any("volume drop: 2.0 events/day" in r for r in ems.reasons)


def test_invalid_codes_and_missing_locations(reports: dict[str, SourceQuality]) -> None:
    mpd = reports["MPD"]
    assert mpd.metrics["invalid_code_share"] == pytest.approx(0.4)
    assert check(mpd, "invalid_codes") == "alert"
    assert any("apco:NOPE" in r for r in mpd.reasons)
    assert mpd.metrics["share_location"] == pytest.approx(0.6)
    assert check(mpd, "informative_location") == "warn"
    assert "informative_diagnosis" not in {c.name for c in mpd.checks}


def test_high_quarantine_share(reports: dict[str, SourceQuality]) -> None:
    nbh = reports["NBH"]
    assert nbh.metrics["quarantined"] == 39 and nbh.metrics["rows_in"] == 117
    assert check(nbh, "quarantine") == "alert"
    assert any("33.3% of rows were quarantined" in r for r in nbh.reasons)


def test_volume_check_thresholds() -> None:
    steady = [20] * 28
    assert volume_check([20] * 7, steady)[0].status == "ok"
    assert volume_check([9] * 7, [20, 21, 19, 20] * 7)[0].status == "warn"
    assert volume_check([70] * 7, [20, 21, 19, 20] * 7)[0].status == "alert"
    assert volume_check([0] * 7, [2] * 28)[0].status == "ok"  # too small to judge
    noisy = [0, 40] * 14  # huge day-to-day swings: a ratio of 0.45 is within noise
    assert volume_check([9] * 7, noisy, Thresholds())[0].status == "ok"


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("nibrs:13A", True), ("nibrs:99Z", False), ("apco:EDP", True), ("apco:NOPE", False),
        ("icd10cm:T40.1X1A", True), ("icd10cm:hello world", False), ("nemsis:2301053", True),
        ("nemsis:12", False), ("rxnorm:7242", True), ("local:ANY", True), ("bogus:1", False),
        ("T40.1", False),
    ],
)  # fmt: skip
def test_code_validity(code: str, valid: bool) -> None:
    assert code_is_valid(code) is valid


def test_cli_json_and_text(tmp_path: Path) -> None:
    events = feed("GEN", "ed_visit", range(1, 10), 2, codes=["icd10cm:T40.1X1A"])
    ingest_events(tmp_path / "hub", events, tmp_path, now=NOW + timedelta(hours=1))
    runner = CliRunner()
    result = runner.invoke(cli, ["quality", "--data-dir", str(tmp_path / "hub"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["agency"] for s in data["sources"]] == ["GEN"]
    assert data["sources"][0]["status"] in ("ok", "warn", "alert")
    text = runner.invoke(cli, ["quality", "--data-dir", str(tmp_path / "hub")])
    assert text.exit_code == 0 and "GEN" in text.output
    missing = runner.invoke(cli, ["quality", "--data-dir", str(tmp_path / "nothing")])
    assert missing.exit_code == 1 and "no committed batches" in missing.output
