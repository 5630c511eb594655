"""Indicators as data (as DHIS2 does): a numerator event filter, an optional denominator, a
factor and a default period, loaded from a YAML catalogue and validated with clear errors.

The catalogue shipped in this package (``catalogue.yaml``) is the one source of truth for the
definitions; docs/indicators.md explains each with its reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from wellbeat.events.schema import CODE_NAMESPACES, SYNDROMES, Kind, Sector
from wellbeat.lake.query import PERIODS, Period, valid_attribute_dimension
from wellbeat.lake.query import AttributeCondition as AttributeCondition  # re-exported

CATALOGUE_FILE = "catalogue.yaml"
UNRELIABLE_BELOW = 20
"""Rates built on fewer events are flagged unreliable (NCHS / CDC WONDER: counts < 20)."""
FACTORS: tuple[int, ...] = (1, 100, 1_000, 10_000, 100_000)
"""Allowed multipliers: 1 (ratio), 100 (per cent), per 1,000 ... per 100,000."""
DENOMINATOR_KINDS = ("population", "indicator")
_CODE = (
    "code",
    "name",
    "description",
    "numerator",
    "denominator",
    "factor",
    "period",
    "unreliable_below",
    "repeat_within_days",
    "by",
    "references",
)
BY_CHOICES = ("sector", "kind", "sex", "age_band")
"""Default breakdowns an indicator may list besides ``attribute:<name>``."""
_TERM_FIELDS = ("sectors", "kinds", "syndromes", "codes", "attributes")
_SECTORS = tuple(s.value for s in Sector)
_KINDS = tuple(k.value for k in Kind)


class IndicatorError(ValueError):
    """A catalogue entry that is not a valid indicator: says file, line, indicator and field."""

    def __init__(
        self,
        message: str,
        *,
        source: str = "<catalogue>",
        line: int | None = None,
        indicator: str | None = None,
        field_name: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.indicator = indicator
        self.field_name = field_name
        where = source + (f":{line}" if line is not None else "")
        if indicator:
            where += f": indicator {indicator!r}"
        if field_name:
            where += f" field {field_name!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Criteria:
    """One term of a numerator: every given dimension must match (None = any).

    ``syndromes`` and ``codes`` are any-of lists; a code ending in ``*`` is a prefix.
    """

    sectors: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    syndromes: tuple[str, ...] | None = None
    codes: tuple[str, ...] | None = None
    attributes: tuple[AttributeCondition, ...] = ()


@dataclass(frozen=True)
class Denominator:
    """Area population (from the layer's GeoJSON), or the count of another indicator."""

    kind: Literal["population", "indicator"]
    indicator: str | None = None


@dataclass(frozen=True)
class Indicator:
    """A typed indicator: an event counts when it matches any numerator term.

    ``repeat_within_days`` keeps only events whose person (``person_token``, within the same
    agency: pseudonyms are keyed per agency) had another numerator event in the previous N days.
    """

    code: str
    name: str
    description: str
    numerator: tuple[Criteria, ...]
    denominator: Denominator | None = None
    factor: int = 1
    period: Period = "week"
    unreliable_below: int = UNRELIABLE_BELOW
    repeat_within_days: int | None = None
    references: tuple[str, ...] = field(default=())
    by: tuple[str, ...] = ()
    """Default breakdowns (``attribute:precinct``, ``sex`` ...) pages and the CLI offer."""

    @property
    def uses_attributes(self) -> bool:
        return any(term.attributes for term in self.numerator)

    @property
    def terms_disjoint(self) -> bool:
        """Whether every term names kinds and no kind is in two terms (so counts add up)."""
        if len(self.numerator) == 1:
            return True
        seen: set[str] = set()
        for term in self.numerator:
            if term.kinds is None or seen & set(term.kinds):
                return False
            seen |= set(term.kinds)
        return True

    @property
    def governable(self) -> bool:
        """Whether the governed query service can compute it: filters on kind, codes,
        syndromes and attributes (no person-level window) in terms whose counts add up."""
        return self.repeat_within_days is None and self.terms_disjoint


@dataclass(frozen=True)
class Catalogue:
    """Indicators by code, in catalogue order."""

    indicators: tuple[Indicator, ...]
    source: str

    def __iter__(self) -> Any:
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.indicators)

    def get(self, code: str) -> Indicator:
        """The indicator with this code; a ``KeyError`` naming the known codes otherwise."""
        for indicator in self.indicators:
            if indicator.code == code:
                return indicator
        raise KeyError(f"unknown indicator {code!r}; known: {', '.join(self.codes)}")


# -- parsing -------------------------------------------------------------------------------------


class _Entry:
    """Parsing context of one catalogue entry, for error messages."""

    def __init__(self, source: str, line: int | None, code: str | None) -> None:
        self.source = source
        self.line = line
        self.code = code

    def error(self, field_name: str | None, message: str) -> IndicatorError:
        return IndicatorError(
            message, source=self.source, line=self.line, indicator=self.code, field_name=field_name
        )


