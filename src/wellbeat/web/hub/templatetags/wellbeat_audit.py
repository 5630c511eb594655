"""Audit entries' details as readable key-value pairs instead of a Python dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_text(item) for item in value) if value else "—"
    return str(value)


def _flatten(details: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in details.items():
        label = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, Mapping) and value:
            pairs += _flatten(value, f"{label} · ")
        elif isinstance(value, Mapping):
            pairs.append((label, "—"))
        else:
            pairs.append((label, _text(value)))
    return pairs


@register.filter
def detail_items(details: Any) -> list[tuple[str, str]]:
    """``{"filter": {"action": "x"}, "rows": 3}`` -> [("filter · action", "x"), ("rows", "3")];
    nested mappings become dotted keys, lists comma-separated text, in the entry's own order."""
    if isinstance(details, Mapping):
        return _flatten(details, "")
    if details in (None, ""):
        return []
    return [("details", _text(details))]
