"""Form rendering that ties help text and errors to their input for screen readers."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


def help_id(field: BoundField) -> str:
    return f"{field.auto_id}-help"


def error_id(field: BoundField) -> str:
    return f"{field.auto_id}-error"


@register.simple_tag
def accessible_widget(field: BoundField) -> SafeString:
    """The field's input with aria-describedby (help, error) and aria-invalid when wrong."""
    described = []
    if field.help_text:
        described.append(help_id(field))
    if field.errors:
        described.append(error_id(field))
    attrs: dict[str, str] = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return SafeString(field.as_widget(attrs=attrs))


@register.filter
def field_help_id(field: BoundField) -> str:
    return help_id(field)


@register.filter
def field_error_id(field: BoundField) -> str:
    return error_id(field)


FOLD_AFTER = 5
"""A long list of check boxes shows its first choices (the common ones come first) and folds
the rest under "N more"."""

FOLD_WHEN_MORE_THAN = 8


@register.filter
def choice_groups(field: BoundField) -> dict[str, object]:
    """The field's choices split into those always shown and those folded away; the fold
    starts open when one of the folded choices is ticked or the field has an error."""
    choices = list(field)
    if len(choices) <= FOLD_WHEN_MORE_THAN:
        return {"shown": choices, "folded": [], "open": False}
    folded = choices[FOLD_AFTER:]
    ticked = {str(value) for value in (field.value() or [])}
    opened = bool(field.errors) or any(str(c.data["value"]) in ticked for c in folded)
    return {"shown": choices[:FOLD_AFTER], "folded": folded, "open": opened}