def _strings(
    entry: _Entry, name: str, value: Any, allowed: Sequence[str] | None = None
) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise entry.error(name, f"expected a non-empty list of strings, got {value!r}")
    if allowed is not None:
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise entry.error(
                name, f"unknown value(s) {', '.join(unknown)}; expected among {', '.join(allowed)}"
            )
    return tuple(value)


def _attribute(entry: _Entry, where: str, name: Any, spec: Any) -> AttributeCondition:
    if not isinstance(name, str) or not name:
        raise entry.error(where, f"attribute names must be strings, got {name!r}")
    here = f"{where}.{name}"
    if isinstance(spec, str | int | float) and not isinstance(spec, bool):
        return AttributeCondition(name, equals=(str(spec),))
    if isinstance(spec, list):
        return AttributeCondition(name, equals=tuple(str(v) for v in spec))
    if isinstance(spec, dict):
        unknown = set(spec) - {"equals", "greater_than"}
        if unknown or len(spec) != 1:
            raise entry.error(
                here, f"expected exactly one of 'equals' or 'greater_than', got {sorted(spec)}"
            )
        if "equals" in spec:
            values = spec["equals"] if isinstance(spec["equals"], list) else [spec["equals"]]
            return AttributeCondition(name, equals=tuple(str(v) for v in values))
        bound = spec["greater_than"]
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise entry.error(here, f"'greater_than' must be a number, got {bound!r}")
        return AttributeCondition(name, greater_than=float(bound))
    raise entry.error(here, f"expected a value, a list of values or a mapping, got {spec!r}")


def _term(entry: _Entry, where: str, raw: Any) -> Criteria:
    if not isinstance(raw, dict) or not raw:
        raise entry.error(where, f"expected a mapping of {', '.join(_TERM_FIELDS)}, got {raw!r}")
    unknown = sorted(set(raw) - set(_TERM_FIELDS))
    if unknown:
        raise entry.error(
            where, f"unknown key(s) {', '.join(unknown)}; expected among {', '.join(_TERM_FIELDS)}"
        )
    codes = None
    if "codes" in raw:
        codes = _strings(entry, f"{where}.codes", raw["codes"])
        for code in codes:
            namespace, sep, value = code.partition(":")
            if not sep or namespace not in CODE_NAMESPACES or not value.rstrip("*"):
                raise entry.error(
                    f"{where}.codes",
                    f"code {code!r} is not 'namespace:code' with namespace one of "
                    f"{', '.join(CODE_NAMESPACES)}",
                )
    attributes: tuple[AttributeCondition, ...] = ()
    if "attributes" in raw:
        spec = raw["attributes"]
        if not isinstance(spec, dict) or not spec:
            raise entry.error(f"{where}.attributes", f"expected a mapping, got {spec!r}")
        attributes = tuple(_attribute(entry, f"{where}.attributes", k, v) for k, v in spec.items())
    return Criteria(
        sectors=_strings(entry, f"{where}.sectors", raw["sectors"], _SECTORS)
        if "sectors" in raw
        else None,
        kinds=_strings(entry, f"{where}.kinds", raw["kinds"], _KINDS) if "kinds" in raw else None,
        syndromes=_strings(entry, f"{where}.syndromes", raw["syndromes"], SYNDROMES)
        if "syndromes" in raw
        else None,
        codes=codes,
        attributes=attributes,
    )


