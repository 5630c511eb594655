"""Surveillance pages: overview, indicator explorer, alert list and detail with transitions,
subscriptions with delivery state, spike thresholds. Views parse and render; reads go through
``governed_aggregate`` as the viewer, changes through ``actions``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import plotly
import pyarrow as pa
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from wellbeat.analytics.alerts import DEFAULT_SPIKE_THRESHOLD, METHODS
from wellbeat.analytics.indicators.catalogue import UNRELIABLE_BELOW
from wellbeat.analytics.indicators.compute import table_bytes
from wellbeat.web.accounts.models import Role, User
from wellbeat.web.governance.service import hub_today
from wellbeat.web.surveillance import actions
from wellbeat.web.surveillance.evidence import (
    PERIOD_WORDS,
    GovernedSeries,
    area_map,
    area_rate_rows,
    choose_series,
    governed_area_totals,
    layer_named,
    layer_names,
    viewable_agencies,
)
from wellbeat.web.surveillance.models import Alert, AlertStatus, Channel, SpikeThreshold
from wellbeat.web.surveillance.watchlist import DEFAULT_LAYER, WATCHED, WATCHLIST

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
"""Plotly's bundled JavaScript, served from the installed package (no CDN, no copy step)."""

OVERVIEW_DAYS = 90
EVIDENCE_DAYS = 56


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def plotly_js(request: HttpRequest) -> FileResponse:
    """The installed plotly.min.js (same origin, so the strict CSP allows it)."""
    if not PLOTLY_JS.is_file():
        raise Http404("plotly's bundled JavaScript is missing from the installed package")
    response = FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def data_end() -> dt.date:
    """The day dashboards end on: the newest signal the job saw, else yesterday (local days
    of the hub's time zone)."""
    newest = Alert.objects.exclude(kind="data_quality").aggregate(d=Max("last_signal_on"))["d"]
    return newest or hub_today() - dt.timedelta(days=1)


def _visible(user: User, rows: Any) -> list[Alert]:
    return actions.visible_alerts(user, rows)


def latest_complete(series: GovernedSeries) -> dict[str, Any] | None:
    """The newest complete period of a series with its count and status (a card's number)."""
    for period, observed, status in zip(
        reversed(series.periods),
        reversed(series.observed),
        reversed(series.statuses),
        strict=True,
    ):
        if period != series.incomplete:
            return {"period": period, "count": observed, "status": status}
    return None


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    end = data_end()
    start = end - dt.timedelta(days=OVERVIEW_DAYS - 1)
    cards = []
    for spec in (w for w in WATCHLIST if w.overview):
        series = choose_series(user, spec, start=start, end=end)
        cards.append(
            {
                "spec": spec,
                "series": series,
                "chart": {**series.chart(spec.label), "type": "sparkline"},
                # The last complete period as released, with its status (never a fake 0).
                "latest": latest_complete(series),
            }
        )
    open_alerts = Alert.objects.exclude(status=AlertStatus.CLOSED).order_by(
        "-last_signal_on", "-pk"
    )
    latest = _visible(user, open_alerts[:300])[:10]
    return render(
        request,
        "surveillance/overview.html",
        {"cards": cards, "alerts": latest, "start": start, "end": end},
    )


EXPORT_FORMATS = ("csv", "parquet")


def _table_download(rows: list[dict[str, Any]], fmt: str, name: str) -> HttpResponse:
    """The explorer's series or area table as a CSV or Parquet file (suppressed counts empty)."""
    content = table_bytes(pa.Table.from_pylist(rows), fmt)
    kind = "application/vnd.apache.parquet" if fmt == "parquet" else "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


MAX_EXPLORER_DAYS = 3 * 366
"""The longest window the explorer reads at once."""


def explorer_window(
    request: HttpRequest, spec_period: str, end_default: dt.date
) -> tuple[dt.date, dt.date, list[str]]:
    """The explorer's date range from ``start``/``end`` (ISO dates), defaulting to the last 120
    days (a year for weekly indicators) up to the newest data; problems name the field."""
    problems: list[str] = []
    days = 365 if spec_period == "week" else 120
    end = end_default
    raw_end = request.GET.get("end", "").strip()
    if raw_end:
        try:
            end = min(dt.date.fromisoformat(raw_end), end_default)
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
    if (end - start).days >= MAX_EXPLORER_DAYS:
        start = end - dt.timedelta(days=MAX_EXPLORER_DAYS - 1)
        problems.append(f"field 'start': at most {MAX_EXPLORER_DAYS} days at once; from {start}")
    return start, end, problems


