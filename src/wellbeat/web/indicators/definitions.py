"""Custom indicators as catalogue entries: the builder form's fields to a catalogue mapping and
back, validation by the catalogue's own parser, and YAML import and export.

The web builder writes the same mapping a catalogue file holds (docs/indicators.md), then lets
``parse_catalogue`` judge it, so an indicator saved in the web app and one loaded from a file
obey the same rules and fail with the same field-named messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from wellbeat.analytics.indicators.catalogue import (
    BY_CHOICES,
    AttributeCondition,
    Criteria,
    Indicator,
    IndicatorError,
    default_catalogue,
    parse_catalogue,
)
from wellbeat.governance import ATTRIBUTE_BY_PREFIX, valid_attribute_dimension

CONDITION_ROWS = 3
"""Attribute conditions the builder form offers (a YAML import may carry more)."""
WEB_SOURCE = "indicator form"


def _split(text: str) -> list[str]:
    """Values typed into one box, separated by commas or new lines (spaces kept inside)."""
    return [v.strip() for v in re.split(r"[,\n]", text or "") if v.strip()]


def condition_dict(condition: AttributeCondition) -> Any:
    if condition.greater_than is not None:
        return {"greater_than": condition.greater_than}
    values = list(condition.equals or ())
    return values[0] if len(values) == 1 else values


def term_dict(term: Criteria) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("sectors", "kinds", "syndromes", "codes"):
        value = getattr(term, name)
        if value is not None:
            out[name] = list(value)
    if term.attributes:
        out["attributes"] = {c.name: condition_dict(c) for c in term.attributes}
    return out


def indicator_dict(indicator: Indicator) -> dict[str, Any]:
    """The catalogue mapping of a parsed indicator (what a file would hold for it)."""
    out: dict[str, Any] = {
        "code": indicator.code,
        "name": indicator.name,
        "description": indicator.description,
        "numerator": [term_dict(t) for t in indicator.numerator],
    }
    if indicator.denominator is not None:
        out["denominator"] = (
            "population"
            if indicator.denominator.kind == "population"
            else {"indicator": indicator.denominator.indicator}
        )
    out["factor"] = indicator.factor
    out["period"] = indicator.period
    if indicator.unreliable_below != 20:
        out["unreliable_below"] = indicator.unreliable_below
    if indicator.repeat_within_days is not None:
        out["repeat_within_days"] = indicator.repeat_within_days
    if indicator.by:
        out["by"] = list(indicator.by)
    if indicator.references:
        out["references"] = list(indicator.references)
    return out


def denominator_code(definition: Mapping[str, Any]) -> str | None:
    spec = definition.get("denominator")
    if isinstance(spec, Mapping) and isinstance(spec.get("indicator"), str):
        return str(spec["indicator"])
    return None


def shipped_definitions() -> dict[str, dict[str, Any]]:
    """The shipped catalogue's indicators as mappings, by code (possible denominators)."""
    return {i.code: indicator_dict(i) for i in default_catalogue().indicators}


def validate(
    definition: Mapping[str, Any],
    available: Mapping[str, Mapping[str, Any]],
    source: str = WEB_SOURCE,
) -> Indicator:
    """Parse one catalogue mapping with the catalogue's rules. An indicator denominator must
    be among ``available`` (the agency's other indicators and the shipped ones): it is put
    beside the entry in a two-entry catalogue, so the one-level rule is the catalogue's own.
    Raises ``IndicatorError`` naming the field."""
    entries: list[Any] = [dict(definition)]
    target = denominator_code(definition)
    if target is not None and target in available and target != definition.get("code"):
        entries.append(dict(available[target]))
    text = yaml.safe_dump({"indicators": entries}, sort_keys=False, allow_unicode=True)
    catalogue = parse_catalogue(text, source)
    indicator = catalogue.indicators[0]
    problems = web_problems(indicator)
    if problems:
        field_name, message = problems[0]
        raise IndicatorError(
            message, source=source, indicator=indicator.code, field_name=field_name
        )
    return indicator


def web_problems(indicator: Indicator) -> list[tuple[str, str]]:
    """What the governed pages cannot compute, as (field, message): the governed service
    counts plain filters, so a person-level repeat window or terms that overlap (an event in
    two terms would count twice when their counts are added) are refused with the field."""
    out = []
    if indicator.repeat_within_days is not None:
        out.append(
            (
                "repeat_within_days",
                "a person-level repeat window cannot be computed from governed counts; "
                "leave it out (the hub computes such indicators itself)",
            )
        )
    if not indicator.terms_disjoint:
        out.append(
            (
                "numerator",
                "with several terms, each must name its kinds and no kind may be in two terms "
                "(otherwise an event could count twice)",
            )
        )
    return out


def check_by(name: str) -> str:
    """A breakdown as a request's dimension: ``attribute:NAME`` (a bare attribute name is
    taken as one) or one of the catalogue's other breakdowns (sex, age_band ...); a
    ``ValueError`` says what is wrong."""
    name = name.strip()
    if not name or name in BY_CHOICES:
        return name
    dimension = name if name.startswith(ATTRIBUTE_BY_PREFIX) else f"{ATTRIBUTE_BY_PREFIX}{name}"
    if not valid_attribute_dimension(dimension):
        raise ValueError(
            f"{name!r} is not a breakdown: an attribute name matching [a-z][a-z0-9_]* "
            f"(attribute:NAME) or one of {', '.join(BY_CHOICES)}"
        )
    return dimension


# -- the builder form's fields <-> one catalogue mapping ---------------------------------------


