"""Indicators read through the governed service: counts by period, area and any breakdown
(``attribute:precinct``, ``sex`` ...), with rates, for pages and the CLI.

An indicator is one governed aggregate request per numerator term (``indicator_data_requests``;
the terms' counts add up), each decided, released and audited by ``governed_read``; an
indicator denominator is read the same way with the same breakdown, so a share such as
"searches per stop, by race" compares like with like. Suppressed cells stay ``None`` and so does
every rate built on one. Nothing here reads the lake.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from wellbeat.analytics.indicators import Catalogue, Indicator, IndicatorError
from wellbeat.analytics.indicators.periods import period_label, period_starts
from wellbeat.analytics.indicators.query import indicator_data_requests
from wellbeat.geo import AreaLayerError, load_layers
from wellbeat.governance import DataRequest, Refusal
from wellbeat.governance.release import Release
from wellbeat.web.governance.service import Requester, data_dir, governed_read

MISSING = "(missing)"
"""The ``group`` of events that do not carry the broken-down attribute (never dropped)."""

Key = tuple[str | None, date | None, str | None]
"""(area, period start, group) of one cell; None where the table has no such column."""


@dataclass(frozen=True)
class IndicatorTable:
    """An indicator as released to one requester.

    ``table`` columns: ``[area] [period period_label] [group] count`` and, when the indicator
    has a denominator the release can use, ``denominator rate unreliable``. ``count`` is None
    for a suppressed cell.
    """

    indicator: Indicator
    table: pa.Table
    notes: tuple[str, ...]
    suppressed_cells: int
    releases: tuple[Release, ...]

    @property
    def has_rates(self) -> bool:
        return "rate" in self.table.column_names


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _cells(releases: Iterable[Release], by: str | None) -> dict[Key, int | None]:
    """Released counts summed per cell across the requests of one indicator (a suppressed
    part makes the sum suppressed)."""
    out: dict[Key, int | None] = {}
    for release in releases:
        table = release.table
        n = table.num_rows
        areas = table["area"].to_pylist() if "area" in table.column_names else [None] * n
        periods = table["period"].to_pylist() if "period" in table.column_names else [None] * n
        groups = table[by].to_pylist() if by is not None else [None] * n
        for area, period, group, count in zip(
            areas, periods, groups, table["count"].to_pylist(), strict=True
        ):
            label = (MISSING if group is None else str(group)) if by is not None else None
            key: Key = (area, _as_date(period), label)
            if key in out and out[key] is None:
                continue
            out[key] = None if count is None else int(out.get(key) or 0) + int(count)
    return out


def _read(
    requester: Requester,
    purpose: str,
    requests: Sequence[DataRequest],
    export: bool | str,
) -> list[Release] | Refusal:
    releases: list[Release] = []
    for request in requests:
        result = governed_read(requester, purpose, request, export=export)
        if isinstance(result, Refusal):
            return result
        releases.append(result)
    return releases


def _populations(layer: str | None) -> tuple[dict[str, int | None], int | None]:
    """Population per area of ``layer``, and the total of the first layer (the denominator
    without a layer, as the hub's own series use)."""
    areas = data_dir() / "areas"
    try:
        layers = {lay.name: lay for lay in load_layers(areas)} if areas.is_dir() else {}
    except (AreaLayerError, OSError):
        return {}, None
    total = next(iter(layers.values())).total_population if layers else None
    if layer is None or layer not in layers:
        return {}, total
    chosen = layers[layer]
    return {area: chosen.population_of(area) for area in chosen.ids}, total


def governed_indicator(
    requester: Requester,
    purpose: str,
    indicator: Indicator,
    catalogue: Catalogue,
    *,
    period: str | None,
    start: date | datetime | None,
    end: date | datetime | None,
    by: str | None = None,
    layer: str | None = None,
    agencies: tuple[str, ...] | None = None,
    export: bool | str = False,
) -> IndicatorTable | Refusal:
    """Read ``indicator`` for ``requester`` and ``purpose`` through the governed service.

    ``start`` inclusive, ``end`` exclusive (dates: whole days, as the lake's periods read
    them). ``by`` is one breakdown (``attribute:<name>``, ``sex``, ``age_band``, ``kind``,
    ``sector``); events without the attribute are the group ``(missing)``. ``agencies`` narrows
    the providers (``(own code,)`` reads one's own data in full). Every request is audited;
    the first refusal is returned as is (it names what is missing). Periods of the window
    with no events are zero rows for every (area, group) seen.
    """
    if not indicator.governable:
        raise IndicatorError(
            "needs a person-level repeat window or has overlapping numerator terms, which "
            "the governed service cannot compute",
            indicator=indicator.code,
            field_name="numerator",
        )
    dims = (by,) if by else ()
    typed_period: Any = period

    def requests_for(ind: Indicator) -> list[DataRequest]:
        return [
            replace(r, agencies=agencies)
            for r in indicator_data_requests(ind, layer, typed_period, start, end, dims)
        ]

    numerator = _read(requester, purpose, requests_for(indicator), export)
    if isinstance(numerator, Refusal):
        return numerator
    cells = _cells(numerator, by)
    releases = list(numerator)
    notes = list(dict.fromkeys(n for r in numerator for n in r.notes))

    den = indicator.denominator
    den_cells: dict[Key, int | None] | None = None
    populations: dict[str, int | None] = {}
    total_population: int | None = None
    if den is not None and den.kind == "indicator":
        denominator = _read(
            requester, purpose, requests_for(catalogue.get(str(den.indicator))), export
        )
        if isinstance(denominator, Refusal):
            return denominator
        den_cells = _cells(denominator, by)
        releases += denominator
        notes += [n for r in denominator for n in r.notes if n not in notes]
    elif den is not None and by is not None:
        notes.append(
            f"no rates: the population of each {by} group is not known to the hub, so counts only"
        )
        den = None
    elif den is not None:
        populations, total_population = _populations(layer)

    # Zero rows for periods without events, per (area, group) seen.
    if period is not None and start is not None and end is not None:
        first, stop = _as_date(start), _as_date(end)
        assert first is not None and stop is not None
        combos = {(area, group) for area, _, group in cells} or {(None, None)}
        if layer is not None or by is not None:
            combos.discard((None, None))
        for starts in period_starts(first, stop, period):
            for area, group in combos:
                cells.setdefault((area, starts, group), 0)

    def order(key: Key) -> tuple[Any, ...]:
        area, when, group = key
        return (area or "", when or date.min, group == MISSING, group or "")

    keys = sorted(cells, key=order)
    columns: dict[str, Any] = {}
    if layer is not None:
        columns["area"] = pa.array([k[0] for k in keys], pa.string())
    if period is not None:
        columns["period"] = pa.array([k[1] for k in keys], pa.date32())
        columns["period_label"] = pa.array(
            [period_label(k[1], period) if k[1] else None for k in keys], pa.string()
        )
    if by is not None:
        columns["group"] = pa.array([k[2] for k in keys], pa.string())
    counts = [cells[k] for k in keys]
    columns["count"] = pa.array(counts, pa.int64())
    if den is not None:
        denominators: list[int | None] = []
        for key in keys:
            if den_cells is not None:
                denominators.append(den_cells.get(key, 0))
            elif layer is not None:
                denominators.append(populations.get(key[0] or ""))
            else:
                denominators.append(total_population)
        rates = [
            None if c is None or not d else c / d * indicator.factor
            for c, d in zip(counts, denominators, strict=True)
        ]
        columns["denominator"] = pa.array(denominators, pa.int64())
        columns["rate"] = pa.array(rates, pa.float64())
        columns["unreliable"] = pa.array(
            [None if c is None else c < indicator.unreliable_below for c in counts], pa.bool_()
        )
    suppressed = sum(1 for c in counts if c is None)
    return IndicatorTable(indicator, pa.table(columns), tuple(notes), suppressed, tuple(releases))
