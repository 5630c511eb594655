"""Indicator values from the lake: counts, zero-filled time series, area tables with rates and
reliability flags, and the indicator x area x period matrix the detection jobs read.

Fetching (``indicator_counts``: an engine runs the builders of ``query.py``) is kept apart from
shaping (``series_table``, ``area_rows``), so counts released by the governed service can be
shaped the same way as counts the hub reads itself.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from wellbeat.analytics.indicators.catalogue import Catalogue, Indicator, default_catalogue
from wellbeat.analytics.indicators.periods import next_period, period_label, period_starts
from wellbeat.analytics.indicators.query import indicator_requests, indicator_sql
from wellbeat.geo.layers import AreaLayer
from wellbeat.lake.engine import Engine
from wellbeat.lake.query import Period

CountKey = tuple[str | None, date | None]
"""(area or None, period start or None): a cell of a counts table."""


IndicatorEngine = Engine
"""What computing indicators needs of an engine: ``aggregate`` and ``sql`` of ``Engine``."""


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def counts_by_key(table: pa.Table) -> dict[CountKey, int | None]:
    """A counts table ([area] [period] count) as {(area, period): count}, summing repeats."""
    n = table.num_rows
    areas = table.column("area").to_pylist() if "area" in table.column_names else [None] * n
    periods = table.column("period").to_pylist() if "period" in table.column_names else [None] * n
    counts = table.column("count").to_pylist()
    out: dict[CountKey, int | None] = {}
    for area, period, count in zip(areas, periods, counts, strict=True):
        key = (area, _as_date(period) if period is not None else None)
        if count is None or (key in out and out[key] is None):
            out[key] = None  # a suppressed cell stays suppressed
        else:
            out[key] = int(out.get(key) or 0) + int(count)
    return out


def indicator_counts(
    engine: IndicatorEngine,
    indicator: Indicator,
    layer: str | None,
    period: Period | None,
    start: date | datetime | None,
    end: date | datetime | None,
) -> dict[CountKey, int | None]:
    """Numerator counts by (area, period) as the hub reads them (no governance applied).

    Governable indicators go through ``engine.aggregate`` term by term (the cube answers when
    it can); the others run ``indicator_sql`` inside the engine.
    """
    if indicator.governable:
        total: dict[CountKey, int | None] = {}
        for query in indicator_requests(indicator, layer, period, start, end):
            for key, value in counts_by_key(engine.aggregate(query)).items():
                total[key] = int(total.get(key) or 0) + int(value or 0)
        return total
    sql = indicator_sql(indicator, layer, period, start, end)
    return counts_by_key(engine.sql(sql.sql, sql.params))


def rate(count: int | None, denominator: float | None, factor: int) -> float | None:
    """count / denominator x factor; None when either is missing or the denominator is 0."""
    if count is None or denominator is None or denominator <= 0:
        return None
    return count / denominator * factor


def unreliable(count: int | None, indicator: Indicator) -> bool:
    """NCHS / CDC WONDER rule: a rate on fewer than ``unreliable_below`` (20) events is
    unreliable; a suppressed count is too."""
    return count is None or count < indicator.unreliable_below


SERIES_SCHEMA = pa.schema(
    [
        pa.field("indicator", pa.string()),
        pa.field("area", pa.string()),
        pa.field("period", pa.date32()),
        pa.field("period_label", pa.string()),
        pa.field("days", pa.int32()),
        pa.field("count", pa.int64()),
        pa.field("denominator", pa.float64()),
        pa.field("rate", pa.float64()),
        pa.field("unreliable", pa.bool_()),
    ]
)
AREA_SCHEMA = pa.schema(
    [
        pa.field("indicator", pa.string()),
        pa.field("area", pa.string()),
        pa.field("area_name", pa.string()),
        pa.field("start", pa.date32()),
        pa.field("end", pa.date32()),
        pa.field("count", pa.int64()),
        pa.field("denominator", pa.float64()),
        pa.field("rate", pa.float64()),
        pa.field("unreliable", pa.bool_()),
    ]
)


def _denominator(
    indicator: Indicator,
    area: str | None,
    period: date | None,
    areas: AreaLayer | None,
    population: int | None,
    denominator_counts: Mapping[CountKey, int | None] | None,
) -> float | None:
    den = indicator.denominator
    if den is None:
        return None
    if den.kind == "population":
        if area is None:
            return None if population is None else float(population)
        if areas is None or area not in areas.ids:
            return None
        return float(areas.population_of(area))
    if denominator_counts is None:
        return None
    value = denominator_counts.get((area, period), 0)
    return None if value is None else float(value)


def series_table(
    indicator: Indicator,
    counts: Mapping[CountKey, int | None],
    *,
    period: Period,
    start: date,
    end: date,
    areas: AreaLayer | None = None,
    population: int | None = None,
    denominator_counts: Mapping[CountKey, int | None] | None = None,
) -> pa.Table:
    """A zero-filled time series (SERIES_SCHEMA): every period overlapping [start, end) and,
    with ``areas``, every area of the layer. ``days`` is how many of the period's days fall in
    the window (edge periods may be partial). ``population`` is the denominator without areas.
    """
    starts = period_starts(start, end, period)
    area_ids: Sequence[str | None] = list(areas.ids) if areas is not None else [None]
    rows: dict[str, list[Any]] = {f.name: [] for f in SERIES_SCHEMA}
    for area in area_ids:
        for first in starts:
            covered = (min(next_period(first, period), end) - max(first, start)).days
            count = counts.get((area, first), 0)
            den = _denominator(indicator, area, first, areas, population, denominator_counts)
            rows["indicator"].append(indicator.code)
            rows["area"].append(area)
            rows["period"].append(first)
            rows["period_label"].append(period_label(first, period))
            rows["days"].append(covered)
            rows["count"].append(count)
            rows["denominator"].append(den)
            rows["rate"].append(rate(count, den, indicator.factor))
            rows["unreliable"].append(unreliable(count, indicator))
    return pa.Table.from_pydict(rows, schema=SERIES_SCHEMA)


def area_rows(
    indicator: Indicator,
    counts: Mapping[CountKey, int | None],
    *,
    areas: AreaLayer,
    start: date,
    end: date,
    denominator_counts: Mapping[CountKey, int | None] | None = None,
) -> pa.Table:
    """One row per area of the layer (AREA_SCHEMA) for the window [start, end), zero-filled;
    then a row for each area value outside the layer that holds events (``__outside__``, or
    null for events ingested before the layer existed) so the counts add up to the total."""
    rows: dict[str, list[Any]] = {f.name: [] for f in AREA_SCHEMA}
    extra = sorted(
        {area for area, _ in counts if area not in set(areas.ids)}, key=lambda a: (a is None, a)
    )
    names = dict(zip(areas.ids, areas.names, strict=True))
    for area in [*areas.ids, *extra]:
        count = counts.get((area, None), 0)
        den = _denominator(indicator, area, None, areas, None, denominator_counts)
        rows["indicator"].append(indicator.code)
        rows["area"].append(area)
        rows["area_name"].append(names.get(area) if area is not None else None)
        rows["start"].append(start)
        rows["end"].append(end)
        rows["count"].append(count)
        rows["denominator"].append(den)
        rows["rate"].append(rate(count, den, indicator.factor))
        rows["unreliable"].append(unreliable(count, indicator))
    return pa.Table.from_pydict(rows, schema=AREA_SCHEMA)


def _denominator_indicator(indicator: Indicator, catalogue: Catalogue) -> Indicator | None:
    den = indicator.denominator
    if den is None or den.kind != "indicator" or den.indicator is None:
        return None
    return catalogue.get(den.indicator)


def time_series(
    engine: IndicatorEngine,
    indicators: Iterable[Indicator],
    *,
    start: date,
    end: date,
    period: Period | None = None,
    areas: AreaLayer | None = None,
    population: int | None = None,
    catalogue: Catalogue | None = None,
) -> pa.Table:
    """Zero-filled series (SERIES_SCHEMA) of several indicators, stacked; each indicator in its
    own default period unless ``period`` is given, by area when ``areas`` is given."""
    catalogue = catalogue or default_catalogue()
    layer = areas.name if areas is not None else None
    tables = []
    for indicator in indicators:
        p = period or indicator.period
        counts = indicator_counts(engine, indicator, layer, p, start, end)
        den_indicator = _denominator_indicator(indicator, catalogue)
        den_counts = (
            indicator_counts(engine, den_indicator, layer, p, start, end)
            if den_indicator is not None
            else None
        )
        tables.append(
            series_table(
                indicator,
                counts,
                period=p,
                start=start,
                end=end,
                areas=areas,
                population=population,
                denominator_counts=den_counts,
            )
        )
    return pa.concat_tables(tables) if tables else SERIES_SCHEMA.empty_table()


def area_table(
    engine: IndicatorEngine,
    indicators: Iterable[Indicator],
    *,
    areas: AreaLayer,
    start: date,
    end: date,
    catalogue: Catalogue | None = None,
) -> pa.Table:
    """Area x indicator for the window [start, end) (AREA_SCHEMA), with rates and flags."""
    catalogue = catalogue or default_catalogue()
    tables = []
    for indicator in indicators:
        counts = indicator_counts(engine, indicator, areas.name, None, start, end)
        den_indicator = _denominator_indicator(indicator, catalogue)
        den_counts = (
            indicator_counts(engine, den_indicator, areas.name, None, start, end)
            if den_indicator is not None
            else None
        )
        tables.append(
            area_rows(
                indicator, counts, areas=areas, start=start, end=end, denominator_counts=den_counts
            )
        )
    return pa.concat_tables(tables) if tables else AREA_SCHEMA.empty_table()


@dataclass(frozen=True)
class SeriesMatrix:
    """Counts of many series at once: ``counts[i, a, t]`` is indicator ``indicators[i]`` in
    area ``area_ids[a]`` during the period starting ``periods[t]`` (zeros where none)."""

    indicators: tuple[str, ...]
    area_ids: tuple[str, ...]
    periods: tuple[date, ...]
    period: Period
    counts: npt.NDArray[np.int64]
    population: npt.NDArray[np.int64]
    """Population of each area, aligned to ``area_ids`` (for population offsets)."""

    def series(self, indicator: str, area: str) -> npt.NDArray[np.int64]:
        """One series by indicator code and area id."""
        return self.counts[self.indicators.index(indicator), self.area_ids.index(area)]


def series_matrix(
    engine: IndicatorEngine,
    indicators: Sequence[Indicator],
    areas: AreaLayer,
    start: date,
    end: date,
    period: Period = "day",
) -> SeriesMatrix:
    """The indicator x area x period count matrix over [start, end), one query per indicator
    term; events outside the layer's areas are left out."""
    periods = period_starts(start, end, period)
    column = {p: t for t, p in enumerate(periods)}
    row = {a: i for i, a in enumerate(areas.ids)}
    counts = np.zeros((len(indicators), len(areas.ids), len(periods)), dtype=np.int64)
    for i, indicator in enumerate(indicators):
        for (area, first), value in indicator_counts(
            engine, indicator, areas.name, period, start, end
        ).items():
            a = row.get(area) if area is not None else None
            t = column.get(first) if first is not None else None
            if a is not None and t is not None and value:
                counts[i, a, t] += value
    return SeriesMatrix(
        indicators=tuple(ind.code for ind in indicators),
        area_ids=tuple(areas.ids),
        periods=tuple(periods),
        period=period,
        counts=counts,
        population=np.asarray(areas.population, dtype=np.int64),
    )


EXPORT_FORMATS = (".csv", ".parquet")


def write_table(table: pa.Table, path: Path) -> Path:
    """Write a result table as CSV or Parquet, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ValueError(
            f"{path}: cannot tell the format from suffix {path.suffix!r}; expected .csv or .parquet"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(table, path, suffix)
    return path


def table_bytes(table: pa.Table, fmt: str) -> bytes:
    """A result table as the bytes of a CSV or Parquet file (``fmt``: csv or parquet), for a
    download."""
    suffix = f".{fmt.lower()}"
    if suffix not in EXPORT_FORMATS:
        raise ValueError(f"format {fmt!r}: expected csv or parquet")
    buffer = io.BytesIO()
    _write(table, buffer, suffix)
    return buffer.getvalue()


def _write(table: pa.Table, where: Path | io.BytesIO, suffix: str) -> None:
    if suffix == ".csv":
        pacsv.write_csv(table, where)
    else:
        pq.write_table(table, where)
