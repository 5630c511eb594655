"""``{% source_quality_panel %}``: the per-source data-quality table for the hub's home page."""

from __future__ import annotations

from typing import Any

from django import template

from wellbeat.web.governance.service import system_source_quality

register = template.Library()


@register.inclusion_tag("surveillance/_home_quality.html")
def source_quality_panel() -> dict[str, Any]:
    try:
        reports = system_source_quality("home-quality")
    except Exception as exc:  # an unreadable lake must not take the home page down
        return {"reports": [], "error": f"data-quality monitors unavailable: {exc}"}
    return {"reports": reports, "error": ""}
