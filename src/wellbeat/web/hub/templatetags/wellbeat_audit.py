"""Audit entries' details as readable key-value pairs instead of a Python dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


LIST_SHOWN = 3
"""A long list (e.g. the referrals a page listed) shows its first items and how many more;
the CSV export keeps every one."""


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        items = [_text(item) for item in value]
        if len(items) > LIST_SHOWN + 1:
            shown = ", ".join(items[:LIST_SHOWN])
            return f"{shown} and {len(items) - LIST_SHOWN} more (all in the CSV export)"
        return ", ".join(items) if items else "—"
    return str(value)


def _status(value: Any) -> str:
    """The numbers contract of the pages: a logged number is a counted value or a zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return "zero" if value == 0 else "value"


def _flatten(details: Mapping[str, Any], prefix: str) -> list[tuple[str, str, str]]:
    pairs: list[tuple[str, str, str]] = []
    for key, value in details.items():
        label = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, Mapping) and value:
            pairs += _flatten(value, f"{label} · ")
        elif isinstance(value, Mapping):
            pairs.append((label, "—", ""))
        else:
            pairs.append((label, _text(value), _status(value)))
    return pairs


@register.filter
def detail_items(details: Any) -> list[tuple[str, str, str]]:
    """``{"filter": {"action": "x"}, "rows": 3}`` -> [("filter · action", "x", ""),
    ("rows", "3", "value")]: nested mappings become dotted keys, lists comma-separated text, in
    the entry's own order; numbers say whether they are a value or a zero (``data-status``)."""
    if isinstance(details, Mapping):
        return _flatten(details, "")
    if details in (None, ""):
        return []
    return [("details", _text(details), _status(details))]