def _positive_int(entry: _Entry, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise entry.error(name, f"expected a whole number >= 1, got {value!r}")
    return value


def parse_indicator(raw: Any, source: str = "<catalogue>", line: int | None = None) -> Indicator:
    """One indicator from its catalogue mapping (denominator references are checked by
    ``parse_catalogue``)."""
    code = raw.get("code") if isinstance(raw, dict) else None
    entry = _Entry(source, line, code if isinstance(code, str) else None)
    if not isinstance(raw, dict):
        raise entry.error(None, f"expected a mapping with {', '.join(_CODE[:4])}, got {raw!r}")
    unknown = sorted(set(raw) - set(_CODE))
    if unknown:
        raise entry.error(
            None, f"unknown key(s) {', '.join(unknown)}; expected among {', '.join(_CODE)}"
        )
    for required in ("code", "name", "description", "numerator"):
        if required not in raw:
            raise entry.error(required, "is required")
    for text in ("code", "name", "description"):
        if not isinstance(raw[text], str) or not raw[text].strip():
            raise entry.error(text, f"expected non-empty text, got {raw[text]!r}")
    if not raw["code"].replace("_", "").isalnum() or not raw["code"][0].isalpha():
        raise entry.error("code", f"expected [a-z][a-z0-9_]*, got {raw['code']!r}")
    numerator = raw["numerator"]
    if isinstance(numerator, dict):
        numerator = [numerator]
    if not isinstance(numerator, list) or not numerator:
        raise entry.error("numerator", f"expected a list of terms, got {numerator!r}")
    terms = tuple(_term(entry, f"numerator[{i}]", t) for i, t in enumerate(numerator))
    denominator = None
    if raw.get("denominator") is not None:
        spec = raw["denominator"]
        if spec == "population":
            denominator = Denominator("population")
        elif (
            isinstance(spec, dict)
            and set(spec) == {"indicator"}
            and isinstance(spec["indicator"], str)
        ):
            denominator = Denominator("indicator", spec["indicator"])
        else:
            raise entry.error(
                "denominator", f"expected 'population' or {{indicator: CODE}}, got {spec!r}"
            )
    factor = raw.get("factor", 1)
    if factor not in FACTORS or isinstance(factor, bool):
        raise entry.error(
            "factor", f"expected one of {', '.join(str(f) for f in FACTORS)}, got {factor!r}"
        )
    period = raw.get("period", "week")
    if period not in PERIODS:
        raise entry.error("period", f"expected one of {', '.join(PERIODS)}, got {period!r}")
    references = raw.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise entry.error("references", f"expected a list of strings, got {references!r}")
    repeat = raw.get("repeat_within_days")
    by: tuple[str, ...] = ()
    if raw.get("by") is not None:
        by = _strings(entry, "by", raw["by"])
        bad = [d for d in by if d not in BY_CHOICES and not valid_attribute_dimension(d)]
        if bad:
            raise entry.error(
                "by",
                f"unknown breakdown(s) {', '.join(bad)}; expected attribute:<name> (name "
                f"matching [a-z][a-z0-9_]*) or one of {', '.join(BY_CHOICES)}",
            )
        if len(set(by)) != len(by):
            raise entry.error("by", f"a breakdown is listed twice in {list(by)}")
    return Indicator(
        code=raw["code"],
        name=raw["name"].strip(),
        description=" ".join(raw["description"].split()),
        numerator=terms,
        denominator=denominator,
        factor=int(factor),
        period=cast(Period, period),
        unreliable_below=_positive_int(
            entry, "unreliable_below", raw.get("unreliable_below", UNRELIABLE_BELOW)
        ),
        repeat_within_days=None
        if repeat is None
        else _positive_int(entry, "repeat_within_days", repeat),
        references=tuple(references),
        by=by,
    )


def _entry_lines(text: str) -> list[int | None]:
    """1-based line of each item of the top-level ``indicators`` list (for error messages)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "indicators" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_catalogue(text: str, source: str = "<catalogue>") -> Catalogue:
    """Indicators from catalogue YAML text (``indicators:`` list), fully validated."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise IndicatorError(f"not valid YAML ({exc})", source=source) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("indicators"), list):
        raise IndicatorError("expected a mapping with an 'indicators' list", source=source)
    lines = _entry_lines(text)
    indicators: list[Indicator] = []
    seen: dict[str, int | None] = {}
    for position, raw in enumerate(data["indicators"]):
        line = lines[position] if position < len(lines) else None
        indicator = parse_indicator(raw, source, line)
        if indicator.code in seen:
            raise IndicatorError(
                f"code repeats (first at line {seen[indicator.code]})",
                source=source,
                line=line,
                indicator=indicator.code,
                field_name="code",
            )
        seen[indicator.code] = line
        indicators.append(indicator)
    by_code = {i.code: i for i in indicators}
    for indicator in indicators:
        den = indicator.denominator
        if den is None or den.kind != "indicator":
            continue
        where = {
            "source": source,
            "line": seen[indicator.code],
            "indicator": indicator.code,
            "field_name": "denominator.indicator",
        }
        target = by_code.get(str(den.indicator))
        if target is None:
            raise IndicatorError(
                f"names unknown indicator {den.indicator!r}; expected one of {', '.join(by_code)}",
                **where,  # type: ignore[arg-type]
            )
        if target.code == indicator.code or (
            target.denominator is not None and target.denominator.kind == "indicator"
        ):
            raise IndicatorError(
                f"{den.indicator!r} cannot be a denominator: it is this indicator or itself has "
                "an indicator denominator (one level only)",
                **where,  # type: ignore[arg-type]
            )
    return Catalogue(tuple(indicators), source)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue at ``path``, or the one shipped with wellbeat when ``path`` is None."""
    if path is None:
        return default_catalogue()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise IndicatorError(f"cannot read the catalogue ({exc})", source=str(path)) from exc
    return parse_catalogue(text, str(path))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The catalogue shipped in ``wellbeat/analytics/indicators/catalogue.yaml`` (cached)."""
    resource = resources.files("wellbeat.analytics.indicators").joinpath(CATALOGUE_FILE)
    return parse_catalogue(resource.read_text(encoding="utf-8"), CATALOGUE_FILE)


def get_indicator(code: str) -> Indicator:
    """An indicator of the shipped catalogue by code."""
    return default_catalogue().get(code)
