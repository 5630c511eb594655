"""Build a synthetic city on disk: area layers, every agency's extract and profile, ground truth.

``build_city(out, seed, scale)`` is the one entry point. It plans the world once, then generates
and writes the span chunk by chunk, so memory stays bounded at the large scales. The same seed
and scale always give byte-identical files.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from wellbeat import __version__
from wellbeat.events.schema import Sector
from wellbeat.synth import stops as stop_model
from wellbeat.synth.episodes import (
    FREQUENT_UTILIZER,
    HOTSPOT,
    SPIKE_BASE,
    Episodes,
    World,
    generate_chunk,
    plan_world,
    rng_for,
    to_utc,
)
from wellbeat.synth.geography import CITY_NAME, TIMEZONE
from wellbeat.synth.population import People
from wellbeat.synth.scales import get_scale
from wellbeat.synth.scenarios import ALL_SCENARIOS, SCENARIO_INDEX, SUBTYPES
from wellbeat.synth.sources import AGENCIES, SOURCES
from wellbeat.synth.sources.base import RenderContext, Rendered, Source

CITY_FORMAT = "wellbeat-synth-city/1"
_SOURCE_STREAM = 100


@dataclass(frozen=True)
class SourceInfo:
    """One extract written for one agency, and the profile that maps it."""

    agency: str
    name: str
    connector: str
    sector: str
    kind: str
    format: str
    extract: Path
    profile: Path
    rows: int

    @property
    def key(self) -> str:
        """``AGENCY/source``, the name used in ground truth and planted.json."""
        return f"{self.agency}/{self.name}"


@dataclass(frozen=True)
class AgencyInfo:
    """An agency of the synthetic city and the sources it exports."""

    code: str
    name: str
    sector: str
    sources: tuple[SourceInfo, ...]


@dataclass(frozen=True)
class City:
    """What ``build_city`` wrote and where."""

    root: Path
    seed: int
    scale: str
    start: date
    end: date
    timezone: str
    agencies: tuple[AgencyInfo, ...]
    layers: dict[str, Path]
    people: Path
    events: Path
    planted: Path
    records: int

    def sources(self) -> tuple[SourceInfo, ...]:
        """Every source of every agency, in city.json order."""
        return tuple(s for agency in self.agencies for s in agency.sources)

    def source(self, agency: str, name: str) -> SourceInfo:
        """The source ``name`` of ``agency``; KeyError names the ones that exist."""
        for info in self.sources():
            if info.agency == agency and info.name == name:
                return info
        known = ", ".join(s.key for s in self.sources())
        raise KeyError(f"no source {agency}/{name} in the city (sources: {known})")

    def planted_truth(self) -> dict[str, Any]:
        """The planted signals as recorded in ground_truth/planted.json."""
        result: dict[str, Any] = json.loads(self.planted.read_text())
        return result


class _ExtractWriter:
    """Appends chunks of one extract in its format (CSV, Parquet or NDJSON)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.format = fmt
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._text: IO[bytes] | None = None

    def write(self, table: pa.Table) -> None:
        if self._schema is None:
            self._schema = table.schema
        else:
            table = table.cast(self._schema)
        if self.format == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._parquet.write_table(table)
        elif self.format == "csv":
            first = self._text is None
            if self._text is None:
                self._text = self.path.open("wb")
            options = pacsv.WriteOptions(include_header=first, quoting_style="needed")
            pacsv.write_csv(table, self._text, options)
        else:
            if self._text is None:
                self._text = self.path.open("wb")
            if table.num_rows:
                text = table.to_pandas().to_json(orient="records", lines=True, force_ascii=False)
                # pandas escapes "/" as "\/"; valid JSON, but no agency system writes it so.
                text = text.replace("\\/", "/")
                self._text.write((text if text.endswith("\n") else text + "\n").encode())
        self.rows += table.num_rows

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._text is not None:
            self._text.close()


_TRUTH_COLUMNS = (
    "agency", "source", "source_row", "event_id", "person_id", "episode_id", "scenario",
    "subtype", "planted", "occurred_at", "neighbourhood",
)  # fmt: skip


