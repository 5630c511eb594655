"""The ingest, lake and areas commands, and plain canonical CSV/NDJSON files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from test_ingest_support import good_row, write_batch, write_grid_layer

from wellbeat.cli import cli
from wellbeat.ingest import ingest_file
from wellbeat.lake.engine import open_engine
from wellbeat.lake.query import AggregateQuery, EventFilter, ExtractQuery

CSV_TEXT = "\n".join(
    [
        "event_id,agency,sector,kind,occurred_at,reported_at,lat,lon,codes,syndromes,sex,attributes",
        "A1,MPD,police,call_for_service,2024-03-01T08:00:00Z,2024-03-01T08:05:00Z,0.2,0.2,"
        'apco:EDP; apco:WELFARE,mental_health_crisis,female,"{""disposition"": ""transported""}"',
        "A2,MPD,police,call_for_service,2024-03-01T09:00:00Z,,0.7,0.7,,,male,",
        "A3,MPD,police,picnic,2024-03-01T10:00:00Z,,,,,,,",
    ]
)


def test_ingest_json_output_and_idempotent_rerun(tmp_path: Path) -> None:
    batch = write_batch(tmp_path / "batch", [good_row(1), good_row(2, sex="M")])
    data = tmp_path / "hub"
    runner = CliRunner()
    first = runner.invoke(cli, ["ingest", str(batch), "--data-dir", str(data), "--json"])
    assert first.exit_code == 0, first.output
    payload = json.loads(first.output)
    assert set(payload) == {
        "committed",
        "quarantined",
        "rows_in",
        "batch_id",
        "already_ingested",
        "quarantine_path",
    }
    assert (payload["committed"], payload["quarantined"], payload["rows_in"]) == (1, 1, 2)
    assert payload["already_ingested"] is False
    assert Path(payload["quarantine_path"]).is_file()

    again = runner.invoke(cli, ["ingest", str(batch), "--data-dir", str(data)])
    assert again.exit_code == 0
    assert "already ingested" in again.output


def test_ingest_summary_line_and_errors(tmp_path: Path) -> None:
    batch = write_batch(tmp_path / "batch", [good_row(1)], agency="MPD", rows=7)
    runner = CliRunner()
    failed = runner.invoke(cli, ["ingest", str(batch), "--data-dir", str(tmp_path / "hub")])
    assert failed.exit_code == 1
    assert "batch.json field 'rows': expected 1" in failed.output
    assert "got 7" in failed.output
    assert "Traceback" not in failed.output

    ok = write_batch(tmp_path / "ok", [good_row(1)])
    done = runner.invoke(cli, ["ingest", str(ok), "--data-dir", str(tmp_path / "hub")])
    assert done.exit_code == 0
    assert "1 rows in, 1 committed, 0 quarantined" in done.output


def test_lake_stats_reports_rows_batches_and_quarantine(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    runner = CliRunner()
    for agency, sector, kind, n in (
        ("MPD", "police", "arrest", 3),
        ("EMS", "fire_ems", "ems_response", 2),
    ):
        rows = [good_row(i, agency=agency, sector=sector, kind=kind) for i in range(1, n + 1)]
        rows.append(good_row(n + 1, agency=agency, sector="bad"))
        write_batch(tmp_path / agency, rows, agency=agency)
        assert (
            runner.invoke(
                cli, ["ingest", str(tmp_path / agency), "--data-dir", str(data)]
            ).exit_code
            == 0
        )
    result = runner.invoke(cli, ["lake", "stats", "--data-dir", str(data), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["batches"] == 2
    assert (stats["rows_in"], stats["committed"], stats["quarantined"]) == (7, 5, 2)
    assert stats["rows_by_agency"] == {"EMS": 2, "MPD": 3}
    assert stats["rows_by_sector"] == {"fire_ems": 2, "police": 3}
    assert stats["rows_by_kind"] == {"arrest": 3, "ems_response": 2}
    assert stats["agencies"][0]["latency_seconds"]["p50"] == 300.0
    text = runner.invoke(cli, ["lake", "stats", "--data-dir", str(data)])
    assert "2 batches: 7 rows in, 5 committed, 2 quarantined" in text.output
    listed = runner.invoke(cli, ["lake", "batches", "--data-dir", str(data), "--json"])
    batches = json.loads(listed.output)["batches"]
    assert sorted((b["agency"], b["committed"], b["quarantined"]) for b in batches) == [
        ("EMS", 2, 1),
        ("MPD", 3, 1),
    ]


def test_areas_add_then_ingest_assigns_the_layer(tmp_path: Path) -> None:
    source = write_grid_layer(tmp_path / "elsewhere", "grid")
    data = tmp_path / "hub"
    runner = CliRunner()
    added = runner.invoke(
        cli, ["areas", "add", str(source), "--data-dir", str(data), "--name", "beat"]
    )
    assert added.exit_code == 0, added.output
    assert "added layer 'beat': 4 areas" in added.output
    again = runner.invoke(
        cli, ["areas", "add", str(source), "--data-dir", str(data), "--name", "beat"]
    )
    assert again.exit_code == 0 and "nothing to change" in again.output  # the same layer
    other = write_grid_layer(tmp_path / "other", "grid", size=0.25)
    clash = runner.invoke(
        cli, ["areas", "add", str(other), "--data-dir", str(data), "--name", "beat"]
    )
    assert clash.exit_code == 1 and "already exists" in clash.output
    listed = runner.invoke(cli, ["areas", "list", "--data-dir", str(data), "--json"])
    assert json.loads(listed.output) == {"layers": [{"layer": "beat", "areas": 4}]}
    runner.invoke(
        cli, ["ingest", str(write_batch(tmp_path / "b", [good_row(1)])), "--data-dir", str(data)]
    )
    table = open_engine(data).aggregate(AggregateQuery(EventFilter(), area_layer="beat"))
    assert table.to_pylist() == [{"area": "grid-00", "count": 1}]


def test_plain_csv_goes_through_the_same_validation(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(CSV_TEXT)
    data = tmp_path / "hub"
    write_grid_layer(data)
    result = ingest_file(path, data)
    assert (result.agency, result.rows_in, result.committed, result.quarantined) == ("MPD", 3, 2, 1)
    assert result.quarantine_path is not None
    assert "3,kind,picnic" in result.quarantine_path.read_text()
    query = ExtractQuery(EventFilter(), ("event_id", "codes", "attributes", "area_beat"))
    rows = open_engine(data).extract(query).to_pylist()
    assert rows[0] == {
        "event_id": "A1",
        "codes": ["apco:EDP", "apco:WELFARE"],
        "attributes": [("disposition", "transported")],
        "area_beat": "beat-00",
    }
    assert ingest_file(path, data).already_ingested


def test_plain_ndjson_with_agency_option_and_refused_columns(tmp_path: Path) -> None:
    path = tmp_path / "visits.ndjson"
    lines = [
        {
            "event_id": "V1",
            "sector": "emergency_dept",
            "kind": "ed_visit",
            "occurred_at": "2024-03-01T08:00:00Z",
            "codes": ["icd10cm:T40.1X1A"],
            "syndromes": ["overdose", "opioid_overdose"],
            "lat": 0.3,
            "lon": 0.3,
        },
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    runner = CliRunner()
    data = tmp_path / "hub"
    out = runner.invoke(
        cli, ["ingest", str(path), "--data-dir", str(data), "--agency", "MERCY", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["committed"] == 1

    leaky = tmp_path / "leaky.csv"
    leaky.write_text(
        "event_id,sector,kind,occurred_at,patient_name\n1,police,arrest,2024-03-01T08:00:00Z,Jo\n"
    )
    refused = runner.invoke(cli, ["ingest", str(leaky), "--data-dir", str(data), "--agency", "MPD"])
    assert refused.exit_code == 1
    assert "leaky.csv:1 field 'patient_name'" in refused.output
    assert "unknown column(s) patient_name" in refused.output
