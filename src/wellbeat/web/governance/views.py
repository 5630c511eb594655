"""Governance pages: agreements (draft, review, approve, revoke, history), consents, and the
governed query page. Views parse and render; ``actions`` and ``service`` do the work."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from wellbeat.governance import Refusal
from wellbeat.governance.agreements import PURPOSES
from wellbeat.web.accounts.models import HUB_SECTOR, Agency, Role, User
from wellbeat.web.governance import actions, service
from wellbeat.web.governance.forms import (
    AgreementDraftForm,
    ConsentForm,
    GovernedQueryForm,
    ReasonForm,
)
from wellbeat.web.governance.models import AgreementSide, Consent, visible_agreements


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _can_draft(user: User) -> bool:
    return user.has_role(Role.AGENCY_ADMIN) or user.has_role(Role.HUB_ADMIN)


@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    today = timezone.localdate()
    rows = [
        {"agreement": a, "status": a.effective_status(today), "approved": a.approved_sides()}
        for a in visible_agreements(user)
    ]
    return render(
        request,
        "governance/agreement_list.html",
        {"rows": rows, "can_draft": _can_draft(user)},
    )


@login_required
def agreement_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not _can_draft(user):
        raise PermissionDenied("Drafting an agreement needs the agency admin role.")
    initial = {"valid_from": timezone.localdate(), "min_cell": 10}
    if user.agency is not None:
        initial["provider"] = user.agency.code
    form = AgreementDraftForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agreement = actions.do_draft_agreement(
                user,
                title=data["title"],
                provider=data["provider"],
                recipient=data["recipient"],
                purpose=data["purpose"],
                granularity=data["granularity"],
                finest_layer=data["finest_layer"] or None,
                finest_period=data["finest_period"] or None,
                min_cell=data["min_cell"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                recipient_roles=data["recipient_roles"],
                sectors=data["sectors"] or None,
                kinds=data["kinds"] or None,
                syndromes=data["syndromes"] or None,
                fields=data["fields"],
                reason=data["reason"],
            )
        except actions.GovernanceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Agreement {agreement.code} drafted. It takes effect once an admin of each "
                "agency approves it.",
            )
            return redirect("governance:agreement", code=agreement.code)
    return render(request, "governance/agreement_form.html", {"form": form})


@login_required
def agreement_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    agreement = get_object_or_404(visible_agreements(user), code=code)
    status = agreement.effective_status()
    side = agreement.side_of(user.agency_id)
    approved = agreement.approved_sides()
    is_admin = user.has_role(Role.AGENCY_ADMIN)
    context = {
        "agreement": agreement,
        "status": status,
        "approvals": list(agreement.approvals.select_related("approved_by", "agency")),
        "events": list(agreement.events.select_related("actor")),
        "sides": [(label, value in approved) for value, label in AgreementSide.choices],
        "can_approve": is_admin and status == "draft" and side is not None and side not in approved,
        "can_revoke": status in ("draft", "active")
        and ((is_admin and side is not None) or user.has_role(Role.HUB_ADMIN)),
        "reason_form": ReasonForm(),
        "purpose_label": PURPOSES.get(agreement.purpose, agreement.purpose),
    }
    return render(request, "governance/agreement_detail.html", context)


@login_required
@require_POST
def agreement_approve(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    agreement = get_object_or_404(visible_agreements(user), code=code)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        agreement = actions.do_approve_agreement(user, agreement, reason)
    except actions.GovernanceError as exc:
        messages.error(request, exc.message)
    else:
        if agreement.status == "active":
            messages.success(request, f"Agreement {code} approved by both agencies: now active.")
        else:
            messages.success(request, f"Agreement {code} approved; waiting for the other agency.")
    return redirect("governance:agreement", code=code)


@login_required
@require_POST
def agreement_revoke(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    agreement = get_object_or_404(visible_agreements(user), code=code)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        actions.do_revoke_agreement(user, agreement, reason)
    except actions.GovernanceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Agreement {code} revoked: reads under it stop now.")
    return redirect("governance:agreement", code=code)


def _can_manage_consents(user: User) -> bool:
    return any(user.has_role(r) for r in actions.CONSENT_ROLES)


@login_required
def consent_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    given = (
        Consent.objects.filter(disclosing_agency_id=user.agency_id)
        .select_related("disclosing_agency")
        .prefetch_related("recipients")
    )
    received = (
        Consent.objects.filter(recipients__id=user.agency_id)
        .select_related("disclosing_agency")
        .prefetch_related("recipients")
    )
    now = timezone.now()
    return render(
        request,
        "governance/consent_list.html",
        {
            "given": [(c, c.state(now)) for c in given],
            "received": [(c, c.state(now)) for c in received],
            "can_manage": _can_manage_consents(user),
            "reason_form": ReasonForm(),
        },
    )


@login_required
def consent_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not _can_manage_consents(user):
        raise PermissionDenied(
            "Recording consents needs the agency admin, clinician or care coordinator role."
        )
    form = ConsentForm(request.POST or None, initial={"signed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            consent = actions.do_record_consent(
                user,
                person_token=data["person_token"],
                information=data["information"],
                recipients=list(data["recipients"]),
                purpose=data["purpose"],
                signed_on=data["signed_on"],
                expires_on=data["expires_on"],
                expiry_event=data["expiry_event"],
            )
        except actions.GovernanceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Consent {consent.code} recorded.")
            return redirect("governance:consents")
    return render(request, "governance/consent_form.html", {"form": form})


@login_required
@require_POST
def consent_revoke(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    consent = get_object_or_404(Consent, code=code, disclosing_agency_id=user.agency_id)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        actions.do_revoke_consent(user, consent, reason)
    except actions.GovernanceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Consent {code} revoked: the next read already excludes it.")
    return redirect("governance:consents")


def _query_choices(user: User) -> tuple[list[str], list[str]]:
    """Every agency (a refusal then says what is missing) and the hub's area layers."""
    providers = sorted(Agency.objects.exclude(sector=HUB_SECTOR).values_list("code", flat=True))
    return providers, list(service.layer_order().layers)


@login_required
def governed_query(request: HttpRequest) -> HttpResponse:
    """Choose an indicator, an area layer and a period; see the governed table or a CSV."""
    user = _user(request)
    if user.agency is None:
        raise PermissionDenied("Your account belongs to no agency, so it cannot read data.")
    agencies, layers = _query_choices(user)
    submitted = "purpose" in request.GET
    form = GovernedQueryForm(request.GET if submitted else None, agencies=agencies, layers=layers)
    context: dict = {"form": form, "submitted": submitted}
    if submitted and form.is_valid():
        export = request.GET.get("format") == "csv"
        outcome = service.governed_aggregate(
            user, form.cleaned_data["purpose"], form.to_request(), export=export
        )
        if isinstance(outcome, Refusal):
            context["refusal"] = outcome
        else:
            table = outcome.table
            if export:
                return _csv_response(table.column_names, table.to_pylist())
            context.update(
                release=outcome,
                columns=table.column_names,
                rows=[[row[c] for c in table.column_names] for row in table.to_pylist()],
                csv_query=request.GET.urlencode() + "&format=csv",
            )
    return render(request, "governance/query.html", context)


def _csv_response(columns: list[str], rows: list[dict]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="governed-query-{stamp}.csv"'
    return response
