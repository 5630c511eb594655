"""Mapping profiles: the typed, validated model of the YAML an agency writes for its extract.

The format is specified in docs/profiles.md. Every error names the profile file, the line, the
key path (``fields.occurred_at.column``), what was expected and what was found, so an agency can
fix its profile without reading code. The YAML is read with every scalar kept as written (no
YAML 1.1 guessing that turns ``Yes`` into a boolean or ``007`` into 7): map keys must match the
extract's own codes exactly.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import yaml

from wellbeat.events.schema import CODE_NAMESPACES, Kind, Sector, Sensitivity
from wellbeat.ingest.connectors import CONNECTORS

Path_: TypeAlias = tuple[str, ...]

EXTRACT_FORMATS = ("csv", "parquet", "ndjson")
_EXTENSION_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
}

SCALAR_FIELDS = ("event_id", "kind", "occurred_at", "reported_at", "lat", "lon", "sex")
"""Canonical event fields a profile maps from one column each (``age_band`` is special)."""
TIMESTAMP_FIELDS = ("occurred_at", "reported_at")
IDENTITY_FIELDS = ("first_name", "last_name", "dob", "sex", "ssn", "phone", "address", "zip")
"""Identity parts a profile may name; they become a pseudonym and a linkage code, then vanish."""

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class PrepareError(Exception):
    """A fatal problem with a profile, an extract or a key: where it is and what was expected."""

    def __init__(
        self,
        file: str | Path,
        field: str,
        expected: str,
        got: str,
        line: int | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.expected = expected
        self.got = got
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: expected {self.expected}, got {self.got}"


class ProfileError(PrepareError):
    """The mapping profile itself is wrong (a bad key, value or reference)."""


@dataclass(frozen=True)
class ColumnMapping:
    """One value taken from one extract column, optionally parsed (``format``) and translated."""

    column: str
    path: str
    format: str | None = None
    map: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AgeFromDob:
    """Age band computed at the source from a date of birth at the event's date; DOB dropped."""

    column: str
    path: str
    at: str = "occurred_at"
    format: str | None = None


@dataclass(frozen=True)
class CodeMapping:
    """Namespaced codes (``icd10cm:T40.1X1A``) from one column, possibly several per cell."""

    column: str
    namespace: str
    path: str
    map: Mapping[str, str] = field(default_factory=dict)
    split: str | None = None


@dataclass(frozen=True)
class TextColumn:
    """A free-text column used at the source (syndromes); shared only with ``share: true``."""

    name: str
    column: str
    path: str
    share: bool = False


@dataclass(frozen=True)
class IdentityColumns:
    """Extract columns holding the person's identifiers (any may be absent)."""

    first_name: str | None = None
    last_name: str | None = None
    dob: str | None = None
    sex: str | None = None
    ssn: str | None = None
    phone: str | None = None
    address: str | None = None
    zip: str | None = None
    dob_format: str | None = None

    def columns(self) -> dict[str, str]:
        """Identity part -> extract column, for the parts the profile names."""
        named = {part: getattr(self, part) for part in IDENTITY_FIELDS}
        return {part: column for part, column in named.items() if column is not None}

    def __bool__(self) -> bool:
        return bool(self.columns())