class _Truth:
    """Accumulates ground truth over chunks: the event map, counts for planted.json."""

    def __init__(self, world: World, path: Path) -> None:
        self.world = world
        self.file = path.open("wb")
        self.first = True
        self.people_ids = world.people.ids
        self.planted_rows: Counter[tuple[int, str]] = Counter()
        self.person_rows: dict[int, Counter[str]] = defaultdict(Counter)
        self.spike_paths: Counter[tuple[int, str]] = Counter()
        self.ed_assaults: Counter[tuple[str, bool]] = Counter()
        self.defects: dict[str, list[str]] = defaultdict(list)

    def add_episodes(self, ep: Episodes) -> None:
        spike = ep.planted >= SPIKE_BASE
        for label in np.unique(ep.planted[spike]):
            mine = ep.planted == label
            self.spike_paths[(int(label), "episodes")] += int(mine.sum())
            self.spike_paths[(int(label), "ems_naloxone_runs")] += int(
                (mine & ep.ems & (ep.naloxone_doses > 0)).sum()
            )
            self.spike_paths[(int(label), "deaths")] += int((mine & ep.fatal).sum())
        assault = (ep.scenario == SCENARIO_INDEX["assault"]) & ep.ed
        for where, mask in (
            ("hotspot", ep.planted == HOTSPOT),
            ("elsewhere", ep.planted != HOTSPOT),
        ):
            self.ed_assaults[(where, False)] += int((assault & mask).sum())
            self.ed_assaults[(where, True)] += int((assault & mask & ep.police).sum())

    def add_rows(self, source: Source, start_row: int, rows: Rendered, ep: Episodes) -> None:
        key = f"{source.agency}/{source.name}"
        n = len(rows)
        planted = ep.planted[rows.episode]
        for label, count in zip(*np.unique(planted, return_counts=True), strict=True):
            if label:
                self.planted_rows[(int(label), key)] += int(count)
        person = ep.person[rows.episode]
        utilizer = planted == FREQUENT_UTILIZER
        utilizer |= np.isin(person, self.world.frequent_utilizers)
        for p, count in zip(*np.unique(person[utilizer], return_counts=True), strict=True):
            self.person_rows[int(p)][key] += int(count)
        for name, event_ids in rows.defects.items():
            self.defects[f"{key}: {name}"].extend(str(e) for e in event_ids)

        label_text = np.full(n, "", dtype=object)
        label_text[planted == HOTSPOT] = "hotspot"
        label_text[planted == FREQUENT_UTILIZER] = "frequent_utilizer"
        for spike in self.world.spikes:
            label_text[planted == spike.label] = f"spike:{_spike_id(spike.label)}"
        utc = to_utc(rows.occurred)
        table = pa.table(
            {
                "agency": pa.array(np.full(n, source.agency)),
                "source": pa.array(np.full(n, source.name)),
                "source_row": pa.array(np.arange(start_row + 1, start_row + n + 1)),
                "event_id": pa.array(rows.event_id.astype(object), pa.string()),
                "person_id": pa.array(self.people_ids[person].astype(object), pa.string()),
                "episode_id": pa.array(ep.id[rows.episode]),
                "scenario": pa.array(_SCENARIO_KEYS[ep.scenario[rows.episode]].astype(object)),
                "subtype": pa.array(_SUBTYPE_KEYS[ep.subtype[rows.episode]].astype(object)),
                "planted": pa.array(label_text, pa.string()),
                "occurred_at": pa.array(
                    np.datetime_as_string(utc, unit="s").astype(object) + "Z", pa.string()
                ),
                "neighbourhood": pa.array(
                    np.asarray(self.world.city.neighbourhoods.ids)[
                        ep.neighbourhood[rows.episode]
                    ].astype(object),
                    pa.string(),
                ),
            }
        )
        options = pacsv.WriteOptions(include_header=self.first, quoting_style="needed")
        pacsv.write_csv(table, self.file, options)
        self.first = False

    def close(self) -> None:
        self.file.close()


_SCENARIO_KEYS = np.array([s.key for s in ALL_SCENARIOS])
_SUBTYPE_KEYS = np.array([t.key for t in SUBTYPES])


def _spike_id(label: int) -> str:
    return f"S{label - SPIKE_BASE + 1}"