@login_required
def explorer(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    spec = WATCHED.get(request.GET.get("indicator", ""), WATCHLIST[0])
    layer_name = request.GET.get("layer", DEFAULT_LAYER)
    layer = layer_named(layer_name)
    area = request.GET.get("area", "") or None
    period = request.GET.get("period", "")
    if period not in PERIOD_WORDS:
        period = ""
    start, end, problems = explorer_window(request, spec.period, data_end())
    if layer is None or (area is not None and area not in layer.ids):
        area = None
    download = request.GET.get("format", "")
    if download and download not in EXPORT_FORMATS:
        raise Http404(f"no download format {download!r}: expected csv or parquet")
    wanted = request.GET.get("table", "series")
    if download and wanted == "areas":
        if layer is None:
            raise Http404(f"no area layer {layer_name!r}")
        exported = governed_area_totals(user, spec, layer_name, start, end, export=download)
        if exported.refusal:
            raise PermissionDenied(exported.refusal)
        if exported.not_shared:
            # Not a file of empty rows: say why there is nothing this viewer may download.
            agency = user.agency.code if user.agency else "your account"
            raise PermissionDenied(
                f"Nothing to download: there are no {spec.label} counts by {layer_name} "
                f"from {start} to {end} that {agency} may see ({exported.not_shared}). "
                f"{agency} sees its own events and those a data-sharing agreement in force "
                f"shares with it for {spec.purpose.replace('_', ' ')}."
            )
        return _table_download(
            area_rate_rows(layer, exported), download, f"{spec.id}-by-{layer_name}-{start}-{end}"
        )
    series = choose_series(
        user,
        spec,
        start=start,
        end=end,
        period=period,
        layer=layer_name if area else None,
        area=area,
        export=download or False,
    )
    if download:
        if series.refusal:
            raise PermissionDenied(series.refusal)
        name = f"{spec.id}-{area or 'city'}-{series.period}-{start}-{end}"
        return _table_download(series.table(), download, name)
    chart_map = None
    totals = None
    if layer is not None:
        totals = governed_area_totals(user, spec, layer_name, start, end)
        if not (totals.refusal or totals.not_shared):
            chart_map = area_map(
                layer,
                totals,
                highlight=(area,) if area else (),
                title=f"{spec.label} by {layer_name}, {start} to {end}",
            )
    where = "the whole city"
    if series.layer and series.area:
        shown_layer = layer if series.layer == layer_name else layer_named(series.layer)
        if shown_layer is not None and series.area in shown_layer.ids:
            where = f"{shown_layer.names[shown_layer.index_of(series.area)]} ({series.layer})"
    query = {
        "indicator": spec.id,
        "layer": layer_name,
        "area": area or "",
        "period": period,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    return render(
        request,
        "surveillance/explorer.html",
        {
            "spec": spec,
            "watchlist": WATCHLIST,
            "layer": layer,
            "layer_name": layer_name,
            "layers": layer_names(),
            "area_choices": list(zip(layer.ids, layer.names, strict=True)) if layer else [],
            "area": area,
            "where": where,
            "period": period,
            "periods": [(p, words[0]) for p, words in PERIOD_WORDS.items()],
            "problems": problems,
            "series": series,
            "chart_series": series.chart(
                f"{spec.label}: {where}, {PERIOD_WORDS[series.period][0]}"
            ),
            "chart_map": chart_map,
            "totals": totals,
            "area_rows": area_rate_rows(layer, totals) if totals is not None else [],
            "unreliable_below": UNRELIABLE_BELOW,
            "start": start,
            "end": end,
            "query": urlencode(query),
        },
    )


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = request.GET.get("status", "open")
    rows = Alert.objects.all()
    if status == "open":
        rows = rows.exclude(status=AlertStatus.CLOSED)
    elif status in AlertStatus.values:
        rows = rows.filter(status=status)
    return render(
        request,
        "surveillance/alert_list.html",
        {
            "alerts": _visible(user, rows[:1000])[:200],
            "status": status,
            "statuses": AlertStatus.choices,
        },
    )


def visible_alert_or_404(user: User, pk: int) -> Alert:
    alert = get_object_or_404(Alert, pk=pk)
    if not actions.can_see(user, alert):
        raise Http404("no such alert")
    return alert


@login_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    alert = visible_alert_or_404(user, pk)
    context: dict[str, Any] = {"alert": alert, "signals": alert.signals.all()}
    context["history"] = alert.events.select_related("actor")
    spec = WATCHED.get(alert.indicator)
    if spec is not None and alert.area:
        # Two weeks past the last signal, so a weekly signal's week and the next are complete.
        end = min(alert.last_signal_on + dt.timedelta(days=13), data_end())
        start = alert.started_on - dt.timedelta(days=EVIDENCE_DAYS)
        # The series the alert was raised on, at the finest period the viewer may see without
        # most of it suppressed (the owning agency sees its own counts in full).
        agencies, left_out = viewable_agencies(user, spec, tuple(alert.agencies), alert.layer)
        series = choose_series(
            user,
            spec,
            start=start,
            end=end,
            layer=alert.layer,
            area=alert.area,
            agencies=agencies or tuple(alert.agencies),
            method=alert.method if alert.method in METHODS else None,
        )
        if agencies:
            series.notes.extend(left_out)
        step = 7 if series.period == "week" else 1
        series.signals = sorted(
            {
                (s.period - dt.timedelta(days=s.period.weekday() if step == 7 else 0)).isoformat()
                for s in context["signals"]
            }
        )
        hidden_signals = [
            p
            for p, status in zip(series.periods, series.statuses, strict=True)
            if p in series.signals and status == "suppressed"
        ]
        if hidden_signals:
            owners = ", ".join(alert.agencies)
            series.notes.insert(
                0,
                f"The count of the signal {series.period} ({', '.join(hidden_signals)}) is "
                f"suppressed for you (fewer than {series.min_cell}); it is marked on the chart. "
                f"The agency that owns the data ({owners}) sees it in full.",
            )
        context["series"] = series
        shown = alert.area_name if series.area == alert.area else f"{series.area} ({series.layer})"
        context["chart_series"] = series.chart(
            f"{alert.indicator_label}: {shown}, {PERIOD_WORDS[series.period][0]}"
        )
        layer = layer_named(alert.layer)
        if layer is not None:
            window_start = alert.started_on
            # The episode's periods in full (a weekly signal's date is its week's Monday).
            window_end = alert.last_signal_on + dt.timedelta(days=6 if spec.period == "week" else 0)
            totals = governed_area_totals(user, spec, alert.layer, window_start, window_end)
            context["totals"] = totals
            if not (totals.refusal or totals.not_shared):
                context["chart_map"] = area_map(
                    layer,
                    totals,
                    highlight=(alert.area,),
                    context=tuple(alert.neighbours),
                    title=f"{alert.area_name} and its neighbours, {window_start} to {window_end}",
                )
    context["can_acknowledge"] = alert.status == AlertStatus.NEW
    context["can_investigate"] = alert.status in (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED)
    context["can_close"] = alert.is_open
    return render(request, "surveillance/alert_detail.html", context)


@login_required
@require_POST
def alert_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    alert = visible_alert_or_404(user, pk)
    do = actions.TRANSITION_ACTIONS.get(action)
    if do is None:
        raise Http404(f"no transition {action}")
    note = request.POST.get("note", "")
    try:
        do(user, alert, note)
    except actions.AlertError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Alert {alert.pk}: {action} recorded.")
    return redirect("surveillance:alert", pk=alert.pk)


@login_required
def subscriptions(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        try:
            actions.do_subscribe(
                user,
                channel=request.POST.get("channel", ""),
                target=request.POST.get("target", ""),
                indicator=request.POST.get("indicator", ""),
                areas=request.POST.get("areas", "").replace(";", ",").split(","),
                method=request.POST.get("method", ""),
            )
        except actions.AlertError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Subscription saved.")
            return redirect("surveillance:subscriptions")
    subs = user.alert_subscriptions.prefetch_related("deliveries__alert")
    return render(
        request,
        "surveillance/subscriptions.html",
        {
            "subscriptions": subs,
            "channels": Channel.choices,
            "watchlist": WATCHLIST,
            "methods": METHODS,
        },
    )


@login_required
@require_POST
def unsubscribe(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    sub = get_object_or_404(user.alert_subscriptions, pk=pk)
    actions.do_unsubscribe(user, sub)
    messages.success(request, "Subscription removed.")
    return redirect("surveillance:subscriptions")


@login_required
def thresholds(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (user.has_role(Role.AGENCY_ADMIN) or user.has_role(Role.HUB_ADMIN)):
        raise PermissionDenied("Setting spike thresholds needs the agency admin role.")
    if request.method == "POST":
        try:
            value = int(request.POST.get("threshold", ""))
        except ValueError:
            messages.error(request, "field 'threshold': expected a whole number >= 1")
        else:
            try:
                actions.do_set_spike_threshold(
                    user,
                    request.POST.get("indicator", ""),
                    request.POST.get("layer", DEFAULT_LAYER),
                    request.POST.get("area", "").strip(),
                    value,
                )
            except actions.AlertError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Threshold saved.")
                return redirect("surveillance:thresholds")
    layer = layer_named(DEFAULT_LAYER)
    return render(
        request,
        "surveillance/thresholds.html",
        {
            "rows": SpikeThreshold.objects.select_related("agency", "set_by"),
            "default": DEFAULT_SPIKE_THRESHOLD,
            "spiky": [w for w in WATCHLIST if w.spikes],
            "layer": layer,
            "layer_name": DEFAULT_LAYER,
        },
    )
