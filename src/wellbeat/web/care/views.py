"""Care pages per role: officer (new encounter, refer, my referrals), co-responder, provider
(incoming queue), care coordinator (follow-ups, cases), program manager (measures), the
directory and triage. Views parse and render; ``actions`` decides, writes and audits."""

from __future__ import annotations

import csv
import io
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from wellbeat.care.directory import DirectoryQuery, Match, search
from wellbeat.care.hsds import ServiceUpdate
from wellbeat.care.lifecycle import (
    AWAITING_FIRST_CONTACT,
    CLOSED_STATUSES,
    REASON_REQUIRED,
    TaskStatus,
    allowed_moves,
)
from wellbeat.care.measures import MEASURES, PERIODS
from wellbeat.care.triage import Call
from wellbeat.privacy.pseudonym import Identity
from wellbeat.web.accounts.models import Role, User
from wellbeat.web.care import actions, unlock
from wellbeat.web.care.actions import CareError
from wellbeat.web.care.forms import (
    CallResponseForm,
    ContactForm,
    DirectorySearchForm,
    EncounterForm,
    KeyCreateForm,
    PassphraseChangeForm,
    ResolveForm,
    ServiceUpdateForm,
    StatusForm,
    TriageForm,
    UnlockForm,
    tristate,
)
from wellbeat.web.care.models import (
    AgencyKey,
    ContactStatus,
    DirectoryEntry,
    Encounter,
    FollowUp,
    Notification,
    Referral,
    TriageCall,
)
from wellbeat.web.care.reports import (
    SERIES_COLUMNS,
    care_measure_series,
    care_measures,
    series_record,
)

MOVE_LABELS: dict[TaskStatus, str] = {
    TaskStatus.REQUESTED: "Send",
    TaskStatus.ACCEPTED: "Accept",
    TaskStatus.REJECTED: "Decline",
    TaskStatus.IN_PROGRESS: "Record contact / in progress",
    TaskStatus.ON_HOLD: "Put on hold",
    TaskStatus.FAILED: "Close as failed",
    TaskStatus.COMPLETED: "Complete",
    TaskStatus.CANCELLED: "Cancel",
    TaskStatus.ENTERED_IN_ERROR: "Mark entered in error",
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _need_role(user: User, roles: frozenset[str], what: str) -> None:
    if not any(user.has_role(r) for r in roles):
        raise PermissionDenied(f"{what} needs one of the roles: {', '.join(sorted(roles))}.")


def directory_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _matches(query: DirectoryQuery) -> list[tuple[Match, DirectoryEntry]]:
    entries = {e.service_id: e for e in DirectoryEntry.objects.select_related("agency")}
    views = [e.view() for e in entries.values()]
    found = search(views, query, now=timezone.now(), zone=directory_zone())
    return [(m, entries[m.service.id]) for m in found]


def _moves(user: User, referral: Referral) -> list[dict[str, Any]]:
    sides = actions.sides_of(user, referral)
    seen: list[TaskStatus] = []
    for side in sorted(sides, key=lambda s: s.value, reverse=True):
        for status in allowed_moves(referral.task_status, side):
            if status not in seen:
                seen.append(status)
    return [
        {"status": s.value, "label": MOVE_LABELS[s], "needs_reason": s in REASON_REQUIRED}
        for s in seen
    ]


IDENTITY_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "contact_name",
    "contact_phone",
    "contact_time",
    "contact_address",
)
"""Posted fields that name or locate a person: hidden from Django's error reports."""
PASSPHRASE_FIELDS = ("passphrase", "confirm", "current")


