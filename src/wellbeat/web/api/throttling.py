"""Rate limits of the JSON API (django-ninja's throttling): one count per agency API token,
one per signed-in user, one per address for unauthenticated clients.

The rates are read from ``settings.API_RATES`` on every request (``WELLBEAT_API_RATE_*``,
docs/api.md), and the counts live in Django's default cache (``WELLBEAT_CACHE_URL``). A refused
request is answered 429 in the API's one error shape with ``Retry-After`` (see
``wellbeat.web.api.errors``). Authentication runs first: a request without valid credentials
is answered 401 and counts nowhere.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import BaseThrottle, SimpleRateThrottle

from wellbeat.web.env import parse_rate

THROTTLED_ATTRIBUTE = "wellbeat_throttled"
"""Set on a refused request: (scope, rate) of the limit it hit, for the 429 message."""

SCOPE_NAMES = {
    "token": "this API token",
    "user": "your account",
    "anon": "your address (unauthenticated)",
}


class HubRateThrottle(SimpleRateThrottle):
    """A sliding-window limit whose rate is ``settings.API_RATES[scope]``, read per request
    (so a changed setting applies without rebuilding the API)."""

    scope = ""

    def __init__(self) -> None:
        # Ninja parses a fixed rate when the API is built; ours is read per request.
        self.rate = None
        self.num_requests = None
        self.duration = None

    def ident(self, request: HttpRequest) -> str | None:
        """Whose count this request goes to; None when this limit does not apply to it."""
        raise NotImplementedError

    def get_cache_key(self, request: HttpRequest) -> str | None:
        ident = self.ident(request)
        if ident is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = settings.API_RATES.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = parse_rate(self.rate)
        allowed = super().allow_request(request)
        if not allowed:
            setattr(request, THROTTLED_ATTRIBUTE, (self.scope, self.rate))
        return allowed


class TokenRateThrottle(HubRateThrottle):
    """Requests authenticated by one agency API token (``AgencyTokenAuth``)."""

    scope = "token"

    def ident(self, request: HttpRequest) -> str | None:
        token = getattr(request, "api_token", None)
        return None if token is None else str(token.pk)


class UserRateThrottle(HubRateThrottle):
    """Requests of one signed-in user's browser sessions (``UserSessionAuth``)."""

    scope = "user"

    def ident(self, request: HttpRequest) -> str | None:
        if getattr(request, "api_token", None) is not None:
            return None  # counted per token
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return str(user.pk)


class AnonRateThrottle(HubRateThrottle):
    """Requests to the operations that need no credentials, per client address."""

    scope = "anon"

    def ident(self, request: HttpRequest) -> str | None:
        if getattr(request, "auth", None) is not None:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        return self.get_ident(request) or "unknown"


def api_throttles() -> list[BaseThrottle]:
    """The limits every API operation applies."""
    return [TokenRateThrottle(), UserRateThrottle(), AnonRateThrottle()]