@dataclass(frozen=True)
class Profile:
    """A validated mapping profile (docs/profiles.md)."""

    name: str
    connector: str
    agency: str
    sector: str
    kind: str
    timezone: str
    fields: Mapping[str, ColumnMapping]
    codes: tuple[CodeMapping, ...] = ()
    attributes: Mapping[str, ColumnMapping] = field(default_factory=dict)
    identity: IdentityColumns = field(default_factory=IdentityColumns)
    keep_text: Mapping[str, TextColumn] = field(default_factory=dict)
    sensitivity: tuple[str, ...] = ()
    age_band: ColumnMapping | None = None
    age_from_dob: AgeFromDob | None = None
    format: str | None = None
    source: str = "<profile>"
    lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def line_of(self, path: str) -> int | None:
        """Line in the profile file of the key path (or its closest named parent)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return None

    def columns_used(self) -> dict[str, str]:
        """Every extract column the profile reads -> the first key path that names it."""
        used: dict[str, str] = {}
        for mapping in self.fields.values():
            used.setdefault(mapping.column, f"{mapping.path}.column")
        if self.age_band is not None:
            used.setdefault(self.age_band.column, f"{self.age_band.path}.column")
        if self.age_from_dob is not None:
            used.setdefault(self.age_from_dob.column, f"{self.age_from_dob.path}.from_dob")
        for code in self.codes:
            used.setdefault(code.column, f"{code.path}.column")
        for attribute in self.attributes.values():
            used.setdefault(attribute.column, f"{attribute.path}.column")
        for part, column in self.identity.columns().items():
            used.setdefault(column, f"identity.{part}")
        for text in self.keep_text.values():
            used.setdefault(text.column, text.path)
        return used

    def check_columns(self, columns: Sequence[str], extract: str | Path) -> None:
        """Fail on the first column the profile names that the extract lacks."""
        present = set(columns)
        for column, path in self.columns_used().items():
            if column not in present:
                listing = ", ".join(columns) if columns else "none"
                raise ProfileError(
                    self.source,
                    f"profile field '{path}'",
                    f"a column of extract {extract} (columns: {listing})",
                    f"column '{column}', which is not in the extract",
                    self.line_of(path),
                )

    def extract_format(self, path: str | Path) -> str:
        """The extract's format: the profile's ``format`` or else the file extension's."""
        if self.format is not None:
            return self.format
        suffix = Path(path).suffix.lower()
        if suffix in _EXTENSION_FORMATS:
            return _EXTENSION_FORMATS[suffix]
        raise ProfileError(
            self.source,
            "format",
            f"'format:' in the profile or an extract named *.csv, *.parquet or *.ndjson "
            f"(extract {path})",
            f"extension '{suffix or '(none)'}'",
        )


# ---------------------------------------------------------------------------------------------
# Reading YAML with line numbers


