"""Agency contact keys unlocked for one browser session, for a limited time.

The unwrapped private key is never kept at rest in the clear: it is encrypted under a random
key (``SessionVault``) that only the browser holds, in an HttpOnly, SameSite=Strict cookie; the
encrypted key sits in the server-side session. A stolen database (sessions included) lacks the
cookie; a stolen cookie lacks the session. Both expire after ``UNLOCK_SECONDS``; signing out
flushes the session and with it the encrypted key.
"""

from __future__ import annotations

import base64
import binascii
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from nacl.public import PrivateKey

from wellbeat.care.sealing import SealingError, SessionVault
from wellbeat.web.accounts.models import User

COOKIE_NAME = "wellbeat_contact_key"
SESSION_KEY = "care_contact_keys"
UNLOCK_SECONDS = 30 * 60
"""How long an unlock lasts before the passphrase is asked again."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())


def remember(
    request: HttpRequest, response: HttpResponse, user: User, keys: dict[int, PrivateKey]
) -> None:
    """Keep ``keys`` for this session: encrypted in the session, their key in a cookie."""
    cookie_key = SessionVault.new_cookie_key()
    request.session[SESSION_KEY] = {
        "user": user.pk,
        "agency": user.agency_id,
        "expires": time.time() + UNLOCK_SECONDS,
        "keys": {str(pk): _b64(SessionVault.lock(key, cookie_key)) for pk, key in keys.items()},
    }
    response.set_cookie(
        COOKIE_NAME,
        _b64(cookie_key),
        max_age=UNLOCK_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def forget(request: HttpRequest, response: HttpResponse) -> None:
    request.session.pop(SESSION_KEY, None)
    response.delete_cookie(COOKIE_NAME, samesite="Strict")


def unlocked_keys(request: HttpRequest, user: User) -> dict[int, PrivateKey]:
    """The agency keys this session unlocked, if still in time and for this user and agency."""
    held = request.session.get(SESSION_KEY)
    cookie = request.COOKIES.get(COOKIE_NAME, "")
    if not isinstance(held, dict) or not cookie:
        return {}
    if (
        held.get("user") != user.pk
        or held.get("agency") != user.agency_id
        or float(held.get("expires", 0)) < time.time()
    ):
        request.session.pop(SESSION_KEY, None)
        return {}
    try:
        cookie_key = _unb64(cookie)
        return {int(pk): SessionVault.open(_unb64(v), cookie_key) for pk, v in held["keys"].items()}
    except (SealingError, binascii.Error, ValueError, KeyError, AttributeError):
        return {}


def minutes_left(request: HttpRequest) -> int:
    held = request.session.get(SESSION_KEY)
    if not isinstance(held, dict):
        return 0
    return max(0, int((float(held.get("expires", 0)) - time.time()) // 60))
