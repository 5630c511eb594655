"""The navigation registry: apps add their links here and the base template shows the ones
the signed-in user's roles allow.

Governance (and later apps) register links at import time of their ``apps.py`` ``ready()``::

    from wellbeat.web.nav import NavLink, register
    register(NavLink("Agreements", "governance:agreements", roles=None, order=30))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavLink:
    """A navigation entry: label, URL name, the roles that see it (None: every signed-in
    user) and a sort order."""

    label: str
    url_name: str
    roles: frozenset[str] | None = None
    order: int = 50

    def visible_to(self, user: Any) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if self.roles is None:
            return True
        return any(user.has_role(role) for role in self.roles)


_LINKS: dict[str, NavLink] = {}


def register(link: NavLink) -> None:
    """Add (or replace, by URL name) a navigation link."""
    _LINKS[link.url_name] = link


def links_for(user: Any) -> list[dict[str, str]]:
    """The links ``user`` may see, in order, as label/url pairs."""
    shown = []
    for link in sorted(_LINKS.values(), key=lambda item: (item.order, item.label)):
        if not link.visible_to(user):
            continue
        try:
            url = reverse(link.url_name)
        except NoReverseMatch:
            continue
        shown.append({"label": link.label, "url": url, "url_name": link.url_name})
    return shown


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: ``nav_links`` for the signed-in user."""
    user = getattr(request, "user", None)
    return {"nav_links": links_for(user) if user is not None else []}
