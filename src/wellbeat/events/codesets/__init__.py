"""Code sets as data: NIBRS, ICD-10-CM, NEMSIS, APCO, SDOH, police contacts (docs/codesets.md).

Each set is a CSV or YAML file in this package that names its source and version in its header;
the functions here load one file once (cached), check it, and return immutable, typed views.
A malformed file raises ``CodeSetError`` naming the file, the line or key, and what was expected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from wellbeat.events.schema import SYNDROMES, Kind

NIBRS_CATEGORIES = ("person", "property", "society", "group_b")
"""NIBRS crimes against persons, property or society (Group A), and Group B (arrest only)."""

_ICD_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}$")


class CodeSetError(ValueError):
    """A code-set file is malformed: the message names the file, where, and what was expected."""


# --------------------------------------------------------------------------------------------
# Reading the files


def _text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def _header(name: str) -> str:
    """The leading ``#`` comment block of a CSV file, without the ``#`` marks."""
    lines = []
    for line in _text(name).splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines)


def _read_csv(name: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV code set as (line number, row); ``#`` lines before the header are comments."""
    text = _text(name)
    lines = text.splitlines(keepends=True)
    skipped = 0
    while skipped < len(lines) and lines[skipped].startswith("#"):
        skipped += 1
    reader = csv.DictReader(io.StringIO("".join(lines[skipped:])))
    header = tuple(reader.fieldnames or ())
    if header != columns:
        raise CodeSetError(
            f"{name}, line {skipped + 1}: header is {','.join(header)!r}, "
            f"expected {','.join(columns)!r}"
        )
    rows = []
    for row in reader:
        line = skipped + reader.line_num
        if None in row or any(value is None for value in row.values()):
            raise CodeSetError(f"{name}, line {line}: expected {len(columns)} fields")
        rows.append((line, {key: value.strip() for key, value in row.items()}))
    return rows


def _read_yaml(name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(_text(name))
    except yaml.YAMLError as exc:
        raise CodeSetError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CodeSetError(f"{name}: expected a mapping at the top level")
    for key in ("source", "version"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise CodeSetError(f"{name}: top-level field {key!r} must name the set's {key}")
    return data


def _syndromes(values: object, where: str) -> tuple[str, ...]:
    if values is None or values == "":
        return ()
    items = values.split(";") if isinstance(values, str) else values
    if not isinstance(items, list | tuple):
        raise CodeSetError(f"{where}: syndromes must be a list, got {values!r}")
    out = []
    for item in items:
        if item not in SYNDROMES:
            raise CodeSetError(
                f"{where}: unknown syndrome {item!r}; expected one of {', '.join(SYNDROMES)}"
            )
        out.append(str(item))
    return tuple(out)


def _boolean(value: str, where: str) -> bool:
    if value not in ("true", "false"):
        raise CodeSetError(f"{where}: expected 'true' or 'false', got {value!r}")
    return value == "true"


def _string_list(values: object, where: str) -> list[str]:
    if not isinstance(values, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in values
    ):
        raise CodeSetError(
            f"{where}: expected a list of strings, got {values!r} (quote YAML words such as "
            "no, yes, on and off, which YAML reads as booleans)"
        )
    return [str(v) for v in values]


@dataclass(frozen=True)
class CodeSetSource:
    """Where a code-set file came from: shown in docs and checked by tests."""

    file: str
    source: str
    version: str


def code_set_sources() -> list[CodeSetSource]:
    """The source and version of every code-set file in this package."""
    out = []
    for name in ("icd10cm.yaml", "nemsis.yaml", "chief_complaint.yaml", "police_contacts.yaml"):
        data = _read_yaml(name)
        out.append(CodeSetSource(name, data["source"].strip(), data["version"].strip()))
    for name in ("nibrs_offenses.csv", "apco_call_types.csv", "sdoh_categories.csv"):
        header = _header(name)
        source = re.search(r"Source:\s*(.+?)(?:\n\S|\Z)", header, re.S)
        version = re.search(r"Version:\s*(.+?)(?:\n\S|\Z)", header, re.S)
        out.append(
            CodeSetSource(
                name,
                " ".join(source.group(1).split()) if source else "",
                " ".join(version.group(1).split()) if version else "",
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# NIBRS


@dataclass(frozen=True)
class NibrsOffense:
    """A NIBRS offense code with its name and crime category."""

    code: str
    name: str
    category: str


@cache
def nibrs_offenses() -> Mapping[str, NibrsOffense]:
    """Every NIBRS offense by code (``"13A"``), from ``nibrs_offenses.csv``."""
    out: dict[str, NibrsOffense] = {}
    for line, row in _read_csv("nibrs_offenses.csv", ("code", "name", "category")):
        where = f"nibrs_offenses.csv, line {line}"
        if row["category"] not in NIBRS_CATEGORIES:
            raise CodeSetError(
                f"{where}, field 'category': got {row['category']!r}, "
                f"expected one of {', '.join(NIBRS_CATEGORIES)}"
            )
        code = row["code"].upper()
        if code in out:
            raise CodeSetError(f"{where}, field 'code': {code!r} listed twice")
        out[code] = NibrsOffense(code, row["name"], row["category"])
    return MappingProxyType(out)


def nibrs_category(code: str) -> str | None:
    """NIBRS category (person, property, society, group_b) of an offense code, or None.

    Accepts ``"13A"``, ``"13a"`` or the namespaced ``"nibrs:13A"``.
    """
    key = code.strip()
    if key[:6].lower() == "nibrs:":
        key = key[6:].strip()
    offense = nibrs_offenses().get(key.upper())
    return offense.category if offense else None


# --------------------------------------------------------------------------------------------
# APCO call types


@dataclass(frozen=True)
class ApcoCallType:
    """An APCO common incident type and what it implies for wellbeat."""

    code: str
    name: str
    syndromes: tuple[str, ...]
    behavioral_health: bool
    civilian_eligible: bool


@cache
def apco_call_types() -> Mapping[str, ApcoCallType]:
    """Every APCO call type by code (``"EDP"``), from ``apco_call_types.csv``."""
    columns = ("code", "name", "syndromes", "behavioral_health", "civilian_eligible")
    out: dict[str, ApcoCallType] = {}
    for line, row in _read_csv("apco_call_types.csv", columns):
        where = f"apco_call_types.csv, line {line}"
        code = row["code"].upper()
        if code in out:
            raise CodeSetError(f"{where}, field 'code': {code!r} listed twice")
        out[code] = ApcoCallType(
            code=code,
            name=row["name"],
            syndromes=_syndromes(row["syndromes"], f"{where}, field 'syndromes'"),
            behavioral_health=_boolean(
                row["behavioral_health"], f"{where}, field 'behavioral_health'"
            ),
            civilian_eligible=_boolean(
                row["civilian_eligible"], f"{where}, field 'civilian_eligible'"
            ),
        )
    return MappingProxyType(out)


def apco_call_type(code: str) -> ApcoCallType | None:
    """The APCO call type for ``"EDP"`` / ``"apco:edp"``, or None if it is not in the set."""
    key = code.strip()
    if key[:5].lower() == "apco:":
        key = key[5:].strip()
    return apco_call_types().get(key.upper())


# --------------------------------------------------------------------------------------------
# NEMSIS


@dataclass(frozen=True)
class DispatchReason:
    """A NEMSIS eDispatch.01 dispatch reason and the syndromes it implies."""

    code: str
    name: str
    syndromes: tuple[str, ...]


@dataclass(frozen=True)
class OpioidCaseDefinition:
    """The NEMSIS v3 opioid overdose case definition."""

    impression_pattern: re.Pattern[str]
    """Matched against the whole of each eSituation.09-.12 value (ICD-10-CM with the dot)."""
    naloxone_rxnorm: frozenset[str]
    naloxone_response: str


@cache
def _nemsis() -> dict[str, Any]:
    return _read_yaml("nemsis.yaml")


@cache
def nemsis_dispatch_reasons() -> Mapping[str, DispatchReason]:
    """eDispatch.01 dispatch reasons by code (``"2301053"``), from ``nemsis.yaml``."""
    raw = _nemsis().get("dispatch_reasons")
    if not isinstance(raw, dict):
        raise CodeSetError("nemsis.yaml: 'dispatch_reasons' must be a mapping of code to entry")
    out = {}
    for code, entry in raw.items():
        where = f"nemsis.yaml, dispatch_reasons[{code!r}]"
        if not re.fullmatch(r"2301\d{3}", str(code)):
            raise CodeSetError(f"{where}: expected a 7-digit code 2301nnn")
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise CodeSetError(f"{where}: expected {{name: ..., syndromes: [...]}}")
        out[str(code)] = DispatchReason(
            str(code), entry["name"], _syndromes(entry.get("syndromes"), f"{where}.syndromes")
        )
    return MappingProxyType(out)


@cache
def nemsis_medication_responses() -> Mapping[str, str]:
    """eMedications.07 response codes to their names (``"9916001": "Improved"``)."""
    raw = _nemsis().get("medication_responses")
    if not isinstance(raw, dict) or not raw:
        raise CodeSetError("nemsis.yaml: 'medication_responses' must map codes to names")
    return MappingProxyType({str(code): str(name) for code, name in raw.items()})


@cache
def nemsis_opioid_case_definition() -> OpioidCaseDefinition:
    """The NEMSIS opioid overdose case definition from ``nemsis.yaml``."""
    raw = _nemsis().get("opioid_overdose_case_definition")
    where = "nemsis.yaml, opioid_overdose_case_definition"
    if not isinstance(raw, dict):
        raise CodeSetError(f"{where}: expected a mapping")
    try:
        pattern = re.compile(str(raw["impression_pattern"]))
    except KeyError as exc:
        raise CodeSetError(f"{where}: missing field 'impression_pattern'") from exc
    except re.error as exc:
        raise CodeSetError(f"{where}.impression_pattern: not a regular expression: {exc}") from exc
    response = str(raw.get("naloxone_response", ""))
    if response not in nemsis_medication_responses():
        raise CodeSetError(
            f"{where}.naloxone_response: {response!r} is not one of medication_responses"
        )
    return OpioidCaseDefinition(
        impression_pattern=pattern,
        naloxone_rxnorm=frozenset(
            _string_list(raw.get("naloxone_rxnorm"), f"{where}.naloxone_rxnorm")
        ),
        naloxone_response=response,
    )


# --------------------------------------------------------------------------------------------
# ICD-10-CM


def icd10_key(code: str) -> str:
    """An ICD-10(-CM) code in its comparison form: upper case, no dot, no spaces."""
    return code.replace(".", "").replace(" ", "").strip().upper()


@dataclass(frozen=True)
class CodeRange:
    """Codes whose first ``len(low)`` characters lie in ``[low, high]`` (dot-free form)."""

    low: str
    high: str

    def contains(self, key: str) -> bool:
        head = key[: len(self.low)]
        return len(head) == len(self.low) and self.low <= head <= self.high


def _code_range(text: str, where: str) -> CodeRange:
    low, _, high = text.partition("-")
    low, high = icd10_key(low), icd10_key(high or low)
    if len(low) != len(high) or not _ICD_CODE.match(low) or not _ICD_CODE.match(high):
        raise CodeSetError(
            f"{where}: {text!r} is not an ICD-10 code prefix or a range of equal-length "
            "prefixes like 'T36-T50'"
        )
    if low > high:
        raise CodeSetError(f"{where}: range {text!r} runs backwards")
    return CodeRange(low, high)


@dataclass(frozen=True)
class IcdRule:
    """Codes in ``ranges`` give ``syndromes``; ``intents`` restricts poisoning codes by intent."""

    name: str
    description: str
    ranges: tuple[CodeRange, ...]
    intents: frozenset[str] | None
    syndromes: tuple[str, ...]

    def covers(self, key: str) -> bool:
        return any(r.contains(key) for r in self.ranges)


@dataclass(frozen=True)
class Icd10cmRules:
    """The ICD-10-CM rules, the 5th-character-intent subcategories and the death-record rules."""

    rules: tuple[IcdRule, ...]
    intent_fifth_character: frozenset[str]
    underlying_causes: tuple[IcdRule, ...]
    drug_mentions: tuple[IcdRule, ...]


def _icd_rules(items: object, where: str, *, named: bool) -> tuple[IcdRule, ...]:
    if not isinstance(items, list):
        raise CodeSetError(f"{where}: expected a list of rules")
    out = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise CodeSetError(f"{at}: expected a mapping with codes and syndromes")
        name = str(item.get("name", "")) if named else f"{where.split(', ')[-1]}[{i}]"
        if named and not name:
            raise CodeSetError(f"{at}: missing field 'name'")
        codes = _string_list(item.get("codes"), f"{at}.codes")
        intents = item.get("intents")
        if intents is not None:
            intents = _string_list(intents, f"{at}.intents")
            bad = [v for v in intents if v not in "123456" or len(v) != 1]
            if bad:
                raise CodeSetError(f"{at}.intents: {bad!r} are not intent characters 1-6")
        syndromes = _syndromes(item.get("syndromes"), f"{at}.syndromes")
        if not syndromes:
            raise CodeSetError(f"{at}.syndromes: a rule must give at least one syndrome")
        out.append(
            IcdRule(
                name=name,
                description=" ".join(str(item.get("description", "")).split()),
                ranges=tuple(_code_range(c, f"{at}.codes") for c in codes),
                intents=frozenset(intents) if intents is not None else None,
                syndromes=syndromes,
            )
        )
    return tuple(out)


@cache
def icd10cm_rules() -> Icd10cmRules:
    """The ICD-10-CM syndrome rules from ``icd10cm.yaml``."""
    name = "icd10cm.yaml"
    data = _read_yaml(name)
    fifth = _string_list(data.get("intent_fifth_character"), f"{name}, intent_fifth_character")
    mortality = data.get("mortality")
    if not isinstance(mortality, dict):
        raise CodeSetError(f"{name}: 'mortality' must map underlying_causes and drug_mentions")
    return Icd10cmRules(
        rules=_icd_rules(data.get("rules"), f"{name}, rules", named=True),
        intent_fifth_character=frozenset(icd10_key(c) for c in fifth),
        underlying_causes=_icd_rules(
            mortality.get("underlying_causes"), f"{name}, underlying_causes", named=False
        ),
        drug_mentions=_icd_rules(
            mortality.get("drug_mentions"), f"{name}, drug_mentions", named=False
        ),
    )


# --------------------------------------------------------------------------------------------
# SDOH


@dataclass(frozen=True)
class SdohCategory:
    """A Gravity Project SDOH category with its ICD-10-CM Z-code prefixes."""

    code: str
    display: str
    z_codes: tuple[str, ...]
    syndrome: str | None


@cache
def sdoh_categories() -> Mapping[str, SdohCategory]:
    """Gravity SDOH categories by code (``"food-insecurity"``), from ``sdoh_categories.csv``."""
    out: dict[str, SdohCategory] = {}
    for line, row in _read_csv("sdoh_categories.csv", ("code", "display", "z_codes", "syndrome")):
        where = f"sdoh_categories.csv, line {line}"
        z_codes = tuple(c.strip() for c in row["z_codes"].split(";") if c.strip())
        for z in z_codes:
            if not re.fullmatch(r"Z\d\d(\.\w{1,4})?", z):
                raise CodeSetError(f"{where}, field 'z_codes': {z!r} is not an ICD-10-CM Z code")
        syndromes = _syndromes(row["syndrome"], f"{where}, field 'syndrome'")
        out[row["code"]] = SdohCategory(
            row["code"], row["display"], z_codes, syndromes[0] if syndromes else None
        )
    return MappingProxyType(out)


def sdoh_category_for_z_code(code: str) -> SdohCategory | None:
    """The SDOH category an ICD-10-CM Z code belongs to (longest prefix wins), or None."""
    key = icd10_key(code.split(":", 1)[1] if ":" in code else code)
    best: tuple[int, SdohCategory] | None = None
    for category in sdoh_categories().values():
        for z in category.z_codes:
            prefix = icd10_key(z)
            if key.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), category)
    return best[1] if best else None


# --------------------------------------------------------------------------------------------
# Chief-complaint vocabulary


@dataclass(frozen=True)
class ComplaintLexicon:
    """The chief-complaint terms by category, the fuzzy words and the negation rules."""

    words: Mapping[str, frozenset[str]]
    phrases: tuple[tuple[str, frozenset[str]], ...]
    fuzzy: frozenset[str]
    negation_cues: frozenset[str]
    negation_window: int
    negation_terminators: frozenset[str]


@cache
def complaint_lexicon() -> ComplaintLexicon:
    """The chief-complaint vocabulary from ``chief_complaint.yaml``."""
    name = "chief_complaint.yaml"
    data = _read_yaml(name)
    categories = data.get("categories")
    if not isinstance(categories, dict):
        raise CodeSetError(f"{name}: 'categories' must map category names to words/phrases")
    words: dict[str, set[str]] = {}
    phrases: dict[str, set[str]] = {}
    for category, entry in categories.items():
        where = f"{name}, categories.{category}"
        if not isinstance(entry, dict) or not set(entry) <= {"words", "phrases"}:
            raise CodeSetError(f"{where}: expected a mapping with 'words' and/or 'phrases'")
        for word in _string_list(entry.get("words", []), f"{where}.words"):
            if " " in word or word != word.lower():
                raise CodeSetError(f"{where}.words: {word!r} must be one lower-case token")
            words.setdefault(word, set()).add(category)
        for phrase in _string_list(entry.get("phrases", []), f"{where}.phrases"):
            try:
                re.compile(phrase)
            except re.error as exc:
                raise CodeSetError(f"{where}.phrases: {phrase!r} is not a regex: {exc}") from exc
            phrases.setdefault(phrase, set()).add(category)
    negation = data.get("negation")
    if not isinstance(negation, dict):
        raise CodeSetError(f"{name}: 'negation' must give cues, window and terminators")
    window = negation.get("window")
    if not isinstance(window, int) or window < 1:
        raise CodeSetError(f"{name}, negation.window: expected a positive integer, got {window!r}")
    fuzzy = _string_list(data.get("fuzzy", []), f"{name}, fuzzy")
    unknown = [w for w in fuzzy if w not in words]
    if unknown:
        raise CodeSetError(f"{name}, fuzzy: {unknown!r} are not words of any category")
    return ComplaintLexicon(
        words=MappingProxyType({w: frozenset(c) for w, c in words.items()}),
        phrases=tuple((p, frozenset(c)) for p, c in phrases.items()),
        fuzzy=frozenset(fuzzy),
        negation_cues=frozenset(_string_list(negation.get("cues"), f"{name}, negation.cues")),
        negation_window=window,
        negation_terminators=frozenset(
            _string_list(negation.get("terminators"), f"{name}, negation.terminators")
        ),
    )


# --------------------------------------------------------------------------------------------
# Officer-initiated contacts and use of force

FLAG_SPELLINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"true": ("true", "t", "yes", "y", "1"), "false": ("false", "f", "no", "n", "0")}
)
"""How a true/false attribute may be spelt in an extract (matched case-insensitively)."""


@dataclass(frozen=True)
class ContactAttribute:
    """One attribute of stop or use-of-force events: its kinds and its controlled values."""

    name: str
    kinds: tuple[str, ...]
    values: tuple[str, ...]
    """The canonical values, in the file's order."""
    spellings: Mapping[str, str]
    """Lower-case spelling (canonical values included) -> canonical value."""
    flag: bool


@cache
def police_contact_attributes() -> Mapping[str, ContactAttribute]:
    """Attribute vocabularies of ``stop`` and ``use_of_force`` events, from
    ``police_contacts.yaml``, by attribute name."""
    name = "police_contacts.yaml"
    data = _read_yaml(name)
    entries = data.get("attributes")
    if not isinstance(entries, dict) or not entries:
        raise CodeSetError(f"{name}: 'attributes' must map attribute names to vocabularies")
    known_kinds = {k.value for k in Kind}
    out: dict[str, ContactAttribute] = {}
    for attribute, entry in entries.items():
        where = f"{name}, attributes.{attribute}"
        if not isinstance(entry, dict):
            raise CodeSetError(f"{where}: expected a mapping with 'kinds' and 'values' or 'flag'")
        kinds = _string_list(entry.get("kinds"), f"{where}.kinds")
        bad = [k for k in kinds if k not in known_kinds]
        if bad:
            raise CodeSetError(f"{where}.kinds: {bad!r} are not event kinds")
        flag = entry.get("flag", False) is True
        if flag == ("values" in entry):
            raise CodeSetError(f"{where}: give either 'flag: true' or 'values', not both")
        table: dict[str, tuple[str, ...]]
        if flag:
            table = dict(FLAG_SPELLINGS)
        else:
            values = entry["values"]
            if not isinstance(values, dict) or not values:
                raise CodeSetError(f"{where}.values: expected canonical value -> spellings")
            table = {
                str(v): tuple(_string_list(s or [], f"{where}.values.{v}"))
                for v, s in values.items()
            }
        spellings: dict[str, str] = {}
        for canonical, others in table.items():
            for spelling in (canonical, *others):
                key = " ".join(spelling.lower().split())
                if spellings.get(key, canonical) != canonical:
                    raise CodeSetError(
                        f"{where}: {spelling!r} spells both {spellings[key]!r} and {canonical!r}"
                    )
                spellings[key] = canonical
        out[str(attribute)] = ContactAttribute(
            name=str(attribute),
            kinds=tuple(kinds),
            values=tuple(table),
            spellings=MappingProxyType(spellings),
            flag=flag,
        )
    return MappingProxyType(out)
