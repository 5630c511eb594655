"""``{% count_cell %}``: a count as the viewer may see it, with its ``data-status``.

Every count a surveillance page shows says what it is: a number (``value``), a true zero
(``zero``), a cell hidden by small-cell suppression (``suppressed``) or data no agreement shares
with the viewer (``not-shared``, naming who holds it). Never 0 for the last two."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from wellbeat.web.surveillance.evidence import NOT_SHARED, SUPPRESSED, ZERO

register = template.Library()


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


@register.simple_tag
def count_cell(
    status: str,
    value: float | int | None,
    min_cell: int = 1,
    held_by: str = "",
    tag: str = "td",
    suffix: str = "",
) -> SafeString:
    """``<td data-status=...>`` (or another ``tag``) with the count or what stands for it."""
    if status == NOT_SHARED:
        text = "not shared with you" + (f" ({held_by})" if held_by else "")
    elif status == SUPPRESSED:
        text = f"suppressed (fewer than {min_cell})"
    elif status == ZERO:
        text = "0"
    else:
        text = _number(value) + suffix
    return format_html('<{0} data-status="{1}">{2}</{0}>', tag, status, text)


@register.simple_tag
def number_cell(value: float | int | None, tag: str = "td") -> SafeString:
    """A number that is not a governed count (an expected value, a population): ``value``,
    or ``zero`` for 0; an absent number is an empty cell with no status."""
    if value is None:
        return format_html("<{0}></{0}>", tag)
    status = "zero" if float(value) == 0 else "value"
    return format_html('<{0} data-status="{1}">{2}</{0}>', tag, status, _number(value))
