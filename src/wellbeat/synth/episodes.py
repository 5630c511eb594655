"""Episodes through time and space, with the planted truth analysts should find.

``plan_world`` fixes everything decided once for the whole span: the geography, the residents,
the overdose spikes, the violence hotspot, the co-responder programme and the frequent
utilizers (with their planned episodes). ``generate_chunk`` then draws the background episodes
of one time slice, mixes in the planned ones that fall in it, applies the programme's effect and
decides each episode's path through the agencies. Everything is drawn from generators seeded by
``(seed, purpose, chunk)``, so the same seed and scale give the same city.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields
from datetime import date, timedelta

import numpy as np
import pandas as pd

from wellbeat.synth.geography import CENTER_LON, TIMEZONE, CityMap, build_city_map
from wellbeat.synth.population import People, build_people, concat_people
from wellbeat.synth.scales import Scale
from wellbeat.synth.scenarios import (
    ALL_SCENARIOS,
    ASSAULT,
    IMPROVED,
    NO_NALOXONE,
    OFFICER_INITIATED,
    OVERDOSE,
    SCENARIO_INDEX,
    SCENARIOS,
    SUBTYPE_OFFSET,
    UNCHANGED,
    WORSE,
    Scenario,
    subtype_column,
    subtype_index,
)

DEFAULT_SEED = 42
SPAN_DAYS_BEFORE = 2
"""The span covers the two calendar years before its end date."""

NOT_PLANTED = 0
HOTSPOT = 1
FREQUENT_UTILIZER = 2
SPIKE_BASE = 10
"""Planted labels: spike k (0-based) is SPIKE_BASE + k."""

SMH, CGH = 0, 1
"""Which emergency department an ED visit goes to."""

# Stream numbers for independent random generators.
_PLAN, _CHUNK, _PATHS, _DECEDENTS, _OFFICER_INITIATED = 1, 2, 3, 4, 5

OFFICER_INITIATED_ID_BASE = 1_000_000_000
"""Officer-initiated episodes are numbered from here, so the others keep their numbers."""


def span_for_seed(seed: int, end: date | None = None) -> tuple[date, date]:
    """Two years ending on ``end``; without one, on a date fixed by the seed: the default seed
    gives 2024-01-01..2025-12-31.

    Other seeds end (seed - 42) mod 365 days earlier, so analyses cannot quietly depend on one
    calendar. The demo passes today's date so its city's period ends on the day it runs.
    """
    if end is None:
        end = date(2025, 12, 31) - timedelta(days=(seed - DEFAULT_SEED) % 365)
    # 29 February has no twin two years earlier: the span then starts on 1 March.
    day = min(end.day, 28) if end.month == 2 else end.day
    start = date(end.year - SPAN_DAYS_BEFORE, end.month, day) + timedelta(days=1)
    return start, end


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent generator for one purpose (and chunk) of one seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


def to_utc(local: np.ndarray) -> np.ndarray:
    """Naive local times (datetime64[s]) in the city's zone -> UTC datetime64[s].

    An ambiguous time (the repeated hour in November) is read as daylight time, as Python's
    ``zoneinfo`` does with fold=0; a time in the skipped hour in March moves forward an hour.
    """
    index = pd.DatetimeIndex(local)
    aware = index.tz_localize(
        TIMEZONE, ambiguous=np.ones(len(index), dtype=bool), nonexistent=timedelta(hours=1)
    )
    return aware.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")


def to_local(utc: np.ndarray) -> np.ndarray:
    """UTC datetime64[s] -> naive local times in the city's zone."""
    index = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(TIMEZONE).tz_localize(None)
    return index.to_numpy().astype("datetime64[s]")


def valid_local(local: np.ndarray) -> np.ndarray:
    """Local times that exist on the clock (times in the skipped March hour move forward)."""
    return to_local(to_utc(local))


