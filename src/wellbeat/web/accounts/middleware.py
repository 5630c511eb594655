"""Session policy applied on every request: idle timeout and the second-factor requirement."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from wellbeat.web.accounts.models import User
from wellbeat.web.api.errors import API_PREFIX, error_response

LAST_SEEN_KEY = "wellbeat.last_seen"
SECOND_FACTOR_KEY = "wellbeat.second_factor"
_TOUCH_EVERY_SECONDS = 15


class SessionPolicyMiddleware:
    """Signs a user out after ``SESSION_IDLE_SECONDS`` without a request, and when their roles
    now need a second factor the session never passed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated:
            refused = self._enforce(request, user)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _enforce(self, request: HttpRequest, user: User) -> HttpResponse | None:
        from wellbeat.web.accounts import actions

        now = time.time()
        last_seen = request.session.get(LAST_SEEN_KEY)
        idle_limit = settings.SESSION_IDLE_SECONDS
        if isinstance(last_seen, int | float) and now - last_seen > idle_limit:
            actions.do_record_logout(user, reason="idle")
            logout(request)
            minutes = max(1, idle_limit // 60)
            return self._signed_out(
                request,
                f"You were signed out after {minutes} minutes without activity. "
                "Please sign in again.",
            )
        if user.requires_second_factor and not request.session.get(SECOND_FACTOR_KEY):
            logout(request)
            return self._signed_out(
                request, "Your account now needs a second factor. Please sign in again."
            )
        if not isinstance(last_seen, int | float) or now - last_seen > _TOUCH_EVERY_SECONDS:
            request.session[LAST_SEEN_KEY] = now
        return None

    @staticmethod
    def _signed_out(request: HttpRequest, message: str) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return error_response(401, "session_expired", message)
        messages.info(request, message)
        return redirect_to_login(request.get_full_path())
