"""Agency API token material: format, hashing and the scope registry.

A token looks like ``wbt_<prefix>_<secret>``; the hub stores only its SHA-256 (the secret is
256 bits of randomness, so a fast hash is enough) and shows the full token once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

TOKEN_PREFIX = "wbt_"

SCOPES: dict[str, str] = {
    "batches:write": "upload prepared batches of the token's own agency",
}
"""Known token scopes and what they allow; apps add theirs with ``register_scope``."""


def register_scope(name: str, description: str) -> None:
    """Make a scope available to agency API tokens (e.g. governance's query scopes)."""
    SCOPES[name] = description


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (token, prefix) pair; the prefix identifies the token in lists and the audit."""
    prefix = secrets.token_hex(4)
    return f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    """Sorted known scopes; an unknown one is an error listing the known ones."""
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise ValueError(
            f"unknown scope(s) {', '.join(unknown)}; known scopes: {', '.join(sorted(SCOPES))}"
        )
    if not chosen:
        raise ValueError(
            f"a token needs at least one scope; known scopes: {', '.join(sorted(SCOPES))}"
        )
    return chosen
