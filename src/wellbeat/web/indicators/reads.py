"""A custom indicator as one viewer may see it: a series by period and a period x group table
per agency, read through ``governed_aggregate`` as that viewer (each read audited).

The viewer's own agency is read in full; every other agency that has an agreement with the
viewer's agency is asked for by name, so a refusal is shown for that agency as "not shared with
you" (with the decision's reason), never as zero. ``by`` is a request dimension
(``attribute:NAME``, ``sex`` ...). A breakdown by ``attribute:NAME`` of another
agency needs its agreement's ``fields`` to name ``attribute:NAME``; its total may still be
shared when the breakdown is not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from wellbeat.analytics.indicators.catalogue import Criteria, Indicator
from wellbeat.analytics.indicators.periods import (
    next_period,
    period_label,
    period_start,
    period_starts,
)
from wellbeat.geo import load_layers
from wellbeat.governance import DataRequest, Refusal
from wellbeat.web.accounts.models import Agency, User
from wellbeat.web.governance.service import data_dir, governed_aggregate
from wellbeat.web.surveillance.evidence import NOT_SHARED, SUPPRESSED, count_status

MISSING = "(missing)"
"""The group of events that do not carry the breakdown attribute."""
TOTAL = "all"
MAX_DAYS = 3 * 366


def day_window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The request bounds of the whole days ``start``..``end`` (inclusive).

    The lake's days are still UTC days here; when periods become local time the request takes
    the dates themselves, and this is the one place to change."""
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
    )


def term_request(
    term: Criteria, agency: str, *, start: dt.date, end: dt.date, period: str, by: str
) -> DataRequest:
    lower, upper = day_window(start, end)
    return DataRequest(
        kind="aggregate",
        agencies=(agency,),
        sectors=term.sectors,
        kinds=term.kinds,
        syndromes=term.syndromes,
        codes=term.codes,
        attributes=term.attributes,
        start=lower,
        end=upper,
        period=period,
        by=(by,) if by else (),
        coarsen=True,
    )


@dataclass
class Cells:
    """Counts by (period label, group) as released: None where suppressed; a cell absent from
    the mapping had no events (a true zero)."""

    period: str
    periods: list[str] = field(default_factory=list)
    values: dict[tuple[str, str], float | None] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    not_shared: str = ""
    min_cell: int = 1
    notes: list[str] = field(default_factory=list)

    def status(self, period: str, group: str) -> str:
        if self.not_shared:
            return NOT_SHARED
        value = self.values.get((period, group), 0.0)
        return count_status(value, suppressed=value is None, not_shared=False)

    def count(self, period: str, group: str) -> float | None:
        status = self.status(period, group)
        return (
            self.values.get((period, group), 0.0)
            if status not in (SUPPRESSED, NOT_SHARED)
            else None
        )


def _label(value: Any, period: str) -> str:
    day = value.date() if isinstance(value, dt.datetime) else value
    return period_label(day, period) if isinstance(day, dt.date) else str(value)


def read_cells(
    user: User,
    purpose: str,
    indicator: Indicator,
    agency: str,
    *,
    start: dt.date,
    end: dt.date,
    period: str,
    by: str,
    export: bool = False,
) -> Cells:
    """The indicator's counts for one agency, summed over its numerator terms (the terms are
    disjoint, so counts add up); a cell hidden in any term is hidden in the sum."""
    out = Cells(period=period)
    column = by
    for term in indicator.numerator:
        request = term_request(term, agency, start=start, end=end, period=period, by=by)
        released = governed_aggregate(user, purpose, request, export=export)
        if isinstance(released, Refusal):
            return Cells(period=period, not_shared=released.message)
        out.period = released.plan.period or period
        out.min_cell = max(out.min_cell, released.plan.strictest_min_cell)
        out.notes.extend(n for n in released.notes if n not in out.notes)
        table = released.table
        periods = table.column("period").to_pylist()
        counts = table.column("count").to_pylist()
        hidden = (
            table.column("suppressed").to_pylist()
            if "suppressed" in table.column_names
            else [False] * table.num_rows
        )
        groups = table.column(column).to_pylist() if by and column in table.column_names else None
        for i, (when, count) in enumerate(zip(periods, counts, strict=True)):
            group = TOTAL if groups is None else (MISSING if groups[i] is None else str(groups[i]))
            key = (_label(when, out.period), group)
            if key in out.values and out.values[key] is None:
                continue
            if hidden[i] or count is None:
                out.values[key] = None
            else:
                out.values[key] = (out.values.get(key) or 0.0) + float(count)
    first = period_start(start, out.period)
    out.periods = [
        period_label(d, out.period)
        for d in period_starts(first, end + dt.timedelta(days=1), out.period)
    ]
    totals: dict[str, float] = {}
    for (_, group), value in out.values.items():
        totals[group] = totals.get(group, 0.0) + (value or 0.0)
    out.groups = sorted(totals, key=lambda g: (g == MISSING, -totals[g], g))
    return out


def population_total() -> int | None:
    """The hub's population: the first area layer's total (as the CLI's rates use)."""
    layers = sorted(load_layers(data_dir() / "areas"), key=lambda layer: layer.name)
    if not layers:
        return None
    total = int(sum(int(p) for p in layers[0].population))
    return total or None


