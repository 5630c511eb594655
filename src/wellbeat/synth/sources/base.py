"""What every agency source shares: its description, profile, and formatting helpers.

A source turns the episodes its agency records into rows of the agency's own extract, with the
agency's own column names, date formats and codes, and says which mapping profile (docs/
profiles.md) would bring that extract into wellbeat. Formatting is done on whole columns with
Arrow compute functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from wellbeat.synth.episodes import Episodes, World, valid_local
from wellbeat.synth.geography import TIMEZONE
from wellbeat.synth.population import IdentityNoise, ObservedIdentity, People, observe_identity

Column: TypeAlias = pa.Array | pa.ChunkedArray | np.ndarray


@dataclass(frozen=True)
class RenderContext:
    """What a source needs to write one chunk of its extract."""

    world: World
    episodes: Episodes
    people: People
    rng: np.random.Generator
    first_number: int
    """Rows this source wrote in earlier chunks; record numbers continue from it."""


@dataclass(frozen=True)
class Rendered:
    """One chunk of an extract and, per row, the truth behind it."""

    columns: dict[str, Column]
    episode: np.ndarray
    """Per row, the position of its episode in the chunk's Episodes."""
    event_id: np.ndarray
    occurred: np.ndarray
    """Per row, the true local time of what the row records."""
    defects: dict[str, np.ndarray] = field(default_factory=dict)
    """Deliberate data-quality problems (name -> event ids), for ingest's quarantine tests."""

    def __len__(self) -> int:
        return len(self.episode)

    def table(self) -> pa.Table:
        return pa.table({name: _as_arrow(values) for name, values in self.columns.items()})


@dataclass(frozen=True)
class Source:
    """One extract an agency produces, and the profile that maps it."""

    agency: str
    name: str
    connector: str
    format: str
    description: str
    noise: IdentityNoise
    profile: Mapping[str, object]
    render: Callable[[RenderContext], Rendered]

    @property
    def sector(self) -> str:
        return str(self.profile["sector"])

    @property
    def kind(self) -> str:
        return str(self.profile["kind"])

    @property
    def extract_name(self) -> str:
        return f"extract.{self.format}"

    def profile_yaml(self) -> str:
        """The profile as YAML, headed by a comment saying what it maps."""
        header = (
            f"# Mapping profile for {self.agency} {self.name}: {self.description}\n"
            f"# Written by `wellbeat synth`; format in docs/profiles.md.\n"
        )
        body = yaml.safe_dump(
            dict(self.profile), sort_keys=False, default_flow_style=None, width=100
        )
        return header + body


def profile(
    *,
    name: str,
    connector: str,
    agency: str,
    sector: str,
    kind: str,
    format: str,
    fields: Mapping[str, object],
    codes: Sequence[Mapping[str, object]] = (),
    attributes: Mapping[str, object] | None = None,
    identity: Mapping[str, str] | None = None,
    keep_text: Mapping[str, object] | None = None,
    sensitivity: Sequence[str] = (),
) -> dict[str, object]:
    """A profile with every top-level key of docs/profiles.md, in the documented order."""
    return {
        "profile": name,
        "connector": connector,
        "agency": agency,
        "sector": sector,
        "kind": kind,
        "format": format,
        "timezone": TIMEZONE,
        "fields": dict(fields),
        "codes": [dict(c) for c in codes],
        "attributes": dict(attributes or {}),
        "identity": dict(identity or {}),
        "keep_text": dict(keep_text or {}),
        "sensitivity": list(sensitivity),
    }


def chronological(
    ctx: RenderContext, positions: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows in the order the agency's system would list them (by time, then episode).

    Rows timed after the city's last day (a follow-up or a death that comes after an episode
    near the end) are not in the extract yet: it is taken at the end of that day."""
    times = valid_local(times.astype("datetime64[s]"))
    keep = times < extract_moment(ctx)
    positions, times = positions[keep], times[keep]
    order = np.lexsort((positions, times))
    return positions[order], times[order]


def extract_moment(ctx: RenderContext) -> np.datetime64:
    """Local midnight after the city's last day: when the agencies take their extracts."""
    return np.datetime64(ctx.world.end + timedelta(days=1)).astype("datetime64[s]")


def recorded(ctx: RenderContext, times: np.ndarray) -> np.ndarray:
    """Record-keeping times (report filed, note signed) cut at the extract: a record finished
    after it carries the last second before it instead of a time in the future."""
    return np.minimum(times.astype("datetime64[s]"), extract_moment(ctx) - np.timedelta64(1, "s"))