def build_city(
    out: Path,
    seed: int = 42,
    scale: str = "small",
    *,
    progress: bool = False,
    end: date | None = None,
) -> City:
    """Write a complete synthetic city under ``out`` and describe what was written.

    The city's two years end on ``end`` (default: the seed's own date, see ``span_for_seed``);
    the same seed, scale and end always give the same city.

    ``scale`` is a key of SCALES; a ValueError names the valid ones. ``out`` may exist; files
    the city writes are replaced.
    """
    spec = get_scale(scale)
    out = Path(out)
    world = plan_world(seed, spec, end)
    layers = world.city.write_layers(out / "areas")
    truth_dir = out / "ground_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)

    writers: dict[str, _ExtractWriter] = {}
    for source in SOURCES:
        folder = out / "agencies" / source.agency / source.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "profile.yaml").write_text(source.profile_yaml())
        writers[_key(source)] = _ExtractWriter(folder / source.extract_name, source.format)

    truth = _Truth(world, truth_dir / "events.csv")
    try:
        for index, episodes in _chunks(world, progress):
            people = world.all_people()
            truth.people_ids = people.ids
            truth.add_episodes(episodes)
            for number, source in enumerate(SOURCES):
                writer = writers[_key(source)]
                context = RenderContext(
                    world=world,
                    episodes=episodes,
                    people=people,
                    rng=rng_for(seed, _SOURCE_STREAM + number, index),
                    first_number=writer.rows,
                )
                rendered = source.render(context)
                truth.add_rows(source, writer.rows, rendered, episodes)
                writer.write(rendered.table())
    finally:
        for writer in writers.values():
            writer.close()
        truth.close()

    people = world.all_people()
    people_path = truth_dir / "people.csv"
    _write_people(people, world, people_path)
    planted_path = truth_dir / "planted.json"
    planted_path.write_text(
        json.dumps(_planted(world, truth, people), indent=2, ensure_ascii=False) + "\n"
    )
    city = City(
        root=out,
        seed=seed,
        scale=scale,
        start=world.start,
        end=world.end,
        timezone=TIMEZONE,
        agencies=tuple(
            AgencyInfo(
                code=code,
                name=name,
                sector=sector,
                sources=tuple(
                    _source_info(out, s, writers[_key(s)].rows) for s in SOURCES if s.agency == code
                ),
            )
            for code, (name, sector) in AGENCIES.items()
        ),
        layers=layers,
        people=people_path,
        events=truth_dir / "events.csv",
        planted=planted_path,
        records=sum(w.rows for w in writers.values()),
    )
    (out / "city.json").write_text(json.dumps(_city_json(city), indent=2) + "\n")
    return city


def _key(source: Source) -> str:
    return f"{source.agency}/{source.name}"


def _chunks(world: World, progress: bool) -> Iterator[tuple[int, Episodes]]:
    bounds = world.chunk_bounds()
    iterator: Any = enumerate(bounds)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(bounds), desc="synth", unit="chunk")
    for index, (first, last) in iterator:
        yield index, generate_chunk(world, index, first, last)


def _source_info(root: Path, source: Source, rows: int) -> SourceInfo:
    folder = root / "agencies" / source.agency / source.name
    return SourceInfo(
        agency=source.agency,
        name=source.name,
        connector=source.connector,
        sector=source.sector,
        kind=source.kind,
        format=source.format,
        extract=folder / source.extract_name,
        profile=folder / "profile.yaml",
        rows=rows,
    )


