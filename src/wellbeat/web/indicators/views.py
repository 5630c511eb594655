"""Pages of the indicator builder and the equity analysis. Views parse and render; reads go
through the governed service as the viewer (``reads``, ``equity_reads``), changes through
``actions``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from wellbeat.analytics.indicators.catalogue import Indicator, IndicatorError
from wellbeat.analytics.indicators.periods import period_start
from wellbeat.governance import PERIODS
from wellbeat.governance.agreements import PURPOSES
from wellbeat.web.accounts.models import User
from wellbeat.web.indicators import actions
from wellbeat.web.indicators.definitions import (
    catalogue_yaml,
    check_by,
    denominator_code,
    fields_from_definition,
    form_editable,
    shipped_definitions,
)
from wellbeat.web.indicators.equity_reads import (
    PER,
    REFERENCE,
    VEIL_GROUP,
    equity_block,
    equity_tables,
    hub_zone,
    police_agencies_for,
)
from wellbeat.web.indicators.forms import ImportForm, IndicatorForm
from wellbeat.web.indicators.models import CustomIndicator
from wellbeat.web.indicators.reads import (
    MAX_DAYS,
    TOTAL,
    chart_spec,
    download_rows,
    indicator_blocks,
    last_period_incomplete,
)
from wellbeat.web.surveillance.evidence import layer_named, layer_names
from wellbeat.web.surveillance.views import _table_download, data_end

DEFAULT_DAYS = 365
EQUITY_LAYER = "district"
EQUITY_PURPOSE = "program_evaluation"


def _analyst(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    try:
        actions.require_analyst(user)
    except actions.IndicatorDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    return user


def _own(user: User, pk: int) -> CustomIndicator:
    return get_object_or_404(CustomIndicator, pk=pk, agency=user.agency)


def _denominator_choices(user: User, exclude: str = "") -> list[tuple[str, str]]:
    own = CustomIndicator.objects.filter(agency=user.agency).exclude(code=exclude)
    shipped = shipped_definitions()
    return [(r.code, r.name) for r in own] + [
        (code, str(d["name"])) for code, d in shipped.items() if code not in {r.code for r in own}
    ]


def window(
    request: HttpRequest, end_default: dt.date, days: int = DEFAULT_DAYS
) -> tuple[dt.date, dt.date, list[str]]:
    """``start``/``end`` (ISO dates, inclusive) from the query, defaulting to the last
    ``days`` days up to the newest data; problems name the field."""
    problems: list[str] = []
    end = end_default
    raw_end = request.GET.get("end", "").strip()
    if raw_end:
        try:
            end = dt.date.fromisoformat(raw_end)
        except ValueError:
            problems.append(f"field 'end': {raw_end!r} is not a date (expected YYYY-MM-DD)")
    start = end - dt.timedelta(days=days - 1)
    raw_start = request.GET.get("start", "").strip()
    if raw_start:
        try:
            start = dt.date.fromisoformat(raw_start)
        except ValueError:
            problems.append(f"field 'start': {raw_start!r} is not a date (expected YYYY-MM-DD)")
    if start > end:
        problems.append(f"field 'start': {start} is after the end {end}; showing {days} days")
        start = end - dt.timedelta(days=days - 1)
    if (end - start).days >= MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS - 1)
        problems.append(f"field 'start': at most {MAX_DAYS} days at once; from {start}")
    return start, end, problems


@login_required
def indicator_list(request: HttpRequest) -> HttpResponse:
    user = _analyst(request)
    form = ImportForm()
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["catalogue"]
            try:
                text = upload.read().decode("utf-8")
                saved = actions.do_import_catalogue(
                    user, text, upload.name, purpose=form.cleaned_data["purpose"]
                )
            except UnicodeDecodeError:
                form.add_error("catalogue", "the file is not UTF-8 text")
            except IndicatorError as exc:
                form.add_error("catalogue", str(exc))
            else:
                messages.success(
                    request,
                    f"Imported {len(saved)} indicator(s): {', '.join(r.code for r in saved)}.",
                )
                return redirect("indicators:list")
    rows = CustomIndicator.objects.filter(agency=user.agency).select_related("created_by")
    return render(request, "indicators/list.html", {"rows": rows, "form": form})


@login_required
def indicator_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _analyst(request)
    existing = _own(user, pk) if pk is not None else None
    blocked = form_editable(existing.definition) if existing else ""
    choices = _denominator_choices(user, existing.code if existing else "")
    if request.method == "POST" and not blocked:
        form = IndicatorForm(request.POST, denominators=choices)
        if form.is_valid():
            definition = form.definition()
            try:
                row = actions.do_save_indicator(
                    user,
                    definition,
                    purpose=form.cleaned_data["purpose"],
                    existing=existing,
                )
            except IndicatorError as exc:
                form.show_error(exc, definition)
            else:
                messages.success(request, f"Saved {row.name} ({row.code}).")
                return redirect("indicators:detail", pk=row.pk)
    else:
        initial: dict[str, Any] = {}
        if existing is not None:
            initial = {
                **fields_from_definition(existing.definition),
                "purpose": existing.purpose,
            }
        form = IndicatorForm(initial=initial or None, denominators=choices)
    return render(
        request,
        "indicators/edit.html",
        {"form": form, "existing": existing, "blocked": blocked},
    )


@login_required
@require_POST
def indicator_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _analyst(request)
    row = _own(user, pk)
    try:
        actions.do_delete_indicator(user, row)
    except IndicatorError as exc:
        messages.error(request, str(exc))
        return redirect("indicators:detail", pk=pk)
    messages.success(request, f"Deleted {row.code}.")
    return redirect("indicators:list")


def _exported(user: User, row: CustomIndicator) -> list[dict[str, Any]]:
    """The indicator's mapping, and its indicator denominator's, so the file loads alone."""
    items = [dict(row.definition)]
    target = denominator_code(row.definition)
    if target:
        other = CustomIndicator.objects.filter(agency=user.agency, code=target).first()
        shipped = shipped_definitions()
        if other is not None:
            items.append(dict(other.definition))
        elif target in shipped:
            items.append(shipped[target])
    return items


@login_required
def indicator_yaml(request: HttpRequest, pk: int) -> HttpResponse:
    user = _analyst(request)
    row = _own(user, pk)
    text = catalogue_yaml(
        _exported(user, row),
        header=f"wellbeat indicator catalogue: {row.name}, exported by {user.username} "
        f"({row.agency.code})",
    )
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{row.code}.yaml"'
    return response


def _denominator(user: User, row: CustomIndicator, indicator: Indicator) -> Indicator | None:
    code = denominator_code(row.definition)
    if code is None:
        return None
    available = actions.available_denominators(user.agency, row.code)
    return actions.check_definition(user.agency, available[code])


@login_required
def indicator_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _analyst(request)
    row = _own(user, pk)
    indicator = actions.check_definition(user.agency, row.definition)
    period = request.GET.get("period", "") or indicator.period
    if period not in PERIODS:
        raise Http404(f"no period {period!r}: expected one of {', '.join(PERIODS)}")
    by = request.GET.get("by", row.by).strip()
    try:
        by = check_by(by)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    start, end, problems = window(request, data_end())
    if not request.GET.get("start"):  # whole periods: the first one is not cut short
        start = period_start(start, period)
    download = request.GET.get("format", "")
    if download and download not in ("csv", "parquet"):
        raise Http404(f"no download format {download!r}: expected csv or parquet")
    blocks = indicator_blocks(
        user,
        row.purpose,
        indicator,
        start=start,
        end=end,
        period=period,
        by=by,
        denominator=_denominator(user, row, indicator),
        export=bool(download),
    )
    rate = indicator.denominator is not None
    if download:
        rows = download_rows(blocks, rate=rate)
        return _table_download(rows, download, f"{row.code}-{period}-{start}-{end}")
    series_lines = []
    for block in blocks:
        if block.series.not_shared:
            continue
        values = [block.series.count(p, TOTAL) for p in block.series.periods]
        if any(v is not None for v in values):
            series_lines.append({"name": block.label, "y": values, "x": block.series.periods})
    series_chart = (
        {
            "type": "lines",
            "title": f"{indicator.name} by {period}",
            "period": period,
            "unit": f"count per {period.replace('_', ' ')}",
            "x": blocks[0].series.periods if blocks else [],
            "lines": series_lines,
            "left_out": 0,
        }
        if series_lines
        else None
    )
    unit = f"rate per {indicator.factor:,}" if rate else ""
    sections = []
    for i, block in enumerate(blocks):
        cells = block.breakdown
        what = f"{indicator.name} by {by}: {block.agency.code}"
        chart = chart_spec(cells, what, block=block, unit=unit) if cells is not None else None
        sections.append(
            {
                "block": block,
                "cells": cells,
                "chart": chart,
                "chart_id": f"chart-breakdown-{i}",
                "rows": [
                    {
                        "period": p,
                        "cells": [
                            {
                                "status": cells.status(p, g),
                                "count": cells.count(p, g),
                                "rate": block.rate(p, g),
                            }
                            for g in cells.groups
                        ],
                    }
                    for p in cells.periods
                ]
                if cells is not None and not cells.not_shared
                else [],
                "series_rows": [
                    {
                        "period": p,
                        "status": block.series.status(p, TOTAL),
                        "count": block.series.count(p, TOTAL),
                        "rate": block.rate(p, TOTAL),
                    }
                    for p in block.series.periods
                ]
                if not block.series.not_shared
                else [],
            }
        )
    query = {"period": period, "by": by, "start": start.isoformat(), "end": end.isoformat()}
    return render(
        request,
        "indicators/detail.html",
        {
            "row": row,
            "indicator": indicator,
            "yaml": catalogue_yaml([row.definition]),
            "period": period,
            "periods": PERIODS,
            "by": by,
            "start": start,
            "end": end,
            "problems": problems,
            "sections": sections,
            "series_chart": series_chart,
            "rate": rate,
            "incomplete": last_period_incomplete(blocks[0].series, end) if blocks else "",
            "query": urlencode(query),
            "purpose_label": PURPOSES.get(row.purpose, row.purpose),
        },
    )


@login_required
def equity(request: HttpRequest) -> HttpResponse:
    user = _analyst(request)
    start, end, problems = window(request, data_end())
    layer_name = request.GET.get("layer", EQUITY_LAYER)
    layer = layer_named(layer_name)
    if layer is None:
        layers = layer_names()
        if not layers:
            raise Http404("no area layer is installed")
        layer_name = layers[0]
        layer = layer_named(layer_name)
        assert layer is not None
    area = request.GET.get("area", "") or None
    if area is not None and area not in layer.ids:
        problems.append(f"field 'area': {area!r} is not an area of {layer_name}; showing all")
        area = None
    purpose = request.GET.get("purpose", EQUITY_PURPOSE)
    if purpose not in PURPOSES:
        problems.append(f"field 'purpose': {purpose!r} is not a purpose; using {EQUITY_PURPOSE}")
        purpose = EQUITY_PURPOSE
    blocks = [
        equity_block(user, purpose, agency, own, start=start, end=end, layer=layer, area=area)
        for agency, own in police_agencies_for(user)
    ]
    sections = []
    for i, block in enumerate(blocks):
        tables = []
        for table in equity_tables(block, layer):
            chart = table.chart(block.agency.code)
            tables.append(
                {
                    "table": table,
                    "rows": table.rows(),
                    "chart": chart,
                    "chart_id": f"chart-{table.id}-{i}",
                }
            )
        sections.append({"block": block, "tables": tables})
    area_names = dict(zip(layer.ids, layer.names, strict=True))
    return render(
        request,
        "indicators/equity.html",
        {
            "sections": sections,
            "start": start,
            "end": end,
            "problems": problems,
            "layer_name": layer_name,
            "layers": layer_names(),
            "area": area,
            "area_choices": list(zip(layer.ids, layer.names, strict=True)),
            "area_names": area_names,
            "purpose": purpose,
            "purposes": sorted(PURPOSES.items()),
            "reference": REFERENCE,
            "veil_group": VEIL_GROUP,
            "per": PER,
            "zone": hub_zone(),
        },
    )