def definition_from_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue mapping the builder form describes (one numerator term). Blank boxes are
    left out, so the catalogue's parser says what is missing."""
    term: dict[str, Any] = {}
    kinds = [k for k in data.get("kinds") or [] if k]
    if kinds:
        term["kinds"] = kinds
    codes = _split(str(data.get("codes") or ""))
    if codes:
        term["codes"] = codes
    attributes: dict[str, Any] = {}
    for i in range(1, CONDITION_ROWS + 1):
        name = str(data.get(f"attribute_{i}") or "").strip()
        values = _split(str(data.get(f"values_{i}") or ""))
        if name or values:
            attributes[name] = values
    if attributes:
        term["attributes"] = attributes
    out: dict[str, Any] = {}
    for text in ("code", "name", "description"):
        value = str(data.get(text) or "").strip()
        if value:  # an empty box is a missing field: the parser says it is required
            out[text] = value
    out["numerator"] = [term]
    denominator = str(data.get("denominator") or "")
    if denominator == "population":
        out["denominator"] = "population"
    elif denominator.startswith("indicator:"):
        out["denominator"] = {"indicator": denominator.removeprefix("indicator:")}
    factor = str(data.get("factor") or "1")
    out["factor"] = int(factor) if factor.isdigit() else factor
    out["period"] = str(data.get("period") or "week")
    by = str(data.get("by") or "").strip()
    if by:
        try:
            out["by"] = [check_by(by)]
        except ValueError:
            out["by"] = [by]  # the catalogue's parser names the field and the rule
    return out


def fields_from_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The builder form's initial values for a saved one-term mapping."""
    terms = definition.get("numerator") or [{}]
    term = terms[0] if isinstance(terms, list) and terms else {}
    out: dict[str, Any] = {
        "code": definition.get("code", ""),
        "name": definition.get("name", ""),
        "description": definition.get("description", ""),
        "kinds": list(term.get("kinds") or []),
        "codes": ", ".join(term.get("codes") or []),
        "factor": str(definition.get("factor", 1)),
        "period": definition.get("period", "week"),
        "by": (definition.get("by") or [""])[0],
    }
    denominator = definition.get("denominator")
    if denominator == "population":
        out["denominator"] = "population"
    elif denominator_code(definition):
        out["denominator"] = f"indicator:{denominator_code(definition)}"
    else:
        out["denominator"] = ""
    for i, (name, spec) in enumerate((term.get("attributes") or {}).items(), start=1):
        if i > CONDITION_ROWS:
            break
        values = spec.get("equals", []) if isinstance(spec, Mapping) else spec
        values = values if isinstance(values, list) else [values]
        out[f"attribute_{i}"] = name
        out[f"values_{i}"] = ", ".join(str(v) for v in values)
    return out


def form_editable(definition: Mapping[str, Any]) -> str:
    """Empty when the builder form can show every part of the mapping; else why not (it was
    imported with more than the form offers: edit the YAML and import it again)."""
    terms = definition.get("numerator") or []
    if isinstance(terms, Mapping):
        terms = [terms]
    if len(terms) > 1:
        return "it has several numerator terms"
    term = terms[0] if terms else {}
    if set(term) - {"kinds", "codes", "attributes"}:
        return "its numerator filters on " + ", ".join(
            sorted(set(term) - {"kinds", "codes", "attributes"})
        )
    attributes = term.get("attributes") or {}
    if len(attributes) > CONDITION_ROWS:
        return f"it has more than {CONDITION_ROWS} attribute conditions"
    if any(isinstance(v, Mapping) and "greater_than" in v for v in attributes.values()):
        return "it has a 'greater_than' attribute condition"
    if set(definition) & {"unreliable_below", "references"}:
        return "it sets " + ", ".join(sorted(set(definition) & {"unreliable_below", "references"}))
    return ""


FORM_FIELDS: dict[str, str] = {
    "code": "code",
    "name": "name",
    "description": "description",
    "numerator": "kinds",
    "kinds": "kinds",
    "sectors": "kinds",
    "syndromes": "kinds",
    "codes": "codes",
    "denominator": "denominator",
    "factor": "factor",
    "period": "period",
    "by": "by",
}


def form_field_for(error: IndicatorError, definition: Mapping[str, Any]) -> str | None:
    """The builder form's field an error belongs next to (None: the form as a whole)."""
    name = error.field_name or ""
    if ".attributes" in name:
        attribute = name.split(".attributes", 1)[1].lstrip(".")
        terms = definition.get("numerator") or [{}]
        names = list((terms[0] if terms else {}).get("attributes", {}))
        if attribute in names:
            return f"values_{names.index(attribute) + 1}" if attribute else "attribute_1"
        return "attribute_1"
    head = name.split(".")[0].split("[")[0]
    if head == "numerator" and "." in name:
        head = name.rsplit(".", 1)[1]
    return FORM_FIELDS.get(head)


# -- YAML ---------------------------------------------------------------------------------------


def catalogue_yaml(definitions: Iterable[Mapping[str, Any]], *, header: str = "") -> str:
    """A catalogue file of these mappings (the CLI's ``--catalogue`` reads it)."""
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    body = yaml.safe_dump(
        {"indicators": [dict(d) for d in definitions]}, sort_keys=False, allow_unicode=True
    )
    return "\n".join([*lines, body.rstrip("\n")]) + "\n"


def import_catalogue(text: str, source: str) -> list[Indicator]:
    """The indicators of an uploaded catalogue file; the catalogue's parser judges the file as
    it does for the CLI, then the pages' own limits (``web_problems``)."""
    catalogue = parse_catalogue(text, source)
    for indicator in catalogue.indicators:
        problems = web_problems(indicator)
        if problems:
            field_name, message = problems[0]
            raise IndicatorError(
                message, source=source, indicator=indicator.code, field_name=field_name
            )
    return list(catalogue.indicators)
