"""Area layers added or replaced after events arrived: every located event gets its area, as a
new revision of each batch (atomic, idempotent); layers from Shapefile and GeoPackage files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely
from click.testing import CliRunner
from test_ingest_support import NOW, good_row, write_batch, write_grid_layer

from wellbeat.analytics.quality import source_quality
from wellbeat.cli import cli
from wellbeat.events.schema import OUTSIDE_AREA
from wellbeat.geo import AreaLayerError, LayerFields, add_layer
from wellbeat.ingest import ingest_batch
from wellbeat.ingest.areas import reassign_areas
from wellbeat.lake.engine import DuckDBEngine
from wellbeat.lake.query import AggregateQuery
from wellbeat.lake.store import lake_lock, list_batches, remove_orphans


def _hub_without_layers(tmp_path: Path) -> Path:
    data = tmp_path / "hub"
    first = [
        good_row(i, lat=str(0.1 + 0.2 * (i % 5)), lon=str(0.1 + 0.15 * (i % 7)))
        for i in range(1, 41)
    ]
    second = [
        good_row(i, event_id=f"F{i}", lat="5", lon="5") if i == 1 else good_row(i, event_id=f"F{i}")
        for i in range(1, 11)
    ]
    second.append(good_row(11, event_id="F11", lat=None, lon=None))
    for name, rows in (("a", first), ("b", second)):
        ingest_batch(write_batch(tmp_path / name, rows), data, now=NOW)
    return data


def _lake_files(data: Path) -> dict[str, bytes]:
    """Every manifest and every file a manifest names (what readers see)."""
    lake = data / "lake"
    named = [lake / f for m in list_batches(data) for f in (*m.files, *m.aggregates)]
    manifests = sorted((lake / "manifest").glob("*.json"))
    return {str(p.relative_to(data)): p.read_bytes() for p in [*manifests, *named]}


def _areas(data: Path, layer: str) -> dict[str, str | None]:
    engine = DuckDBEngine(data)
    try:
        rows = engine.sql(f"SELECT event_id, area_{layer} AS area FROM events").to_pylist()
    finally:
        engine.close()
    return {r["event_id"]: r["area"] for r in rows}


def test_a_layer_added_after_ingest_assigns_every_located_event(tmp_path: Path) -> None:
    data = _hub_without_layers(tmp_path)
    engine = DuckDBEngine(data)  # a long-lived reader, as the web app holds
    assert engine.layers() == []
    write_grid_layer(data, "beat")
    result = reassign_areas(data)
    assert result.batches_current == 0 and len(result.batches_revised) == 2
    assert result.events_revised == 51
    areas = _areas(data, "beat")
    assert all(
        a is not None and a.startswith("beat-") for e, a in areas.items() if e.startswith("E")
    )
    assert (areas["F1"], areas["F11"]) == (OUTSIDE_AREA, OUTSIDE_AREA)
    assert result.located == {"beat": 49} and result.outside == {"beat": 2}
    for manifest in list_batches(data):
        assert manifest.layers == ("beat",) and manifest.revision == 1
        assert manifest.layer_fingerprints.keys() == {"beat"}
    # The reader that was open before sees the new revision, cube included.
    counts = engine.aggregate(AggregateQuery(area_layer="beat"))
    assert sum(counts.column("count").to_pylist()) == 51
    assert engine.last_source == "cube"
    engine.close()


def test_reassigning_again_changes_nothing(tmp_path: Path) -> None:
    data = _hub_without_layers(tmp_path)
    write_grid_layer(data, "beat")
    reassign_areas(data)
    before = _lake_files(data)
    again = reassign_areas(data)
    assert again.batches_revised == () and again.batches_current == 2
    assert _lake_files(data) == before


def test_a_replaced_layer_moves_events_to_the_new_areas(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    write_grid_layer(data, "beat")
    ingest_batch(write_batch(tmp_path / "a", [good_row(1, lat="0.3", lon="0.3")]), data, now=NOW)
    assert _areas(data, "beat") == {"E1": "beat-00"}
    write_grid_layer(data, "beat", size=0.25)  # new boundaries: 0.3 is now in cell 11
    assert reassign_areas(data).batches_revised
    assert _areas(data, "beat") == {"E1": "beat-11"}
    # New ingests are current at once.
    ingest_batch(write_batch(tmp_path / "b", [good_row(2, event_id="G2")]), data, now=NOW)
    assert reassign_areas(data).batches_current == 2


def test_replaced_files_are_kept_for_readers_until_the_next_writer(tmp_path: Path) -> None:
    data = _hub_without_layers(tmp_path)
    old = {p for m in list_batches(data) for p in m.files}
    write_grid_layer(data, "beat")
    reassign_areas(data)
    assert all((data / "lake" / f).exists() for f in old)
    with lake_lock(data):
        removed = remove_orphans(data)
    assert {str(p.relative_to(data / "lake")) for p in removed} >= old
    new = {p for m in list_batches(data) for p in m.files}
    assert all((data / "lake" / f).exists() for f in new)
    assert pq.read_table(data / "lake" / sorted(new)[0]).column_names.count("area_beat") == 1


def test_the_quality_monitor_tells_the_truth_once_areas_are_derived(tmp_path: Path) -> None:
    data = _hub_without_layers(tmp_path)
    write_grid_layer(data, "beat")
    now = datetime(2024, 3, 5, tzinfo=UTC)

    def inside_share() -> float:
        (report,) = source_quality(data, now=now)
        return float(report.metrics["share_inside_area"])

    assert inside_share() == 0.0  # the layer exists, but no event has been given its areas
    reassign_areas(data)
    assert inside_share() == pytest.approx(49 / 51, abs=1e-3)


def _utm_squares() -> list[shapely.Polygon]:
    """Two 1 km squares in UTM zone 15N (EPSG:26915) near Minneapolis."""
    return [
        shapely.box(478_000 + 1000 * i, 4_980_000, 479_000 + 1000 * i, 4_981_000) for i in range(2)
    ]


@pytest.mark.parametrize(("suffix", "driver"), [(".shp", "ESRI Shapefile"), (".gpkg", "GPKG")])
def test_shapefile_and_geopackage_layers_are_reprojected_with_a_population_csv(
    tmp_path: Path, suffix: str, driver: str
) -> None:
    import pyogrio

    path = tmp_path / f"tracts{suffix}"
    pyogrio.raw.write(
        path,
        geometry=shapely.to_wkb(_utm_squares()),
        field_data=[
            np.array(["27053000100", "27053000200"], dtype=object),
            np.array(["North", "South"], dtype=object),
        ],
        fields=["GEOID", "NAME"],
        geometry_type="Polygon",
        crs="EPSG:26915",
        driver=driver,
    )
    population = tmp_path / "population.csv"
    population.write_text('geoid,total\n27053000100,1234\n27053000200,"2,500"\n')
    data = tmp_path / "hub"
    fields = LayerFields(
        id="GEOID",
        name="NAME",
        population="total",
        population_csv=population,
        population_key="geoid",
    )
    layer = add_layer(data, path, "tract", fields=fields)
    assert layer.ids == ("27053000100", "27053000200")
    assert layer.names == ("North", "South")
    assert layer.population.tolist() == [1234, 2500]
    lon0, lat0, lon1, lat1 = layer.bounds
    assert -93.28 < lon0 < lon1 < -93.24 and 44.97 < lat0 < lat1 < 44.99  # WGS84 degrees
    stored = json.loads((data / "areas" / "tract.geojson").read_text())
    assert stored["type"] == "FeatureCollection"
    # The same file again changes nothing; a missing population is named.
    add_layer(data, path, "tract", fields=fields)
    population.write_text("geoid,total\n27053000100,1234\n")
    with pytest.raises(AreaLayerError, match="no population for area '27053000200'"):
        add_layer(tmp_path / "other", path, "tract", fields=fields)


def test_cli_adds_a_layer_and_brings_the_lake_up_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WELLBEAT_DATABASE_URL", raising=False)  # a bare lake: no hub database
    data = _hub_without_layers(tmp_path)
    source = write_grid_layer(tmp_path / "new", "beat")
    runner = CliRunner()
    args = ["areas", "add", str(source), "--data-dir", str(data), "--json"]
    first = json.loads(runner.invoke(cli, args, catch_exceptions=False).output)
    assert first["layer"] == "beat" and first["batches_revised"] == 2
    assert first["located"] == {"beat": 49} and first["audited"] is False  # a bare lake
    second = json.loads(runner.invoke(cli, args, catch_exceptions=False).output)
    assert second["batches_revised"] == 0 and second["batches_current"] == 2


@pytest.mark.django_db
def test_a_hub_records_the_lake_update_in_its_audit_log(
    hub_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wellbeat.web.audit.models import AuditEntry

    monkeypatch.setattr("wellbeat.web.bootstrap.has_hub_database", lambda _: True)
    ingest_batch(write_batch(tmp_path / "a", [good_row(1)]), hub_data_dir, now=NOW)
    source = write_grid_layer(tmp_path / "new", "beat")
    args = ["areas", "add", str(source), "--data-dir", str(hub_data_dir), "--json"]
    out = json.loads(CliRunner().invoke(cli, args, catch_exceptions=False).output)
    assert out["audited"] is True
    entry = AuditEntry.objects.get(action="lake.areas_reassigned")
    assert entry.actor_username == "cli:areas-add beat"
    assert entry.details["batches_revised"] == 1 and entry.details["layers"] == ["beat"]