@dataclass
class AgencyBlock:
    """One agency's part of the page: its series (total by period) and its breakdown."""

    agency: Agency
    own: bool
    series: Cells
    breakdown: Cells | None
    rates: dict[tuple[str, str], float | None] = field(default_factory=dict)
    denominators: dict[tuple[str, str], float | None] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.agency.code} ({self.agency.name})"

    def rate(self, period: str, group: str) -> float | None:
        return self.rates.get((period, group))


def agencies_for(user: User) -> list[tuple[Agency, bool]]:
    """The viewer's agency first, then every agency with an agreement naming it as recipient
    (whatever its state: the decision says why one does not share)."""
    assert user.agency is not None
    providers = (
        Agency.objects.filter(agreements_provided__recipient=user.agency)
        .exclude(pk=user.agency.pk)
        .distinct()
        .order_by("code")
    )
    return [(user.agency, True), *((a, False) for a in providers)]


def _rates(
    block: AgencyBlock,
    table: Cells,
    indicator: Indicator,
    denominator: dict[tuple[str, str], float | None] | float | None,
) -> None:
    """Rate per (period, group): count / denominator x factor where both are visible."""
    for period in table.periods:
        for group in table.groups or [TOTAL]:
            count = table.count(period, group)
            den = denominator.get((period, group)) if isinstance(denominator, dict) else denominator
            block.denominators[(period, group)] = den
            block.rates[(period, group)] = (
                round(count / den * indicator.factor, 3) if count is not None and den else None
            )


def indicator_blocks(
    user: User,
    purpose: str,
    indicator: Indicator,
    *,
    start: dt.date,
    end: dt.date,
    period: str,
    by: str,
    denominator: Indicator | None = None,
    export: bool = False,
) -> list[AgencyBlock]:
    """Every agency's block for the page (or its download): its series, its breakdown, and
    rates where the indicator has a denominator (a population, or the denominator indicator
    read for the same agency, period and breakdown)."""
    blocks = []
    population = (
        population_total()
        if indicator.denominator and indicator.denominator.kind == "population"
        else None
    )

    def read(ind: Indicator, agency: str, group_by: str, at: str) -> Cells:
        return read_cells(
            user, purpose, ind, agency, start=start, end=end, period=at, by=group_by, export=export
        )

    for agency, own in agencies_for(user):
        series = read(indicator, agency.code, "", period)
        breakdown = read(indicator, agency.code, by, period) if by else None
        block = AgencyBlock(agency, own, series, breakdown)
        for cells, group_by in ((series, ""), (breakdown, by)):
            if cells is None or cells.not_shared or indicator.denominator is None:
                continue
            if indicator.denominator.kind == "population":
                _rates(block, cells, indicator, population)
            elif denominator is not None:
                den = read(denominator, agency.code, group_by, cells.period)
                keys = [(p, g) for p in cells.periods for g in cells.groups or [TOTAL]]
                _rates(block, cells, indicator, {key: den.count(*key) for key in keys})
        blocks.append(block)
    return blocks


def download_rows(blocks: list[AgencyBlock], *, rate: bool) -> list[dict[str, Any]]:
    """The page's breakdown (or series when there is no breakdown) as rows: period, group,
    count[, rate], status, agency. Suppressed and not-shared counts are empty, never 0."""
    rows = []
    for block in blocks:
        cells = block.breakdown if block.breakdown is not None else block.series
        groups = cells.groups or ([TOTAL] if not cells.not_shared else [""])
        for period in cells.periods or [""]:
            for group in groups:
                row: dict[str, Any] = {
                    "period": period,
                    "group": group,
                    "count": cells.count(period, group),
                }
                if rate:
                    row["rate"] = block.rate(period, group)
                row["status"] = cells.status(period, group)
                row["agency"] = block.agency.code
                rows.append(row)
    return rows


def chart_spec(
    cells: Cells,
    title: str,
    *,
    block: AgencyBlock | None = None,
    unit: str = "",
    max_lines: int = 8,
) -> dict[str, Any] | None:
    """Lines per group over periods for the page's chart (the block's rates when ``unit``
    names one, else counts); None when no line has a visible point (the page then says why
    instead of drawing an empty chart). Suppressed periods are gaps, never zeros."""
    if cells.not_shared:
        return None
    groups = list(cells.groups or [TOTAL])[:max_lines]
    lines = []
    for group in groups:
        if unit and block is not None:
            values = [block.rate(p, group) for p in cells.periods]
        else:
            values = [cells.count(p, group) for p in cells.periods]
        if any(v is not None for v in values):
            lines.append({"name": group, "y": values})
    if not lines:
        return None
    return {
        "type": "lines",
        "title": title,
        "x": cells.periods,
        "period": cells.period,
        "unit": unit or f"count per {cells.period.replace('_', ' ')}",
        "lines": lines,
        "left_out": max(0, len(cells.groups) - max_lines),
    }


def last_period_incomplete(cells: Cells, end: dt.date) -> str:
    """The last period's label when the window ends inside it (its count is partial)."""
    if not cells.periods or cells.not_shared:
        return ""
    following = next_period(period_start(end, cells.period), cells.period)
    return "" if following == end + dt.timedelta(days=1) else cells.periods[-1]