def _write_people(people: People, world: World, path: Path) -> None:
    """Every person with their TRUE identity (what linkage should recover)."""
    utilizer = np.zeros(len(people), bool)
    utilizer[world.frequent_utilizers] = True
    decedent = np.zeros(len(people), bool)
    decedent[world.residents :] = True
    table = pa.table(
        {
            "person_id": pa.array(people.ids.astype(object), pa.string()),
            "first_name": pa.array(people.first.astype(object), pa.string()),
            "last_name": pa.array(people.last.astype(object), pa.string()),
            "dob": pa.array(np.datetime_as_string(people.dob, unit="D").astype(object)),
            "sex": pa.array(people.sex.astype(object), pa.string()),
            "ssn": pa.array(people.ssn.astype(object), pa.string()),
            "phone": pa.array(people.phone.astype(object), pa.string()),
            "alt_phone": pa.array(people.alt_phone.astype(object), pa.string()),
            "address": pa.array(people.address.astype(object), pa.string()),
            "zip": pa.array(people.zip.astype(object), pa.string()),
            "home_neighbourhood": pa.array(
                np.asarray(world.city.neighbourhoods.ids)[people.home].astype(object), pa.string()
            ),
            "unsheltered": pa.array(people.unsheltered),
            "frequent_utilizer": pa.array(utilizer),
            "decedent": pa.array(decedent),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def _sector_of(key: str) -> str:
    for source in SOURCES:
        if _key(source) == key:
            return source.sector
    return Sector.COMMUNITY.value


def _planted(world: World, truth: _Truth, people: People) -> dict[str, Any]:
    city = world.city
    nb_ids = city.neighbourhoods.ids
    nb_names = city.neighbourhoods.names

    def rows_for(label: int) -> dict[str, int]:
        return {
            key: count for (lab, key), count in sorted(truth.planted_rows.items()) if lab == label
        }

    spikes = [
        {
            "id": _spike_id(spike.label),
            "neighbourhoods": [nb_ids[a] for a in spike.neighbourhoods],
            "neighbourhood_names": [nb_names[a] for a in spike.neighbourhoods],
            "start": spike.start.isoformat(),
            "end": spike.end.isoformat(),
            "days": spike.days,
            "drug": "fentanyl (85%) and heroin: T40.411A / T40.1X1A",
            "planted_episodes": spike.episodes,
            "baseline_expected_episodes": float(spike.baseline_expected),
            "ems_naloxone_runs": truth.spike_paths[(spike.label, "ems_naloxone_runs")],
            "deaths": truth.spike_paths[(spike.label, "deaths")],
            "records": rows_for(spike.label),
        }
        for spike in world.spikes
    ]
    hotspot = world.hotspot

    def share(where: str) -> float:
        total = truth.ed_assaults[(where, False)]
        return round(truth.ed_assaults[(where, True)] / total, 3) if total else 0.0

    program = world.program
    program_nbhds = np.flatnonzero(np.isin(city.district_of, program.districts))
    counts = world.program_counts
    utilizers = []
    for p in world.frequent_utilizers:
        by_source = dict(sorted(truth.person_rows[int(p)].items()))
        by_sector: Counter[str] = Counter()
        for key, count in by_source.items():
            by_sector[_sector_of(key)] += count
        utilizers.append(
            {
                "person_id": str(people.ids[p]),
                "first_name": str(people.first[p]),
                "last_name": str(people.last[p]),
                "dob": str(people.dob[p]),
                "sex": str(people.sex[p]),
                "ssn": str(people.ssn[p]),
                "phone": str(people.phone[p]),
                "address": str(people.address[p]),
                "home_neighbourhood": nb_ids[int(people.home[p])],
                "records": sum(by_source.values()),
                "by_sector": dict(sorted(by_sector.items())),
                "by_source": by_source,
            }
        )
    return {
        "format": CITY_FORMAT,
        "seed": world.seed,
        "scale": world.scale.name,
        "timezone": TIMEZONE,
        "spikes": spikes,
        "hotspot": {
            "neighbourhoods": [nb_ids[a] for a in hotspot.neighbourhoods],
            "neighbourhood_names": [nb_names[a] for a in hotspot.neighbourhoods],
            "start": hotspot.start.isoformat(),
            "end": hotspot.end.isoformat(),
            "extra_assaults_per_day": round(hotspot.daily_rate, 4),
            "planted_episodes": int((world.planned.planted == HOTSPOT).sum()),
            "police_attendance_probability": hotspot.p_police,
            "police_share_of_ed_treated_assaults": {
                "hotspot": share("hotspot"),
                "elsewhere": share("elsewhere"),
            },
            "records": rows_for(HOTSPOT),
        },
        "program": {
            "name": "co-responder",
            "description": (
                "A clinician rides with police to crisis calls in the programme districts from "
                "the start date; repeat crisis episodes there fall by the reduction share."
            ),
            "start": program.start.isoformat(),
            "districts": [city.districts.ids[d] for d in program.districts],
            "district_names": [city.districts.names[d] for d in program.districts],
            "beats": sorted({city.beats.ids[city.beat_of[a]] for a in program_nbhds}),
            "neighbourhoods": [nb_ids[a] for a in program_nbhds],
            "repeat_reduction": program.reduction,
            "repeat_crisis_episodes": {
                "program": {
                    "before": counts.get("program_before", 0),
                    "after": counts.get("program_after", 0),
                },
                "comparison": {
                    "before": counts.get("comparison_before", 0),
                    "after": counts.get("comparison_after", 0),
                },
                "prevented": counts.get("prevented", 0),
            },
        },
        "frequent_utilizers": utilizers,
        "stops": stop_model.planted(),
        "data_quality": {key: ids for key, ids in sorted(truth.defects.items())},
    }


def _city_json(city: City) -> dict[str, Any]:
    def rel(path: Path) -> str:
        return path.relative_to(city.root).as_posix()

    return {
        "format": CITY_FORMAT,
        "name": CITY_NAME,
        "wellbeat_version": __version__,
        "seed": city.seed,
        "scale": city.scale,
        "start": city.start.isoformat(),
        "end": city.end.isoformat(),
        "timezone": city.timezone,
        "records": city.records,
        "layers": {name: rel(path) for name, path in city.layers.items()},
        "agencies": [
            {
                "code": agency.code,
                "name": agency.name,
                "sector": agency.sector,
                "sources": [
                    {
                        "name": s.name,
                        "connector": s.connector,
                        "kind": s.kind,
                        "format": s.format,
                        "extract": rel(s.extract),
                        "profile": rel(s.profile),
                        "rows": s.rows,
                    }
                    for s in agency.sources
                ],
            }
            for agency in city.agencies
        ],
        "ground_truth": {
            "people": rel(city.people),
            "events": rel(city.events),
            "planted": rel(city.planted),
        },
    }