class _Reader:
    """Turns a composed YAML node tree into plain values, remembering each key path's line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[str, int] = {}

    def value(self, node: yaml.Node, path: Path_) -> object:
        self.lines[".".join(path)] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return node.value
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, str(i))) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            result: dict[str, object] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ProfileError(
                        self.source,
                        ".".join(path) or "(top level)",
                        "plain text keys",
                        "a list or mapping used as a key",
                        key_node.start_mark.line + 1,
                    )
                key = key_node.value
                if key in result:
                    raise ProfileError(
                        self.source,
                        ".".join((*path, key)),
                        "each key once",
                        "a duplicate key",
                        key_node.start_mark.line + 1,
                    )
                result[key] = self.value(value_node, (*path, key))
                self.lines.setdefault(".".join((*path, key)), key_node.start_mark.line + 1)
            return result
        raise ProfileError(self.source, ".".join(path), "YAML data", "an unknown node")


def _compose(text: str, source: str) -> tuple[object, dict[str, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProfileError(
            source,
            "(YAML syntax)",
            "valid YAML",
            str(getattr(exc, "problem", None) or exc),
            None if mark is None else mark.line + 1,
        ) from exc
    if node is None:
        raise ProfileError(source, "(top level)", "a mapping of profile keys", "an empty file")
    reader = _Reader(source)
    return reader.value(node, ()), reader.lines


# ---------------------------------------------------------------------------------------------
# Validation


class _Validator:
    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: str, expected: str, got: object) -> ProfileError:
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe.rpartition(".")[0]
        return ProfileError(self.source, path, expected, _describe(got), line)

    def mapping(self, value: object, path: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(path, "a mapping (key: value)", value)
        return value

    def text(self, value: object, path: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise self.fail(path, "a non-empty text value", value)
        return value

    def choice(self, value: object, path: str, choices: Sequence[str]) -> str:
        text = self.text(value, path)
        if text not in choices:
            raise self.fail(path, "one of " + ", ".join(choices), value)
        return text

    def boolean(self, value: object, path: str) -> bool:
        text = self.text(value, path).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.fail(path, "true or false", value)

    def known_keys(self, data: Mapping[str, object], path: str, allowed: Sequence[str]) -> None:
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                raise self.fail(where, "one of the keys " + ", ".join(allowed), f"key '{key}'")

    def string_map(self, value: object, path: str) -> dict[str, str]:
        data = self.mapping(value, path)
        result: dict[str, str] = {}
        for key, item in data.items():
            if not isinstance(item, str):
                raise self.fail(f"{path}.{key}", "a text value", item)
            result[key] = item
        return result

    def column_mapping(
        self, value: object, path: str, *, allow_format: bool = True
    ) -> ColumnMapping:
        data = self.mapping(value, path)
        allowed = ("column", "map", "format") if allow_format else ("column", "map")
        self.known_keys(data, path, allowed)
        if "column" not in data:
            raise self.fail(f"{path}.column", "the extract column to read", "nothing")
        fmt = data.get("format")
        return ColumnMapping(
            column=self.text(data["column"], f"{path}.column"),
            path=path,
            format=None if fmt is None else self.text(fmt, f"{path}.format"),
            map=self.string_map(data["map"], f"{path}.map") if "map" in data else {},
        )


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_TOP_KEYS = (
    "profile",
    "connector",
    "agency",
    "sector",
    "kind",
    "format",
    "timezone",
    "fields",
    "codes",
    "attributes",
    "identity",
    "keep_text",
    "sensitivity",
)


def parse_profile(text: str, source: str | Path = "<profile>") -> Profile:
    """Parse and validate a profile's YAML text; ``source`` names it in error messages."""
    src = str(source)
    raw, lines = _compose(text, src)
    v = _Validator(src, lines)
    data = v.mapping(raw, "(top level)")
    v.known_keys(data, "", _TOP_KEYS)
    for required in ("profile", "connector", "agency"):
        if required not in data:
            raise v.fail(required, f"a '{required}:' entry", "nothing")

    connector_name = v.choice(data["connector"], "connector", sorted(CONNECTORS))
    connector = CONNECTORS[connector_name]

    sector = connector.sector
    if "sector" in data:
        sector = v.choice(data["sector"], "sector", [s.value for s in Sector])
    if sector is None:
        raise v.fail("sector", f"a 'sector:' entry (connector {connector_name} has none)", None)

    fields_data = v.mapping(data.get("fields", {}), "fields")
    fields: dict[str, ColumnMapping] = {}
    age_band: ColumnMapping | None = None
    age_from_dob: AgeFromDob | None = None
    for name, spec in fields_data.items():
        path = f"fields.{name}"
        if name == "age_band":
            spec_map = v.mapping(spec, path)
            if "from_dob" in spec_map:
                v.known_keys(spec_map, path, ("from_dob", "at", "format"))
                fmt = spec_map.get("format")
                age_from_dob = AgeFromDob(
                    column=v.text(spec_map["from_dob"], f"{path}.from_dob"),
                    path=path,
                    at=v.choice(spec_map.get("at", "occurred_at"), f"{path}.at", TIMESTAMP_FIELDS),
                    format=None if fmt is None else v.text(fmt, f"{path}.format"),
                )
            else:
                age_band = v.column_mapping(spec, path, allow_format=False)
            continue
        if name not in SCALAR_FIELDS:
            raise v.fail(
                path, "a canonical field: " + ", ".join((*SCALAR_FIELDS, "age_band")), name
            )
        fields[name] = v.column_mapping(spec, path, allow_format=name in TIMESTAMP_FIELDS)
    if "occurred_at" not in fields:
        raise v.fail("fields.occurred_at", "a mapping for occurred_at (when it happened)", None)

    kind = connector.kind
    if "kind" in data:
        kind = v.choice(data["kind"], "kind", [k.value for k in Kind])
    if kind is None and "kind" not in fields:
        raise v.fail(
            "kind", f"a 'kind:' entry or fields.kind (connector {connector_name} has none)", None
        )

    codes: list[CodeMapping] = []
    codes_data = data.get("codes", [])
    if not isinstance(codes_data, list):
        raise v.fail("codes", "a list of {column, namespace} entries", codes_data)
    for i, spec in enumerate(codes_data):
        path = f"codes.{i}"
        spec_map = v.mapping(spec, path)
        v.known_keys(spec_map, path, ("column", "namespace", "map", "split"))
        if "column" not in spec_map:
            raise v.fail(f"{path}.column", "the extract column to read", None)
        if "namespace" not in spec_map:
            raise v.fail(f"{path}.namespace", "one of " + ", ".join(CODE_NAMESPACES), None)
        split = spec_map.get("split")
        codes.append(
            CodeMapping(
                column=v.text(spec_map["column"], f"{path}.column"),
                namespace=v.choice(spec_map["namespace"], f"{path}.namespace", CODE_NAMESPACES),
                path=path,
                map=v.string_map(spec_map["map"], f"{path}.map") if "map" in spec_map else {},
                split=None if split is None else v.text(split, f"{path}.split", allow_empty=False),
            )
        )

    attributes = {
        name: v.column_mapping(spec, f"attributes.{name}", allow_format=False)
        for name, spec in v.mapping(data.get("attributes", {}), "attributes").items()
    }

    identity_data = v.mapping(data.get("identity", {}), "identity")
    v.known_keys(identity_data, "identity", (*IDENTITY_FIELDS, "dob_format"))
    identity = IdentityColumns(
        **{key: v.text(value, f"identity.{key}") for key, value in identity_data.items()}
    )

    keep_text: dict[str, TextColumn] = {}
    for name, spec in v.mapping(data.get("keep_text", {}), "keep_text").items():
        path = f"keep_text.{name}"
        if isinstance(spec, str):
            keep_text[name] = TextColumn(name, v.text(spec, path), path)
            continue
        spec_map = v.mapping(spec, path)
        v.known_keys(spec_map, path, ("column", "share"))
        if "column" not in spec_map:
            raise v.fail(f"{path}.column", "the extract column to read", None)
        keep_text[name] = TextColumn(
            name,
            v.text(spec_map["column"], f"{path}.column"),
            path,
            share=v.boolean(spec_map.get("share", "false"), f"{path}.share"),
        )

    sensitivity_data = data.get("sensitivity", [])
    if not isinstance(sensitivity_data, list):
        raise v.fail("sensitivity", "a list such as [phi]", sensitivity_data)
    sensitivity = tuple(
        v.choice(item, f"sensitivity.{i}", [s.value for s in Sensitivity])
        for i, item in enumerate(sensitivity_data)
    )

    timezone = v.text(data.get("timezone", "UTC"), "timezone")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise v.fail("timezone", "an IANA time zone such as America/Chicago", timezone) from exc

    profile = Profile(
        name=v.text(data["profile"], "profile"),
        connector=connector_name,
        agency=v.text(data["agency"], "agency"),
        sector=sector,
        kind=kind or "",
        timezone=timezone,
        fields=fields,
        codes=tuple(codes),
        attributes=attributes,
        identity=identity,
        keep_text=keep_text,
        sensitivity=sensitivity,
        age_band=age_band,
        age_from_dob=age_from_dob,
        format=(v.choice(data["format"], "format", EXTRACT_FORMATS) if "format" in data else None),
        source=src,
        lines=lines,
    )
    _forbid_identifiers_in_output(profile, v)
    return profile


