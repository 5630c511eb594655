"""A custom indicator as one viewer may see it: a series by period and a period x group table
per agency, read through ``governed_indicator`` (the governed service's indicator reader, which
the CLI uses too) as that viewer, each read audited.

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

from wellbeat.analytics.indicators.catalogue import Catalogue, Indicator
from wellbeat.analytics.indicators.periods import (
    next_period,
    period_label,
    period_start,
    period_starts,
)
from wellbeat.governance import Refusal
from wellbeat.web.accounts.models import Agency, User
from wellbeat.web.governance.indicators import MISSING, governed_indicator
from wellbeat.web.governance.service import requester_for_user
from wellbeat.web.surveillance.evidence import NOT_SHARED, SUPPRESSED, count_status

TOTAL = "all"
MAX_DAYS = 3 * 366


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
    rates: dict[tuple[str, str], float | None] = field(default_factory=dict)

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
    denominator: Indicator | None = None,
    export: bool = False,
) -> Cells:
    """The indicator's counts (and rates) for one agency from ``start`` to ``end`` (inclusive
    days), read by ``governed_indicator`` as the viewer: one audited governed read per
    numerator term (and per term of an indicator denominator, with the same breakdown). A
    refusal makes the whole table not shared, with its reason."""
    catalogue = Catalogue(
        (indicator,) if denominator is None else (indicator, denominator), "agency indicators"
    )
    result = governed_indicator(
        requester_for_user(user),
        purpose,
        indicator,
        catalogue,
        period=period,
        start=start,
        end=end + dt.timedelta(days=1),
        by=by or None,
        agencies=(agency,),
        export=export,
    )
    out = Cells(period=period)
    first = period_start(start, period)
    out.periods = [
        period_label(d, period) for d in period_starts(first, end + dt.timedelta(days=1), period)
    ]
    if isinstance(result, Refusal):
        out.not_shared = result.message
        return out
    out.notes = list(result.notes)
    out.min_cell = max((r.plan.strictest_min_cell for r in result.releases), default=1)
    table = result.table
    labels = table.column("period_label").to_pylist()
    groups = table.column("group").to_pylist() if "group" in table.column_names else None
    rates = table.column("rate").to_pylist() if result.has_rates else None
    totals: dict[str, float] = {}
    for i, count in enumerate(table.column("count").to_pylist()):
        group = TOTAL if groups is None else str(groups[i])
        key = (str(labels[i]), group)
        out.values[key] = None if count is None else float(count)
        if rates is not None:
            out.rates[key] = None if rates[i] is None else round(float(rates[i]), 3)
        totals[group] = totals.get(group, 0.0) + (count or 0)
    out.groups = sorted(totals, key=lambda g: (g == MISSING, -totals[g], g))
    return out


@dataclass
class AgencyBlock:
    """One agency's part of the page: its series (total by period) and its breakdown."""

    agency: Agency
    own: bool
    series: Cells
    breakdown: Cells | None

    @property
    def label(self) -> str:
        return f"{self.agency.code} ({self.agency.name})"

    def rate(self, period: str, group: str) -> float | None:
        """The rate of a breakdown cell, or of the series when ``group`` is the total."""
        cells = self.series if group == TOTAL or self.breakdown is None else self.breakdown
        return cells.rates.get((period, group))


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
    """Every agency's block for the page (or its download): its series and its breakdown,
    with rates where the indicator has a denominator (by group only over an indicator
    denominator: the hub does not know each group's population)."""
    blocks = []
    for agency, own in agencies_for(user):
        args: dict[str, Any] = {
            "start": start,
            "end": end,
            "period": period,
            "denominator": denominator,
            "export": export,
        }
        series = read_cells(user, purpose, indicator, agency.code, by="", **args)
        breakdown = read_cells(user, purpose, indicator, agency.code, by=by, **args) if by else None
        blocks.append(AgencyBlock(agency, own, series, breakdown))
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