def seconds(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("timedelta64[s]")


def minutes(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    """Uniform random delays between ``low`` and ``high`` minutes, as timedelta64[s]."""
    return seconds((rng.uniform(low, high, n) * 60).astype(np.int64))


def format_times(times: np.ndarray, fmt: str) -> pa.Array:
    """Naive local times as text in the agency's own format (null where NaT)."""
    return pc.strftime(pa.array(times.astype("datetime64[s]"), pa.timestamp("s")), format=fmt)


def format_dates(days: np.ndarray, fmt: str) -> pa.Array:
    """Dates (datetime64[D], NaT allowed) as text; missing dates become empty strings."""
    text = format_times(days.astype("datetime64[D]").astype("datetime64[s]"), fmt)
    return pc.fill_null(text, "")


def iso_with_offset(times: np.ndarray) -> pa.Array:
    """Local times as ISO 8601 with the zone offset in force (``2024-07-01T14:02:11-05:00``)."""
    from wellbeat.synth.episodes import to_utc

    offset_hours = (times - to_utc(times)).astype("timedelta64[h]").astype(int)
    suffix = np.where(offset_hours == -5, "-05:00", "-06:00")
    return join(format_times(times, "%Y-%m-%dT%H:%M:%S"), suffix)


def join(*parts: Column | str) -> pa.Array:
    """Element-wise concatenation of text columns and constants (nulls count as "")."""
    arrays: list[pa.Array | str] = [
        part if isinstance(part, str) else _as_text(part) for part in parts
    ]
    length = max(len(a) for a in arrays if not isinstance(a, str))
    full = [pa.array(np.full(length, a)) if isinstance(a, str) else a for a in arrays]
    return pc.binary_join_element_wise(*full, "", null_handling="replace", null_replacement="")


def zero_pad(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(
        pa.array(np.asarray(numbers).astype(np.int64)).cast(pa.string()), width, "0"
    )


def record_numbers(ctx: RenderContext, n: int) -> np.ndarray:
    """Sequential record numbers continuing from earlier chunks."""
    return np.arange(ctx.first_number + 1, ctx.first_number + n + 1)


def year_of(times: np.ndarray) -> np.ndarray:
    return times.astype("datetime64[Y]").astype(int) + 1970


def age_at(dob: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Whole years from ``dob`` to ``when`` (both datetime64; NaT dob gives 0)."""
    born = dob.astype("datetime64[D]")
    day = when.astype("datetime64[D]")
    years = year_of(day) - year_of(born)
    before_birthday = _month_day(day) < _month_day(born)
    return np.where(np.isnat(born), 0, (years - before_birthday).clip(0))


def _month_day(days: np.ndarray) -> np.ndarray:
    month = (days.astype("datetime64[M]") - days.astype("datetime64[Y]")).astype(int)
    return month * 100 + (days - days.astype("datetime64[M]")).astype(int)


def code_map(values: np.ndarray, mapping: Mapping[str, str]) -> np.ndarray:
    """Translate canonical values (e.g. "female") to a source's codes (e.g. "F")."""
    result = np.asarray(values).astype(object)
    for canonical, code in mapping.items():
        result[np.asarray(values) == canonical] = code
    return result.astype(str)


def positions_in(values: np.ndarray, vocabulary: Sequence[str]) -> np.ndarray:
    """Index of each value in ``vocabulary``; ``len(vocabulary)`` for values not in it."""
    words = np.asarray(vocabulary)
    order = np.argsort(words)
    found = np.searchsorted(words, values, sorter=order).clip(0, len(words) - 1)
    index = order[found]
    return np.where(words[index] == values, index, len(words))


def pick(
    options: Sequence[Sequence[str]], which: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each row, a random entry of ``options[which[row]]`` ("" where there are none)."""
    flat = np.array([o for group in options for o in group] + [""])
    counts = np.array([len(group) for group in options])
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    count = counts[which]
    chosen = offsets[which] + (rng.random(len(which)) * np.maximum(count, 1)).astype(np.int64)
    return np.where(count > 0, flat[np.minimum(chosen, len(flat) - 1)], "")


def weighted(
    rng: np.random.Generator, values: Sequence[str], weights: Sequence[float], n: int
) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(values)[rng.choice(len(values), n, p=p / p.sum())]


def observed(
    ctx: RenderContext, source_noise: IdentityNoise, person: np.ndarray
) -> ObservedIdentity:
    return observe_identity(ctx.people, person, source_noise, ctx.rng)


def blank_to_null(values: np.ndarray) -> pa.Array:
    """Text where "" means missing, as an Arrow column with nulls (Parquet / NDJSON)."""
    array = pa.array(np.asarray(values).astype(str))
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _as_text(values: Column) -> pa.Array:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.cast(pa.string())
    return pa.array(np.asarray(values).astype(str))


def _as_arrow(values: Column) -> pa.Array:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    array: np.ndarray = np.asarray(values)
    if array.dtype.kind == "U":
        return pa.array(array.astype(object), pa.string())
    return pa.array(array)