def _forbid_identifiers_in_output(profile: Profile, v: _Validator) -> None:
    """Refuse a profile that would copy an identity column into the batch.

    The identity's ``sex`` column may also feed ``fields.sex`` (sex is not an identifier), and the
    DOB may feed ``age_band.from_dob`` (only the band leaves).
    """
    identity = {column: part for part, column in profile.identity.columns().items()}
    outputs: list[tuple[str, str]] = [
        (m.column, f"{m.path}.column") for m in profile.fields.values()
    ]
    if profile.age_band is not None:
        outputs.append((profile.age_band.column, f"{profile.age_band.path}.column"))
    outputs += [(c.column, f"{c.path}.column") for c in profile.codes]
    outputs += [(a.column, f"{a.path}.column") for a in profile.attributes.values()]
    outputs += [(t.column, t.path) for t in profile.keep_text.values() if t.share]
    for column, path in outputs:
        part = identity.get(column)
        if part is None or (part == "sex" and path == "fields.sex.column"):
            continue
        raise v.fail(
            path,
            f"a column that is not an identifier (column '{column}' is identity.{part}, "
            "which never leaves the agency)",
            column,
        )


def load_profile(path: str | Path) -> Profile:
    """Read and validate the profile file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(
            p, "(file)", "a readable profile file", exc.strerror or str(exc)
        ) from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(p, "(file)", "UTF-8 text", f"undecodable byte at {exc.start}") from exc
    return parse_profile(text, p)
