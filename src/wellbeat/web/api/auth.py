"""API authentication: agency tokens (scoped, revocable, stored hashed; see
``wellbeat.web.accounts.tokens``) and signed-in browser sessions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from wellbeat.web.accounts.models import ApiToken, User
from wellbeat.web.accounts.tokens import SCOPES, TOKEN_PREFIX, hash_token, register_scope
from wellbeat.web.api.errors import CSRF_MESSAGE, ApiError

__all__ = ["SCOPES", "AgencyTokenAuth", "UserSessionAuth", "register_scope"]


class AgencyTokenAuth(HttpBearer):
    """``Authorization: Bearer wbt_...``: an active token of an agency holding every scope in
    ``scopes``. Sets ``request.agency`` and ``request.api_token``."""

    def __init__(self, scopes: Iterable[str] = ()) -> None:
        super().__init__()
        self.scopes = tuple(scopes)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        found = (
            ApiToken.objects.select_related("agency")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .first()
        )
        if found is None:
            return None
        missing = [scope for scope in self.scopes if not found.has_scope(scope)]
        if missing:
            raise ApiError(
                "insufficient_scope",
                f"token {found.prefix} lacks scope {', '.join(missing)}",
                {"required": list(self.scopes), "granted": list(found.scopes)},
                status=403,
            )
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.agency = found.agency
        request.api_token = found
        return found


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, refusing with ``ApiError("csrf_failed")`` and Django's reason."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        raise ApiError("csrf_failed", CSRF_MESSAGE, {"reason": reason}, status=403)


def _no_view(request: HttpRequest) -> HttpResponse:
    return HttpResponseForbidden()


def check_csrf(request: HttpRequest) -> None:
    """Raise 403 ``csrf_failed`` unless the request passes Django's CSRF check (safe methods
    always do)."""
    check = _CsrfCheck(_no_view)
    request.csrf_processing_done = False
    check.process_request(request)
    check.process_view(request, _no_view, (), {})


class UserSessionAuth(APIKeyCookie):
    """A signed-in browser user (password + second factor done), optionally needing one of
    ``roles``. Unsafe methods need the CSRF token. Sets ``request.agency``."""

    param_name = "sessionid"

    def __init__(self, roles: Iterable[str] = (), csrf: bool = True) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=csrf)
        self.roles = tuple(str(r) for r in roles)

    def _get_key(self, request: HttpRequest) -> str | None:
        # CSRF protects a signed-in session: without one there is nothing to forge, and the
        # request goes on to the next method (an agency token) or is answered 401.
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in and self.csrf and not getattr(request, "_ninja_csrf_exempt", False):
            check_csrf(request)
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
            return None
        if self.roles and not any(user.has_role(role) for role in self.roles):
            raise ApiError(
                "forbidden",
                f"this endpoint needs one of the roles: {', '.join(self.roles)}",
                {"required_roles": list(self.roles), "your_roles": list(user.roles)},
                status=403,
            )
        request.agency = user.agency
        return user