def age_label(delta_seconds: float) -> str:
    """How long ago, briefly: "12 min ago", "3 h ago", "2 d ago"."""
    minutes = int(max(delta_seconds, 0) // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} d ago"


def urgency(referral: Referral, now: Any) -> tuple[str, str]:
    """(label, css class) of how urgently the referral needs the provider: a crisis encounter,
    first contact overdue or due soon."""
    crisis = bool(referral.encounter_id and referral.encounter and referral.encounter.crisis)
    status = referral.task_status
    if status in CLOSED_STATUSES:
        return ("Crisis · closed" if crisis else "Closed", "urgency-closed")
    parts = ["Crisis"] if crisis else []
    due = referral.first_contact_due
    if status in AWAITING_FIRST_CONTACT and referral.first_contact_at is None and due:
        hours = (due - now).total_seconds() / 3600
        if hours < 0:
            parts.append("first contact overdue")
        elif hours <= 24:
            parts.append(f"first contact due in {max(int(hours), 1)} h")
    if not parts:
        return ("Routine", "urgency-routine")
    return (" · ".join(parts).capitalize(), "urgency-high")


def _rows(
    request: HttpRequest, user: User, referrals: list[Referral], where: str
) -> list[dict[str, Any]]:
    """Table rows; contact cards opened (and audited) for the receiving agency's clinicians and
    coordinators whose session unlocked the agency key."""
    keys = unlock.unlocked_keys(request, user) if actions.may_read_contacts(user) else {}
    cards = actions.do_reveal_contacts(user, referrals, keys, where)
    now = timezone.now()
    rows = []
    for referral in referrals:
        access = actions.access_for(user, referral)
        label, css = urgency(referral, now)
        rows.append(
            {
                "referral": referral,
                "status": referral.task_status,
                "withheld": access.withheld if access else "",
                "clinical": bool(access and access.clinical),
                "moves": _moves(user, referral) if access and access.readable else [],
                "card": cards.get(referral.pk),
                "can_unlock": referral.contact_status == ContactStatus.SEALED.value
                and referral.performer_agency_id == user.agency_id
                and actions.may_read_contacts(user)
                and not keys,
                "urgency": label,
                "urgency_class": css,
                "age": age_label((now - referral.authored_on).total_seconds()),
            }
        )
    return rows


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
    return render(
        request,
        "care/home.html",
        {
            "unread": unread,
            "can_record": any(user.has_role(r) for r in actions.ENCOUNTER_ROLES),
            # Only a role that may open the provider queue is offered it (never "Not allowed").
            "is_provider": any(user.has_role(r) for r in actions.PERFORMER_ROLES)
            and (
                actions.incoming_referrals(user).exists()
                or DirectoryEntry.objects.filter(agency=user.agency_id).exists()
            ),
            "is_coordinator": user.has_role(Role.CARE_COORDINATOR.value),
            "is_clinician": user.has_role(Role.CLINICIAN.value),
            "sees_measures": any(user.has_role(r) for r in actions.MEASURE_ROLES),
            "can_triage": any(user.has_role(r) for r in actions.TRIAGE_ROLES),
            "manages_keys": user.agency_id is not None
            and any(user.has_role(r) for r in actions.KEY_ADMIN_ROLES),
        },
    )


@login_required
@never_cache
@sensitive_post_parameters(*IDENTITY_FIELDS)
def encounter_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need_role(user, actions.ENCOUNTER_ROLES, "Recording an encounter")
    form = EncounterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        occurred = data["occurred_at"]
        if timezone.is_naive(occurred):
            occurred = timezone.make_aware(occurred)
        try:
            encounter = actions.do_record_encounter(
                user,
                identity=Identity(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    dob=data["date_of_birth"],
                    sex=data["sex"] or None,
                ),
                occurred_at=occurred,
                place_type=data["place_type"],
                needs=data["needs"],
                crisis=data["crisis"],
                consent_to_refer=data["consent_to_refer"],
                latitude=data["latitude"],
                longitude=data["longitude"],
            )
        except CareError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Encounter recorded. The person's name was not stored.")
            if encounter.consent_to_refer:
                # The refer page straight away (no redirect), with the name just typed filled
                # in for the contact card: it stays in this page, never in the session.
                name = f"{data['first_name'].strip()} {data['last_name'].strip()}"
                return _refer_page(request, encounter, ContactForm(initial={"contact_name": name}))
            return redirect("care:my_referrals")
    return render(request, "care/encounter_form.html", {"form": form})


@login_required
@never_cache
@sensitive_post_parameters(*IDENTITY_FIELDS)
def encounter_refer(request: HttpRequest, public_id: str) -> HttpResponse:
    user = _user(request)
    encounter = get_object_or_404(
        actions.encounters_for(user).select_related("agency"), public_id=public_id
    )
    if request.method != "POST":
        return _refer_page(request, encounter, ContactForm())
    entry = get_object_or_404(DirectoryEntry, service_id=request.POST.get("service_id", ""))
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _refer_page(request, encounter, form)
    try:
        referral = actions.do_refer(
            user,
            encounter,
            entry,
            contact=form.card(),
            contact_consent=form.cleaned_data["share_contact"],
        )
    except CareError as exc:
        messages.error(request, exc.message)
        return _refer_page(request, encounter, form)
    note = {
        ContactStatus.SEALED.value: "the person's contact details are sealed for "
        f"{referral.performer_agency.name} only",
        ContactStatus.NOT_CONSENTED.value: "without contact details (the person did not agree "
        "to share them)",
        ContactStatus.NO_KEY.value: f"without contact details: {referral.performer_agency.name} "
        "has no key for them yet, so call the service",
    }.get(referral.contact_status, "without contact details")
    messages.success(request, f"Referral sent to {referral.service_name}; {note}.")
    return redirect("care:my_referrals")


def _refer_page(request: HttpRequest, encounter: Encounter, form: ContactForm) -> HttpResponse:
    near = (
        (encounter.latitude, encounter.longitude)
        if encounter.latitude is not None and encounter.longitude is not None
        else None
    )
    query = DirectoryQuery(needs=tuple(encounter.needs), near=near, accepting_referrals=True)
    matches = _matches(query)
    keyed = set(
        AgencyKey.objects.filter(retired_at__isnull=True).values_list("agency_id", flat=True)
    )
    return render(
        request,
        "care/encounter_refer.html",
        {
            "encounter": encounter,
            "matches": matches,
            "keyed": keyed,
            "form": form,
            "referred": list(encounter.referrals.values_list("service_id", flat=True)),
        },
    )


@login_required
@never_cache
def my_referrals(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    referrals = list(actions.referrals_sent_by(user)[:200])
    updates: dict[int, list[Notification]] = {}
    for note in Notification.objects.filter(user=user, referral__in=referrals)[:1000]:
        updates.setdefault(note.referral_id, []).append(note)
    actions.do_mark_notifications_read(user)
    actions.record_list_access(user, "care:my_referrals", referrals)
    rows = _rows(request, user, referrals, "care:my_referrals")
    for row in rows:
        notes = updates.get(row["referral"].pk, [])
        row["updates"] = notes
        row["new_updates"] = sum(1 for n in notes if n.read_at is None)
    # Referrals with news first (newest news first), then the rest as they were.
    rows.sort(key=lambda r: -(r["updates"][0].created_at.timestamp()) if r["new_updates"] else 0)
    fresh = [r for r in rows if r["new_updates"]]
    return render(
        request,
        "care/my_referrals.html",
        {"rows": rows, "fresh": fresh, "new_total": sum(r["new_updates"] for r in fresh)},
    )


@login_required
@never_cache
def referral_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    user = _user(request)
    referral = get_object_or_404(
        Referral.objects.select_related(
            "referrer_agency", "performer_agency", "entry", "encounter", "contact_key"
        ),
        public_id=public_id,
    )
    try:
        access = actions.do_open_referral(user, referral)
    except CareError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from exc
        return render(request, "care/withheld.html", {"reason": exc.message}, status=403)
    events = (
        list(referral.events.select_related("actor", "actor_agency")) if access.clinical else []
    )
    (row,) = _rows(request, user, [referral], f"referral:{referral.public_id}")
    return render(
        request,
        "care/referral_detail.html",
        {
            "referral": referral,
            "status": referral.task_status,
            "access": access,
            "events": events,
            "moves": _moves(user, referral),
            "row": row,
        },
    )


@login_required
@require_POST
def referral_status(request: HttpRequest, public_id: str) -> HttpResponse:
    user = _user(request)
    referral = get_object_or_404(Referral, public_id=public_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
    else:
        try:
            updated = actions.do_change_status(
                user, referral, form.cleaned_data["status"], form.cleaned_data["reason"]
            )
        except CareError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"Referral to {updated.service_name}: {updated.task_status.label}."
            )
    back = request.POST.get("next", "")
    if back.startswith("/care/"):
        return redirect(back)
    return redirect("care:referral", public_id=referral.public_id)


@login_required
@never_cache
def provider_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need_role(user, actions.PERFORMER_ROLES, "The provider queue")
    referrals = list(
        actions.incoming_referrals(user)
        .select_related("encounter")
        .order_by("closed_at", "-authored_on")[:200]
    )
    actions.record_list_access(user, "care:provider_queue", referrals)
    return render(
        request,
        "care/provider_queue.html",
        {
            "rows": _rows(request, user, referrals, "care:provider_queue"),
            "reads_contacts": actions.may_read_contacts(user),
            "unlocked_minutes": unlock.minutes_left(request)
            if unlock.unlocked_keys(request, user)
            else 0,
            "has_key": actions.current_key(user.agency_id) is not None,
        },
    )


@login_required
@never_cache
@sensitive_post_parameters(*PASSPHRASE_FIELDS)
def contact_unlock(request: HttpRequest) -> HttpResponse:
    """A clinician or coordinator opens the agency's contact key for this session."""
    user = _user(request)
    _need_role(user, actions.CONTACT_READER_ROLES, "Opening contact details")
    back = request.POST.get("next") or request.GET.get("next") or ""
    if not back.startswith("/care/"):
        back = reverse("care:provider_queue")
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            keys = actions.do_unlock_contact_keys(user, form.cleaned_data["passphrase"])
        except CareError as exc:
            form.add_error("passphrase" if exc.code == "forbidden" else None, exc.message)
        else:
            response = redirect(back)
            unlock.remember(request, response, user, keys)
            messages.success(
                request,
                f"Contact details unlocked for {unlock.UNLOCK_SECONDS // 60} minutes "
                "in this browser.",
            )
            return response
    return render(request, "care/unlock.html", {"form": form, "next": back})


@login_required
@require_POST
def contact_lock(request: HttpRequest) -> HttpResponse:
    response = redirect("care:provider_queue")
    unlock.forget(request, response)
    messages.success(request, "Contact details locked.")
    return response


@login_required
@never_cache
@sensitive_post_parameters(*PASSPHRASE_FIELDS)
def contact_keys(request: HttpRequest) -> HttpResponse:
    """The agency admin creates the agency's contact key or changes its passphrase."""
    user = _user(request)
    _need_role(user, actions.KEY_ADMIN_ROLES, "Managing contact keys")
    create = KeyCreateForm(request.POST if request.POST.get("action") == "create" else None)
    change = PassphraseChangeForm(request.POST if request.POST.get("action") == "change" else None)
    if request.method == "POST":
        try:
            if create.is_bound and create.is_valid():
                key = actions.do_create_agency_key(user, create.cleaned_data["passphrase"])
                messages.success(request, f"New contact key {key.fingerprint} is in use.")
                return redirect("care:contact_keys")
            if change.is_bound and change.is_valid():
                count = actions.do_change_key_passphrase(
                    user, change.cleaned_data["current"], change.cleaned_data["passphrase"]
                )
                messages.success(request, f"Passphrase changed for {count} key(s).")
                return redirect("care:contact_keys")
        except CareError as exc:
            (create if create.is_bound else change).add_error(None, exc.message)
    keys = AgencyKey.objects.filter(agency=user.agency_id)
    return render(
        request, "care/contact_keys.html", {"keys": keys, "create": create, "change": change}
    )


@login_required
def coordinator_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need_role(user, frozenset({Role.CARE_COORDINATOR.value}), "The follow-up queue")
    actions.do_raise_overdue_followups()
    followups = list(actions.followups_for(user))
    referrals = list(actions.agency_referrals(user).select_related("encounter")[:200])
    actions.record_list_access(user, "care:coordinator", referrals)
    return render(
        request,
        "care/coordinator.html",
        {
            "followups": followups,
            "rows": _rows(request, user, referrals, "care:coordinator"),
            "form": ResolveForm(),
        },
    )


@login_required
@require_POST
def followup_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    followup = get_object_or_404(FollowUp, pk=pk)
    form = ResolveForm(request.POST)
    try:
        actions.do_resolve_followup(
            user, followup, form.data.get("resolution", "") if form.is_bound else ""
        )
    except CareError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Follow-up closed.")
    return redirect("care:coordinator")


@login_required
def coresponder(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need_role(user, frozenset({Role.CLINICIAN.value}), "The co-responder page")
    encounters = list(actions.encounters_for(user).filter(recorded_by=user)[:50])
    calls = list(
        TriageCall.objects.filter(
            agency=user.agency_id, recommended_response="co_responder"
        ).filter(outcome="")[:50]
    )
    referrals = list(actions.referrals_sent_by(user).select_related("encounter")[:100])
    actions.record_list_access(user, "care:coresponder", referrals)
    return render(
        request,
        "care/coresponder.html",
        {
            "encounters": encounters,
            "calls": calls,
            "rows": _rows(request, user, referrals, "care:coresponder"),
        },
    )


@login_required
def measures(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need_role(user, actions.MEASURE_ROLES, "Care measures")
    period = request.GET.get("period", "month")
    if period not in PERIODS:
        period = "month"
    series = care_measure_series(period)
    if request.GET.get("format") == "csv":
        actions.record_measures_export(user, period, len(series))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=SERIES_COLUMNS)
        writer.writeheader()
        writer.writerows(series_record(row) for row in series)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="care-measures-{period}.csv"'
        return response
    # One row per period, one cell per measure, newest first.
    by_period: dict[str, dict[str, Any]] = {}
    for row in series:
        by_period.setdefault(row.label, {"label": row.label, "cells": []})["cells"].append(row)
    return render(
        request,
        "care/measures.html",
        {
            "measures": care_measures(),
            "definitions": MEASURES,
            "period": period,
            "periods": PERIODS,
            "series": list(reversed(by_period.values())),
        },
    )


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = DirectorySearchForm(request.GET or None)
    matches: list[tuple[Match, DirectoryEntry]] = []
    if not request.GET:
        matches = _matches(DirectoryQuery())
    elif form.is_valid():
        data = form.cleaned_data
        near = (data["latitude"], data["longitude"]) if data.get("latitude") is not None else None
        try:
            query = DirectoryQuery(
                needs=tuple(data["needs"]),
                text=data["text"],
                language=data["language"] or None,
                near=near,
                within_km=data["within_km"],
                open_at=timezone.now() if data["open_now"] else None,
                accepting_referrals=data["accepting"],
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            matches = _matches(query)
    return render(
        request,
        "care/directory.html",
        {"form": form, "matches": matches, "my_agency": user.agency_id},
    )


@login_required
def service_edit(request: HttpRequest, service_id: str) -> HttpResponse:
    user = _user(request)
    entry = get_object_or_404(DirectoryEntry, service_id=service_id)
    if entry.agency_id is None or entry.agency_id != user.agency_id:
        raise PermissionDenied("Only the organisation that runs a service may update it.")
    view = entry.view()
    initial = {
        "status": view.status,
        "accepting_referrals": view.accepting_referrals,
        "first_contact_hours": view.first_contact_hours,
        "alert": entry.document.get("alert", ""),
    }
    form = ServiceUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_update_service(
                user,
                entry,
                ServiceUpdate(
                    status=data["status"],
                    accepting_referrals=data["accepting_referrals"],
                    first_contact_hours=data["first_contact_hours"],
                    alert=data["alert"],
                ),
            )
        except CareError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{entry.name} is up to date.")
            return redirect("care:directory")
    return render(request, "care/service_form.html", {"form": form, "entry": entry})


@login_required
def triage_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need_role(user, actions.TRIAGE_ROLES, "Triage")
    form = TriageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        call = Call(
            call_type=data["call_type"],
            dispatch_code=data["dispatch_code"],
            narrative=data["narrative"],
            weapon=tristate(data["weapon"]),
            violence=tristate(data["violence"]),
            medical=tristate(data["medical"]),
            area=data["area"],
        )
        try:
            row, _ = actions.do_record_call(user, call)
        except CareError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("care:triage_call", public_id=row.public_id)
    calls = TriageCall.objects.filter(agency=user.agency_id)[:50]
    return render(
        request,
        "care/triage.html",
        {"form": form, "calls": calls, "rules": actions.current_rules()},
    )


@login_required
def triage_call(request: HttpRequest, public_id: str) -> HttpResponse:
    user = _user(request)
    _need_role(user, actions.TRIAGE_ROLES, "Triage")
    call = get_object_or_404(TriageCall, public_id=public_id, agency=user.agency_id)
    initial = {"actual_response": call.actual_response or call.recommended_response}
    form = CallResponseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_record_call_response(
                user, call, form.cleaned_data["actual_response"], form.cleaned_data["outcome"]
            )
        except CareError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Response and outcome recorded.")
            return redirect(reverse("care:triage"))
    return render(request, "care/triage_call.html", {"call": call, "form": form})


@login_required
def encounter_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need_role(user, actions.REFERRER_ROLES, "Encounters")
    encounters: list[Encounter] = list(actions.encounters_for(user)[:100])
    return render(request, "care/encounters.html", {"encounters": encounters})
