"""TOTP second factor (RFC 6238, 30-second steps, 6 digits) with replay protection."""

from __future__ import annotations

import hmac
import time

import pyotp

STEP_SECONDS = 30
VALID_WINDOW = 1
"""Accept the previous and next step too, for clock drift between phone and server."""


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str = "wellbeat") -> str:
    """The otpauth:// URI authenticator apps import."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def current_code(secret: str, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(int(at if at is not None else time.time()))


def matching_step(secret: str, code: str, last_step: int, at: float | None = None) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and newer than ``last_step``
    (a code already used cannot be replayed); else None."""
    code = code.strip().replace(" ", "")
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    now = int(at if at is not None else time.time())
    totp = pyotp.TOTP(secret)
    current = now // STEP_SECONDS
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def format_secret(secret: str) -> str:
    """Secret in groups of four for typing into an authenticator app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
