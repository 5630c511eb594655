"""Sign-in (password, then TOTP or TOTP enrolment), sign-out, and agency administration pages.
Views parse and render; every change goes through ``wellbeat.web.accounts.actions``."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.hashers import make_password
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from wellbeat.web.accounts import actions, totp
from wellbeat.web.accounts.forms import (
    AcceptInvitationForm,
    DeactivateForm,
    LoginForm,
    NewUserForm,
    RolesForm,
    TokenForm,
    TotpForm,
)
from wellbeat.web.accounts.middleware import LAST_SEEN_KEY, SECOND_FACTOR_KEY
from wellbeat.web.accounts.models import ApiToken, Role, User
from wellbeat.web.accounts.tokens import SCOPES

PENDING_KEY = "wellbeat.pending_login"


def bad_credentials_message() -> str:
    """The one answer to every failed password step (unknown user, wrong password, locked or
    deactivated account): it must not tell a prober whether the account exists."""
    minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
    return (
        "Username or password is incorrect, or the account is locked after repeated failed "
        f"attempts (it unlocks after {minutes} minutes, or ask your agency admin)."
    )


def role_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page decorator: signed in, and holding one of ``roles`` (403 otherwise)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if roles and not any(user.has_role(r) for r in roles):
                raise PermissionDenied(
                    "This page needs one of the roles: "
                    + ", ".join(str(Role(r).label) for r in roles)
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


SECOND_FACTOR_NEEDED = (
    "Changing who can see what needs a session that passed the second factor: sign out and "
    "sign in again with a code from your authenticator app."
)


def second_factor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admin-page decorator: refuse (403) a session that did not pass TOTP, whatever the
    user's roles, so no change to users, roles or tokens rests on a password alone."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.session.get(SECOND_FACTOR_KEY):
            raise PermissionDenied(SECOND_FACTOR_NEEDED)
        return view(request, *args, **kwargs)

    return wrapper


def _remote_addr(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _locked_message(user: User) -> str:
    until = user.locked_until.strftime("%H:%M UTC") if user.locked_until else "later"
    return (
        f"This account is locked after {settings.LOGIN_MAX_FAILURES} failed attempts. "
        f"Try again after {until}, or ask your agency admin to unlock it."
    )


def _pending_user(request: HttpRequest) -> tuple[User | None, dict[str, Any]]:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, {}
    if time.time() - float(pending.get("at", 0)) > settings.SECOND_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, {}
    user = User.objects.filter(pk=pending.get("user_id"), is_active=True).first()
    return user, pending


def _complete_login(request: HttpRequest, user: User, second_factor: str) -> HttpResponse:
    next_url = request.session.get(PENDING_KEY, {}).get("next")
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SECOND_FACTOR_KEY] = second_factor != "none"
    request.session[LAST_SEEN_KEY] = time.time()
    actions.do_record_login_success(
        user, second_factor=second_factor, remote_addr=_remote_addr(request)
    )
    return redirect(_safe_next(request, next_url))


@never_cache
@require_http_methods(["GET", "POST"])
def login_password(request: HttpRequest) -> HttpResponse:
    """Step one: username and password."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip()
        password = form.cleaned_data["password"]
        user = User.objects.select_related("agency").filter(username__iexact=username).first()
        if user is None:
            make_password(password)  # same work as a real check: no timing hint
            actions.do_record_login_failure(
                None, username, "unknown user", remote_addr=_remote_addr(request)
            )
            form.add_error(None, bad_credentials_message())
        elif user.is_locked():
            make_password(password)
            actions.do_record_login_failure(
                user, username, "account locked", remote_addr=_remote_addr(request), count=False
            )
            form.add_error(None, bad_credentials_message())
        elif not user.check_password(password) or not user.is_active:
            reason = "wrong password" if user.is_active else "account deactivated"
            actions.do_record_login_failure(
                user, username, reason, remote_addr=_remote_addr(request)
            )
            form.add_error(None, bad_credentials_message())
        else:
            request.session.cycle_key()
            request.session[PENDING_KEY] = {
                "user_id": user.pk,
                "at": time.time(),
                "next": request.GET.get("next", ""),
            }
            if user.totp_confirmed_at is not None:
                return redirect("accounts:login_verify")
            if user.requires_second_factor:
                return redirect("accounts:login_enrol")
            return _complete_login(request, user, "none")
    return render(request, "wellbeat/accounts/login.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """Step two: the current TOTP code."""
    user, _ = _pending_user(request)
    if user is None or user.totp_confirmed_at is None:
        messages.info(request, "Please sign in with your username and password first.")
        return redirect("accounts:login")
    if user.is_locked():
        request.session.pop(PENDING_KEY, None)
        messages.error(request, _locked_message(user))
        return redirect("accounts:login")
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if actions.use_totp_code(user, form.cleaned_data["code"]):
            return _complete_login(request, user, "totp")
        updated = actions.do_record_login_failure(
            user, user.username, "wrong second-factor code", remote_addr=_remote_addr(request)
        )
        if updated is not None and updated.is_locked():
            request.session.pop(PENDING_KEY, None)
            messages.error(request, _locked_message(updated))
            return redirect("accounts:login")
        form.add_error(
            "code", "That code is not valid (or was already used). Wait for the next code."
        )
    return render(request, "wellbeat/accounts/verify.html", {"form": form, "pending": user})


@never_cache
@require_http_methods(["GET", "POST"])
def login_enrol(request: HttpRequest) -> HttpResponse:
    """Step two for a first sign-in: add the hub to an authenticator app, then type a code."""
    user, pending = _pending_user(request)
    if user is None or user.totp_confirmed_at is not None:
        messages.info(request, "Please sign in with your username and password first.")
        return redirect("accounts:login")
    secret = pending.get("secret")
    if not secret:
        secret = totp.new_secret()
        pending["secret"] = secret
        request.session[PENDING_KEY] = pending
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = totp.matching_step(secret, form.cleaned_data["code"], 0)
        if step is not None:
            user = actions.do_confirm_totp(user, secret, step)
            return _complete_login(request, user, "totp")
        actions.do_record_login_failure(
            user, user.username, "wrong code during enrolment", remote_addr=_remote_addr(request)
        )
        form.add_error("code", "That code does not match. Check the key and try the next code.")
    context = {
        "form": form,
        "pending": user,
        "secret": totp.format_secret(secret),
        "otpauth_uri": totp.provisioning_uri(secret, user.username),
    }
    return render(request, "wellbeat/accounts/enrol.html", context)


INVITATION_SECRET_KEY = "wellbeat.invitation_totp"


@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """A new user's invitation link: set their own password and, when their roles need a
    second factor, add the hub to their authenticator app and type a code from it."""
    if request.user.is_authenticated:
        logout(request)
    invitation = actions.find_invitation(token)
    if invitation is None:
        return render(request, "wellbeat/accounts/invitation_invalid.html", status=404)
    invited = invitation.user
    needs_code = actions.invitation_needs_totp(invited)
    secret = ""
    if needs_code:
        held = request.session.get(INVITATION_SECRET_KEY)
        if isinstance(held, dict) and held.get("invitation") == invitation.pk:
            secret = str(held["secret"])
        else:
            secret = totp.new_secret()
            request.session[INVITATION_SECRET_KEY] = {"invitation": invitation.pk, "secret": secret}
    form = AcceptInvitationForm(request.POST or None, needs_code=needs_code)
    if request.method == "POST" and form.is_valid():
        step = 0
        matched = totp.matching_step(secret, form.cleaned_data["code"], 0) if needs_code else 0
        if matched is None:
            form.add_error("code", "That code does not match. Check the key and try the next code.")
        else:
            step = matched
            try:
                actions.do_accept_invitation(
                    token,
                    form.cleaned_data["new_password1"],
                    totp_secret=secret,
                    totp_step=step,
                    remote_addr=_remote_addr(request),
                )
            except actions.AccountError as exc:
                field, _, text = str(exc).partition(": ")
                target = {"password": "new_password1", "code": "code"}.get(field)
                form.add_error(target if target in form.fields else None, text or str(exc))
            else:
                request.session.pop(INVITATION_SECRET_KEY, None)
                messages.success(request, "Your account is ready: sign in with your new password.")
                return redirect("accounts:login")
    context: dict[str, Any] = {"form": form, "invited": invited, "needs_code": needs_code}
    if needs_code:
        context["secret"] = totp.format_secret(secret)
        context["otpauth_uri"] = totp.provisioning_uri(secret, invited.username)
    return render(request, "wellbeat/accounts/invitation_accept.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        actions.do_record_logout(request.user)
    logout(request)
    messages.success(request, "You are signed out.")
    return redirect("accounts:login")


# --- Agency administration -----------------------------------------------------------------


@role_required(Role.AGENCY_ADMIN)
def agency_users(request: HttpRequest) -> HttpResponse:
    admin: User = request.user
    users = User.objects.filter(agency=admin.agency).order_by("username")
    return render(
        request, "wellbeat/accounts/agency_users.html", {"users": users, "agency": admin.agency}
    )


def _show_invitation(request: HttpRequest, issued: actions.IssuedInvitation) -> HttpResponse:
    """The link is shown once, to the admin who hands it to the new user; never stored."""
    context = {
        "invited": issued.user,
        "link": request.build_absolute_uri(issued.path()),
        "expires_at": issued.invitation.expires_at,
    }
    return render(request, "wellbeat/accounts/invitation_issued.html", context)


@role_required(Role.AGENCY_ADMIN)
@second_factor_required
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    admin: User = request.user
    form = NewUserForm(request.POST or None, agency=admin.agency)
    if request.method == "POST" and form.is_valid():
        assert admin.agency is not None
        try:
            issued = actions.do_invite_user(
                actor=admin,
                agency=admin.agency,
                username=form.cleaned_data["username"],
                roles=form.cleaned_data["roles"],
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
            )
        except actions.AccountError as exc:
            field = str(exc).split(":", 1)[0]
            form.add_error(field if field in form.fields else None, str(exc))
        else:
            return _show_invitation(request, issued)
    return render(request, "wellbeat/accounts/user_create.html", {"form": form})


@role_required(Role.AGENCY_ADMIN)
@second_factor_required
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    admin: User = request.user
    target = get_object_or_404(User, pk=user_id)
    if target.agency_id != admin.agency_id:
        raise Http404("No such user in your agency.")
    roles_form = RolesForm(initial={"roles": target.roles}, agency=target.agency)
    deactivate_form = DeactivateForm()
    if request.method == "POST":
        operation = request.POST.get("operation", "")
        try:
            if operation == "roles":
                roles_form = RolesForm(request.POST, agency=target.agency)
                if roles_form.is_valid():
                    actions.do_set_roles(admin, target, roles_form.cleaned_data["roles"])
                    messages.success(request, f"Saved the roles of {target.username}.")
                    return redirect("accounts:user_detail", user_id=target.pk)
            elif operation == "deactivate":
                deactivate_form = DeactivateForm(request.POST)
                if deactivate_form.is_valid():
                    actions.do_deactivate_user(
                        admin, target, deactivate_form.cleaned_data["reason"]
                    )
                    messages.success(request, f"Deactivated {target.username}.")
                    return redirect("accounts:user_detail", user_id=target.pk)
            elif operation == "reactivate":
                actions.do_reactivate_user(admin, target)
                messages.success(request, f"Reactivated {target.username}.")
                return redirect("accounts:user_detail", user_id=target.pk)
            elif operation == "reset_totp":
                actions.do_reset_totp(admin, target)
                messages.success(
                    request,
                    f"Reset the second factor of {target.username}: they enrol a new "
                    "authenticator at their next sign-in.",
                )
                return redirect("accounts:user_detail", user_id=target.pk)
            elif operation == "reinvite":
                return _show_invitation(request, actions.do_reissue_invitation(admin, target))
            else:
                messages.error(request, f"Unknown operation {operation!r}.")
        except actions.AccountError as exc:
            messages.error(request, str(exc))
    context = {"target": target, "roles_form": roles_form, "deactivate_form": deactivate_form}
    return render(request, "wellbeat/accounts/user_detail.html", context)


@role_required(Role.AGENCY_ADMIN)
@second_factor_required
@require_http_methods(["GET", "POST"])
def agency_tokens(request: HttpRequest) -> HttpResponse:
    admin: User = request.user
    form = TokenForm(scopes=SCOPES)
    issued: actions.IssuedToken | None = None
    if request.method == "POST":
        if request.POST.get("operation") == "revoke":
            token = ApiToken.objects.filter(
                agency=admin.agency, prefix=request.POST.get("prefix", "")
            ).first()
            if token is None:
                raise Http404("No such token in your agency.")
            actions.do_revoke_api_token(admin, token)
            messages.success(request, f"Revoked token {token.prefix} ({token.name}).")
            return redirect("accounts:agency_tokens")
        form = TokenForm(request.POST, scopes=SCOPES)
        if form.is_valid():
            try:
                issued = actions.do_create_api_token(
                    admin, form.cleaned_data["name"], form.cleaned_data["scopes"]
                )
            except actions.AccountError as exc:
                form.add_error(None, str(exc))
            else:
                form = TokenForm(scopes=SCOPES)
    tokens = ApiToken.objects.filter(agency=admin.agency).select_related("created_by")
    context = {"form": form, "tokens": tokens, "issued": issued, "agency": admin.agency}
    return render(request, "wellbeat/accounts/agency_tokens.html", context)