@dataclass
class Episodes:
    """Columnar episodes: every array has one entry per episode."""

    scenario: np.ndarray  # int8, index into ALL_SCENARIOS
    subtype: np.ndarray  # int16, index into SUBTYPES
    time: np.ndarray  # datetime64[s], naive local
    neighbourhood: np.ndarray  # int32
    lon: np.ndarray
    lat: np.ndarray
    person: np.ndarray  # int64
    planted: np.ndarray  # int16
    at_home: np.ndarray  # bool
    force_fatal: np.ndarray  # bool: planted deaths (each spike kills at least one person)
    id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fatal: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    police: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    coresponder: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    nibrs: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    ems: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    transported: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    ed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    ed_site: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    ed_arrival: np.ndarray = field(default_factory=lambda: np.zeros(0, "datetime64[s]"))
    cardiff: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    crisis_team: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    naloxone_doses: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    naloxone_response: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    sud_followup: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    outreach_followup: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.scenario)

    def take(self, index: np.ndarray) -> Episodes:
        """The episodes at ``index`` (positions or a boolean mask), pathways included."""
        return Episodes(
            **{
                f.name: (
                    getattr(self, f.name)[index]
                    if len(getattr(self, f.name)) == len(self)
                    else getattr(self, f.name)
                )
                for f in fields(Episodes)
            }
        )

    @staticmethod
    def concat(parts: list[Episodes]) -> Episodes:
        """Episodes of all ``parts`` in order (before pathways are assigned)."""
        return Episodes(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(Episodes)
            }
        )


@dataclass(frozen=True)
class Spike:
    """A bad batch: extra opioid overdoses in adjacent neighbourhoods for a few days."""

    label: int
    neighbourhoods: tuple[int, ...]
    start: date
    days: int
    episodes: int
    baseline_expected: float

    @property
    def end(self) -> date:
        """Last day of the spike (inclusive)."""
        return self.start + timedelta(days=self.days - 1)


@dataclass(frozen=True)
class Hotspot:
    """Extra night-time assaults the EDs treat but police rarely hear about."""

    neighbourhoods: tuple[int, ...]
    start: date
    end: date
    daily_rate: float
    p_police: float


@dataclass(frozen=True)
class Program:
    """A co-responder programme (clinician with police) that lowers repeat crisis episodes."""

    start: date
    districts: tuple[int, ...]
    reduction: float
    """Share of repeat crisis episodes in programme districts that no longer happen."""


@dataclass
class World:
    """Everything fixed for the whole span, plus counters carried between chunks."""

    seed: int
    scale: Scale
    start: date
    end: date
    city: CityMap
    people: People
    residents: int
    spikes: tuple[Spike, ...]
    hotspot: Hotspot
    program: Program
    frequent_utilizers: np.ndarray
    planned: Episodes
    person_cdf: dict[int, np.ndarray]
    area_weights: dict[int, np.ndarray]
    decedents: list[People] = field(default_factory=list)
    crisis_seen: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    next_episode: int = 1
    next_officer_initiated: int = OFFICER_INITIATED_ID_BASE
    program_counts: dict[str, int] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def chunk_bounds(self) -> list[tuple[date, date]]:
        """Consecutive date windows (inclusive) the span is generated in."""
        edges = np.linspace(0, self.days, self.scale.chunks + 1).round().astype(int)
        return [
            (
                self.start + timedelta(days=int(a)),
                self.start + timedelta(days=int(b) - 1),
            )
            for a, b in itertools.pairwise(edges)
        ]

    def all_people(self) -> People:
        """Residents plus everyone who died in an episode (each death is a new person)."""
        return concat_people([self.people, *self.decedents])


def _day_weights(scenario: Scenario, days: np.ndarray) -> np.ndarray:
    """Relative expected count per day: season times day of week (mean 1 over a year)."""
    day_of_year = (days - days.astype("datetime64[Y]")).astype(int)
    season = 1 + scenario.seasonal_amplitude * np.cos(
        2 * math.pi * (day_of_year - scenario.seasonal_peak_day) / 365.25
    )
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    dow = np.asarray(scenario.days)
    return season * (dow / dow.mean())[weekday]


