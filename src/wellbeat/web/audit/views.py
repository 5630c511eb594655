"""The auditor's page: filter the log, page through it, export the selection as CSV."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from wellbeat.web.accounts.models import Role, User
from wellbeat.web.accounts.views import role_required
from wellbeat.web.audit import actions as audit
from wellbeat.web.audit.forms import AuditFilterForm
from wellbeat.web.audit.queries import AuditFilter, csv_lines, filter_entries

PAGE_SIZE = 50


def _filter_from(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilter | None]:
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        return form, AuditFilter()
    if form.is_valid():
        return form, form.to_filter()
    return form, None


@role_required(Role.AUDITOR)
def audit_viewer(request: HttpRequest) -> HttpResponse:
    viewer: User = request.user
    form, audit_filter = _filter_from(request)
    page = None
    if audit_filter is not None:
        paginator = Paginator(filter_entries(viewer, audit_filter), PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "hub_wide": viewer.agency is not None and viewer.agency.is_hub,
    }
    return render(request, "wellbeat/audit/viewer.html", context)


@role_required(Role.AUDITOR)
def audit_export(request: HttpRequest) -> HttpResponse:
    """CSV of the filtered selection; the export itself is audited first."""
    viewer: User = request.user
    form, audit_filter = _filter_from(request)
    if audit_filter is None:
        return render(
            request,
            "wellbeat/audit/viewer.html",
            {"form": form, "page": None, "query": ""},
            status=400,
        )
    entries = filter_entries(viewer, audit_filter)
    with transaction.atomic():
        audit.record(
            audit.AUDIT_EXPORTED,
            actor=viewer,
            agency=viewer.agency,
            target="audit:csv",
            details={"filter": audit_filter.as_dict(), "rows": entries.count()},
        )
    response = StreamingHttpResponse(csv_lines(entries.iterator()), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="wellbeat-audit-{stamp}.csv"'
    return response