def _sample_times(
    scenario: Scenario, days: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    day = days[rng.choice(len(days), n, p=weights / weights.sum())]
    hour = rng.choice(24, n, p=np.asarray(scenario.hours))
    second = rng.integers(0, 3600, n)
    times = day.astype("datetime64[s]") + (hour * 3600 + second).astype("timedelta64[s]")
    return valid_local(times)


def _sample_subtypes(scenario_index: int, n: int, rng: np.random.Generator) -> np.ndarray:
    scenario = ALL_SCENARIOS[scenario_index]
    weights = np.array([t.weight for t in scenario.subtypes])
    local = rng.choice(len(weights), n, p=weights / weights.sum())
    return (SUBTYPE_OFFSET[scenario_index] + local).astype(np.int16)


def _places(
    world_city: CityMap,
    people: People,
    person: np.ndarray,
    p_home: float,
    area_weights: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where each episode happens: at the person's home, or somewhere drawn by area weights."""
    n = len(person)
    at_home = rng.random(n) < p_home
    elsewhere = rng.choice(len(area_weights), n, p=area_weights / area_weights.sum())
    neighbourhood = np.where(at_home, people.home[person], elsewhere).astype(np.int32)
    lon, lat = world_city.sample_points(neighbourhood, rng)
    lon = np.where(at_home, people.home_lon[person], lon)
    lat = np.where(at_home, people.home_lat[person], lat)
    return neighbourhood, lon, lat, at_home


def _episodes(
    scenario_index: int,
    subtype: np.ndarray,
    time: np.ndarray,
    place: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    person: np.ndarray,
    planted: int,
) -> Episodes:
    neighbourhood, lon, lat, at_home = place
    n = len(person)
    return Episodes(
        scenario=np.full(n, scenario_index, np.int8),
        subtype=subtype.astype(np.int16),
        time=time.astype("datetime64[s]"),
        neighbourhood=neighbourhood.astype(np.int32),
        lon=lon,
        lat=lat,
        person=person.astype(np.int64),
        planted=np.full(n, planted, np.int16),
        at_home=at_home,
        force_fatal=np.zeros(n, bool),
    )


def plan_world(seed: int, scale: Scale, end: date | None = None) -> World:
    """Fix the city, its people and every planted signal for ``seed`` at ``scale``, over the
    two years ending on ``end`` (default: the seed's own end date, see ``span_for_seed``)."""
    rng = rng_for(seed, _PLAN)
    start, end = span_for_seed(seed, end)
    city = build_city_map(rng)
    expected_episodes = sum(s.daily_rate for s in SCENARIOS) * scale.rate_factor * 731
    residents = int(min(max(2000, 0.5 * expected_episodes), city.neighbourhoods.population.sum()))
    people = build_people(residents, city, rng)

    # Vulnerability is shared across the health and crisis scenarios, so the same people recur
    # in several sectors, as they do in real linked data.
    vulnerability = rng.gamma(0.35, 1.0, residents)
    deprivation = city.deprivation[people.home]
    person_cdf: dict[int, np.ndarray] = {}
    area_weights: dict[int, np.ndarray] = {}
    for i, scenario in enumerate(ALL_SCENARIOS):
        weight = vulnerability**scenario.concentration * np.exp(
            scenario.deprivation_effect * deprivation
        )
        cdf = np.cumsum(weight)
        person_cdf[i] = cdf / cdf[-1]
        area_weights[i] = city.neighbourhoods.population * np.exp(
            scenario.deprivation_effect * city.deprivation
        )

    world = World(
        seed=seed,
        scale=scale,
        start=start,
        end=end,
        city=city,
        people=people,
        residents=residents,
        spikes=(),
        hotspot=Hotspot((), start, end, 0.0, 0.0),
        program=Program(start, (), 0.0),
        frequent_utilizers=np.zeros(0, np.int64),
        planned=_no_episodes(),
        person_cdf=person_cdf,
        area_weights=area_weights,
        crisis_seen=np.zeros(residents, bool),
    )
    spikes, spike_episodes = _plan_spikes(world, rng)
    hotspot, hotspot_episodes = _plan_hotspot(world, rng)
    utilizers, utilizer_episodes = _plan_frequent_utilizers(world, rng)
    world.spikes = spikes
    world.hotspot = hotspot
    world.frequent_utilizers = utilizers
    world.planned = Episodes.concat([spike_episodes, hotspot_episodes, utilizer_episodes])
    # The programme starts between 45% and 55% of the way through, in two of four districts.
    offset = int(world.days * rng.uniform(0.45, 0.55))
    districts = tuple(sorted(int(d) for d in rng.choice(len(city.districts), 2, replace=False)))
    world.program = Program(start + timedelta(days=offset), districts, 0.4)
    return world


def _no_episodes() -> Episodes:
    empty_int = np.zeros(0, np.int64)
    return _episodes(
        0,
        empty_int,
        np.zeros(0, "datetime64[s]"),
        (empty_int, np.zeros(0), np.zeros(0), np.zeros(0, bool)),
        empty_int,
        NOT_PLANTED,
    )


def _draw_people(world: World, scenario_index: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.searchsorted(world.person_cdf[scenario_index], rng.random(n)).astype(np.int64)


def _plan_spikes(world: World, rng: np.random.Generator) -> tuple[tuple[Spike, ...], Episodes]:
    city = world.city
    count = world.scale.spikes
    overdose = SCENARIO_INDEX["overdose"]
    seeds = rng.choice(np.flatnonzero(city.deprivation >= 0.5), count, replace=False)
    # One spike per equal segment of the span, after a 60-day baseline and clear of the end.
    usable = world.days - 70
    segment = usable // count
    area_share = world.area_weights[overdose] / world.area_weights[overdose].sum()
    spikes: list[Spike] = []
    parts: list[Episodes] = []
    for k, seed_area in enumerate(seeds):
        neighbours = city.neighbours[int(seed_area)]
        extra = rng.choice(neighbours, min(len(neighbours), int(rng.integers(1, 4))), replace=False)
        areas = tuple(sorted(int(a) for a in (seed_area, *extra)))
        days = int(rng.integers(2, 5))
        start = world.start + timedelta(days=60 + k * segment + int(rng.integers(0, segment - 5)))
        expected = OVERDOSE.daily_rate * world.scale.rate_factor * area_share[list(areas)].sum()
        expected *= days
        n = max(20, round(8 * expected))
        spike = Spike(SPIKE_BASE + k, areas, start, days, n, round(expected, 3))
        spikes.append(spike)

        first_day = np.datetime64(start, "D")
        day = first_day + rng.integers(0, days, n).astype("timedelta64[D]")
        hour = rng.choice(24, n, p=np.asarray(OVERDOSE.hours))
        time = valid_local(
            day.astype("datetime64[s]")
            + (hour * 3600 + rng.integers(0, 3600, n)).astype("timedelta64[s]")
        )
        population = city.neighbourhoods.population[list(areas)].astype(float)
        neighbourhood = np.asarray(areas)[
            rng.choice(len(areas), n, p=population / population.sum())
        ]
        lon, lat = city.sample_points(neighbourhood, rng)
        # Most victims live nearby; the rest came in to buy.
        local = np.isin(world.people.home, areas)
        local_people = np.flatnonzero(local)
        nearby = rng.random(n) < 0.6
        person = np.where(
            nearby & (len(local_people) > 0),
            local_people[rng.integers(0, max(1, len(local_people)), n)],
            _draw_people(world, overdose, n, rng),
        )
        at_home = nearby & (rng.random(n) < 0.4)
        lon = np.where(at_home, world.people.home_lon[person], lon)
        lat = np.where(at_home, world.people.home_lat[person], lat)
        neighbourhood = np.where(at_home, world.people.home[person], neighbourhood)
        subtype = np.where(
            rng.random(n) < 0.85,
            subtype_index("overdose", "fentanyl"),
            subtype_index("overdose", "heroin"),
        )
        planned = _episodes(
            overdose, subtype, time, (neighbourhood, lon, lat, at_home), person, spike.label
        )
        planned.force_fatal[0] = True
        parts.append(planned)
    return tuple(spikes), Episodes.concat(parts)


def _plan_hotspot(world: World, rng: np.random.Generator) -> tuple[Hotspot, Episodes]:
    city = world.city
    assault = SCENARIO_INDEX["assault"]
    # A nightlife strip: a middling-deprivation neighbourhood near the centre and a neighbour.
    centroids = np.array([p.centroid.x for p in city.neighbourhoods.polygons])
    middling = np.flatnonzero((city.deprivation > 0.3) & (city.deprivation < 0.7))
    core = int(middling[np.argmin(np.abs(centroids[middling] - CENTER_LON))])
    partner = int(rng.choice(city.neighbours[core]))
    areas = tuple(sorted((core, partner)))
    daily_rate = 0.7 * world.scale.rate_factor
    hotspot = Hotspot(areas, world.start, world.end, daily_rate, 0.1)

    days = np.arange(
        np.datetime64(world.start, "D"), np.datetime64(world.end, "D") + 1, dtype="datetime64[D]"
    )
    weights = _day_weights(ASSAULT, days)
    n = int(rng.poisson(daily_rate * weights.sum()))
    time = _sample_times(ASSAULT, days, weights, n, rng)
    neighbourhood = np.asarray(areas)[rng.integers(0, 2, n)]
    lon, lat = city.sample_points(neighbourhood, rng)
    person = _draw_people(world, assault, n, rng)
    keys = ("unarmed", "glass", "knife", "blunt")
    chosen = rng.choice(len(keys), n, p=[0.55, 0.2, 0.15, 0.1])
    subtype = np.array([subtype_index("assault", k) for k in keys])[chosen]
    place = (neighbourhood, lon, lat, np.zeros(n, bool))
    return hotspot, _episodes(assault, subtype, time, place, person, HOTSPOT)


def _plan_frequent_utilizers(world: World, rng: np.random.Generator) -> tuple[np.ndarray, Episodes]:
    """People with many contacts across sectors: crises, overdoses, intoxication, injuries."""
    city = world.city
    age = (np.datetime64(world.start, "D") - world.people.dob).astype(int) / 365.25
    deprived_residents = np.flatnonzero(
        (city.deprivation[world.people.home] >= 0.6) & (age >= 18) & (age < 65)
    )
    utilizers = np.sort(
        rng.choice(deprived_residents, world.scale.frequent_utilizers, replace=False)
    ).astype(np.int64)
    counts = rng.integers(14, 36, len(utilizers))
    person = np.repeat(utilizers, counts)
    n = len(person)
    mix = {"crisis": 0.4, "overdose": 0.25, "intoxication": 0.2, "medical": 0.1, "assault": 0.05}
    keys = list(mix)
    scenario = np.asarray([SCENARIO_INDEX[k] for k in keys])[
        rng.choice(len(keys), n, p=list(mix.values()))
    ]
    days = np.arange(
        np.datetime64(world.start, "D"), np.datetime64(world.end, "D") + 1, dtype="datetime64[D]"
    )
    parts: list[Episodes] = []
    for s in np.unique(scenario):
        rows = np.flatnonzero(scenario == s)
        spec = SCENARIOS[int(s)]
        time = _sample_times(spec, days, np.ones(len(days)), len(rows), rng)
        place = _places(city, world.people, person[rows], 0.5, world.area_weights[int(s)], rng)
        subtype = _sample_subtypes(int(s), len(rows), rng)
        parts.append(_episodes(int(s), subtype, time, place, person[rows], FREQUENT_UTILIZER))
    return utilizers, Episodes.concat(parts)


def generate_chunk(world: World, index: int, first: date, last: date) -> Episodes:
    """All episodes from ``first`` to ``last`` (inclusive), with their paths: those of
    SCENARIOS in time order, then the officer-initiated ones in time order."""
    rng = rng_for(world.seed, _CHUNK, index)
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1, dtype="datetime64[D]")
    parts: list[Episodes] = []
    for i, scenario in enumerate(SCENARIOS):
        weights = _day_weights(scenario, days)
        n = int(rng.poisson(scenario.daily_rate * world.scale.rate_factor * weights.sum()))
        person = _draw_people(world, i, n, rng)
        time = _sample_times(scenario, days, weights, n, rng)
        place = _places(
            world.city, world.people, person, scenario.p_home, world.area_weights[i], rng
        )
        parts.append(_episodes(i, _sample_subtypes(i, n, rng), time, place, person, NOT_PLANTED))
    planned_days = world.planned.time.astype("datetime64[D]")
    in_chunk = (planned_days >= days[0]) & (planned_days <= days[-1])
    parts.append(world.planned.take(in_chunk))
    episodes = Episodes.concat(parts)
    episodes = episodes.take(np.lexsort((episodes.person, episodes.time)))
    episodes = _apply_program(world, episodes, rng)
    episodes.id = np.arange(world.next_episode, world.next_episode + len(episodes), dtype=np.int64)
    world.next_episode += len(episodes)
    _assign_paths(world, episodes, rng_for(world.seed, _PATHS, index))
    _new_people_for_deaths(world, episodes, rng_for(world.seed, _DECEDENTS, index))
    stops = _officer_initiated(world, days, rng_for(world.seed, _OFFICER_INITIATED, index))
    return Episodes.concat([episodes, stops])


def _officer_initiated(world: World, days: np.ndarray, rng: np.random.Generator) -> Episodes:
    """Stops officers start themselves: no call, no other agency; no path but MPD's own."""
    parts: list[Episodes] = []
    for scenario in OFFICER_INITIATED:
        i = SCENARIO_INDEX[scenario.key]
        weights = _day_weights(scenario, days)
        n = int(rng.poisson(scenario.daily_rate * world.scale.rate_factor * weights.sum()))
        person = _draw_people(world, i, n, rng)
        time = _sample_times(scenario, days, weights, n, rng)
        place = _places(
            world.city, world.people, person, scenario.p_home, world.area_weights[i], rng
        )
        parts.append(_episodes(i, _sample_subtypes(i, n, rng), time, place, person, NOT_PLANTED))
    episodes = Episodes.concat(parts)
    episodes = episodes.take(np.lexsort((episodes.person, episodes.time)))
    n = len(episodes)
    for f in fields(Episodes):
        if len(getattr(episodes, f.name)) != n:  # the paths: none
            setattr(episodes, f.name, np.zeros(n, getattr(episodes, f.name).dtype))
    start = world.next_officer_initiated
    episodes.id = np.arange(start, start + n, dtype=np.int64)
    world.next_officer_initiated += n
    return episodes


def _apply_program(world: World, episodes: Episodes, rng: np.random.Generator) -> Episodes:
    """Remove the share of repeat crisis episodes the co-responder programme prevents.

    A crisis episode is a *repeat* when its person had a crisis episode before (in this chunk
    or an earlier one). Counts of repeats before/after the start, in programme and comparison
    districts, are kept for planted.json.
    """
    crisis = np.flatnonzero(episodes.scenario == SCENARIO_INDEX["crisis"])
    person = episodes.person[crisis]
    _, first_position = np.unique(person, return_index=True)
    repeat = np.ones(len(crisis), bool)
    repeat[first_position] = False
    repeat |= world.crisis_seen[person]
    world.crisis_seen[person] = True

    district = world.city.district_of[episodes.neighbourhood[crisis]]
    in_program = np.isin(district, world.program.districts)
    after = episodes.time[crisis] >= np.datetime64(world.program.start, "s")
    prevented = repeat & in_program & after & (rng.random(len(crisis)) < world.program.reduction)
    for area_name, area in (("program", in_program), ("comparison", ~in_program)):
        for period_name, period in (("before", ~after), ("after", after)):
            key = f"{area_name}_{period_name}"
            kept = repeat & area & period & ~prevented
            world.program_counts[key] = world.program_counts.get(key, 0) + int(kept.sum())
    world.program_counts["prevented"] = world.program_counts.get("prevented", 0) + int(
        prevented.sum()
    )
    keep = np.ones(len(episodes), bool)
    keep[crisis[prevented]] = False
    return episodes.take(keep)


_P_FATAL = subtype_column("p_fatal").astype(float)
_P_REPORT = subtype_column("p_report").astype(float)
_OPIOID = subtype_column("opioid").astype(bool)


def _scenario_column(attribute: str) -> np.ndarray:
    return np.array([getattr(s, attribute) for s in SCENARIOS], dtype=float)


def _assign_paths(world: World, ep: Episodes, rng: np.random.Generator) -> None:
    """Decide which agencies record each episode, and what EMS did."""
    n = len(ep)
    u = rng.random((12, n))
    spike = ep.planted >= SPIKE_BASE
    hotspot = ep.planted == HOTSPOT
    utilizer = ep.planted == FREQUENT_UTILIZER
    p_fatal = np.where(spike & _OPIOID[ep.subtype], 0.08, _P_FATAL[ep.subtype])
    fatal = ((u[0] < p_fatal) & ~utilizer) | ep.force_fatal
    ep.fatal = fatal

    s = ep.scenario
    p_police = np.where(hotspot, world.hotspot.p_police, _scenario_column("p_police")[s])
    ep.police = u[1] < p_police
    ep.nibrs = ep.police & (u[2] < _P_REPORT[ep.subtype])
    p_ems = _scenario_column("p_ems")[s]
    ep.ems = u[3] < np.where(fatal, np.maximum(p_ems, 0.6), p_ems)
    ep.transported = ep.ems & ~fatal & (u[4] < _scenario_column("p_transport")[s])
    p_walk_in = np.where(hotspot, 0.8, _scenario_column("p_walk_in")[s])
    ep.ed = ep.transported | (~ep.ems & ~fatal & (u[5] < p_walk_in))
    # By ambulance within the hour; on foot or by car, hours later.
    delay = np.where(ep.transported, rng.uniform(20, 70, n), rng.uniform(60, 600, n)) * 60
    ep.ed_arrival = valid_local(ep.time + delay.astype(np.int64).astype("timedelta64[s]"))
    west = ep.lon < CENTER_LON
    ep.ed_site = np.where(west == (u[6] < 0.8), SMH, CGH).astype(np.int8)
    ep.cardiff = ep.ed & (ep.ed_site == SMH) & (s == SCENARIO_INDEX["assault"]) & (u[7] < 0.85)

    in_program = np.isin(world.city.district_of[ep.neighbourhood], world.program.districts)
    after = ep.time >= np.datetime64(world.program.start, "s")
    crisis = s == SCENARIO_INDEX["crisis"]
    ep.coresponder = crisis & ep.police & in_program & after & (u[8] < 0.8)
    ep.crisis_team = ep.coresponder | (u[8] < _scenario_column("p_crisis_team")[s])

    opioid = _OPIOID[ep.subtype] & ep.ems
    given = opioid & (u[9] < np.where(spike, 0.95, 0.8))
    # Naloxone is also tried, without effect, on some unresponsive non-opioid patients.
    tried = (
        ep.ems
        & ~opioid
        & np.isin(s, [SCENARIO_INDEX["intoxication"], SCENARIO_INDEX["other_death"]])
    )
    tried &= u[9] < 0.08
    doses = np.where(
        spike,
        rng.choice([1, 2, 3, 4], n, p=[0.2, 0.4, 0.25, 0.15]),
        rng.choice([1, 2, 3, 4], n, p=[0.55, 0.3, 0.1, 0.05]),
    )
    ep.naloxone_doses = np.where(given, doses, np.where(tried, 1, 0)).astype(np.int8)
    response = rng.choice([IMPROVED, UNCHANGED, WORSE], n, p=[0.85, 0.11, 0.04])
    response = np.where(fatal | tried, UNCHANGED, response)
    ep.naloxone_response = np.where(given | tried, response, NO_NALOXONE).astype(np.int8)

    ep.sud_followup = ~fatal & (u[10] < _scenario_column("p_sud_followup")[s])
    ep.sud_followup &= _OPIOID[ep.subtype] | crisis
    ep.outreach_followup = ~fatal & (u[11] < _scenario_column("p_outreach_followup")[s])


def _new_people_for_deaths(world: World, ep: Episodes, rng: np.random.Generator) -> None:
    """Give every fatal episode a new person, so nobody appears in records after their death."""
    dead = np.flatnonzero(ep.fatal)
    if len(dead) == 0:
        return
    first_number = len(world.people) + sum(len(d) for d in world.decedents) + 1
    decedents = build_people(
        len(dead), world.city, rng, first_number=first_number, home=ep.neighbourhood[dead]
    )
    world.decedents.append(decedents)
    ep.person[dead] = np.arange(first_number - 1, first_number - 1 + len(dead))
