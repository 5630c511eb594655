"""The syndrome classifier: namespaced codes and chief-complaint text to wellbeat syndromes.

Follows CDC's DOSE chief complaint + discharge diagnosis (CCDD) logic: a matching diagnosis
code includes an event; otherwise the chief complaint must carry the terms (complaint.py).
ICD-10-CM poisoning codes count only for intents 1-4 and the initial encounter; police, EMS and
CAD codes map through their code sets (codesets/). Any specific overdose implies ``overdose``,
heroin and fentanyl overdoses imply ``opioid_overdose``. See docs/events.md.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from wellbeat.events.codesets import (
    Icd10cmRules,
    apco_call_type,
    icd10_key,
    icd10cm_rules,
    nemsis_dispatch_reasons,
    nemsis_medication_responses,
    nemsis_opioid_case_definition,
    nibrs_category,
    sdoh_categories,
)
from wellbeat.events.complaint import complaint_syndromes
from wellbeat.events.schema import CODE_NAMESPACES, SYNDROMES, Syndrome

__all__ = [
    "IMPLIED",
    "SYNDROMES",
    "Syndrome",
    "apco_syndromes",
    "classify",
    "classify_many",
    "code_syndromes",
    "complaint_syndromes",
    "nemsis_opioid_overdose",
]

IMPLIED: dict[str, frozenset[str]] = {
    Syndrome.OPIOID_OVERDOSE: frozenset({Syndrome.OVERDOSE}),
    Syndrome.HEROIN_OVERDOSE: frozenset({Syndrome.OPIOID_OVERDOSE, Syndrome.OVERDOSE}),
    Syndrome.FENTANYL_OVERDOSE: frozenset({Syndrome.OPIOID_OVERDOSE, Syndrome.OVERDOSE}),
    Syndrome.STIMULANT_OVERDOSE: frozenset({Syndrome.OVERDOSE}),
    Syndrome.BENZODIAZEPINE_OVERDOSE: frozenset({Syndrome.OVERDOSE}),
}
"""Syndromes that a more specific one implies (a heroin overdose is an opioid overdose)."""

_ICD_NAMESPACES = frozenset({"icd10cm", "icd10"})
_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
_INITIAL_ENCOUNTER = frozenset("ABC")
_INJURY_CHAPTERS = frozenset("STVWXY")


@dataclass(frozen=True)
class _CodeFacts:
    """What one code says: syndromes it gives, and death-record drug mentions."""

    syndromes: frozenset[str] = frozenset()
    drug_mentions: frozenset[str] = frozenset()
    """Syndromes of an intent-less drug code; they count only beside an underlying cause."""
    underlying_overdose: bool = False


_NOTHING = _CodeFacts()


def _closure(syndromes: Iterable[str]) -> list[str]:
    found = set(syndromes)
    for syndrome in list(found):
        found |= IMPLIED.get(syndrome, frozenset())
    return sorted(str(s) for s in found)


def _poisoning_intent(key: str, rules: Icd10cmRules) -> str | None:
    """Intent character of a T36-T65 code (5th for the listed subcategories, else 6th)."""
    position = 4 if key[:4] in rules.intent_fifth_character else 5
    if len(key) <= position:
        return None
    intent = key[position]
    return intent if intent in "123456" else None


@lru_cache(maxsize=1 << 16)
def _icd_facts(value: str) -> _CodeFacts:
    key = icd10_key(value)
    if not _ICD_SHAPE.match(key):
        return _NOTHING
    rules = icd10cm_rules()
    underlying = [r for r in rules.underlying_causes if r.covers(key)]
    if underlying:
        return _CodeFacts(
            syndromes=frozenset(s for r in underlying for s in r.syndromes),
            underlying_overdose=True,
        )
    if key[0] in _INJURY_CHAPTERS and len(key) >= 7 and key[6] not in _INITIAL_ENCOUNTER:
        return _NOTHING  # subsequent encounter or sequela
    poisoning = "T36" <= key[:3] <= "T65"
    intent = _poisoning_intent(key, rules) if poisoning else None
    found: set[str] = set()
    for rule in rules.rules:
        if rule.covers(key) and (rule.intents is None or intent in rule.intents):
            found.update(rule.syndromes)
    mentions: set[str] = set()
    if poisoning and intent is None:
        for rule in rules.drug_mentions:
            if rule.covers(key):
                mentions.update(rule.syndromes)
    return _CodeFacts(syndromes=frozenset(found), drug_mentions=frozenset(mentions))


@lru_cache(maxsize=1 << 16)
def _code_facts(code: str) -> _CodeFacts:
    namespace, sep, value = code.partition(":")
    if not sep:
        raise ValueError(
            f"code {code!r} has no namespace: expected 'namespace:code' with namespace one of "
            f"{', '.join(CODE_NAMESPACES)} (e.g. 'icd10cm:T40.1X1A')"
        )
    namespace = namespace.strip().lower()
    value = value.strip()
    if not value:
        return _NOTHING
    if namespace in _ICD_NAMESPACES:
        return _icd_facts(value)
    if namespace == "nibrs":
        category = nibrs_category(value)
        if category == "person":
            return _CodeFacts(syndromes=frozenset({Syndrome.VIOLENT_CRIME.value}))
        return _NOTHING
    if namespace == "apco":
        call_type = apco_call_type(value)
        return _CodeFacts(syndromes=frozenset(call_type.syndromes)) if call_type else _NOTHING
    if namespace == "nemsis":
        reason = nemsis_dispatch_reasons().get(value)
        return _CodeFacts(syndromes=frozenset(reason.syndromes)) if reason else _NOTHING
    if namespace == "sdoh":
        sdoh = sdoh_categories().get(value.lower())
        if sdoh and sdoh.syndrome:
            return _CodeFacts(syndromes=frozenset({sdoh.syndrome}))
        return _NOTHING
    return _NOTHING


def code_syndromes(code: str) -> list[str]:
    """Syndromes one namespaced code gives on its own (sorted, implied ones included)."""
    return _closure(_code_facts(code).syndromes)


def classify(codes: Sequence[str], chief_complaint: str | None = None) -> list[str]:
    """Syndromes of one event from its namespaced codes and optional chief complaint.

    Codes look like ``icd10cm:T40.1X1A`` (dot optional), ``nibrs:13A``, ``apco:EDP``,
    ``nemsis:2301053`` or ``sdoh:homelessness``; unknown codes and namespaces give nothing, a
    code without a namespace is a ``ValueError``. Returns sorted, unique syndrome names.
    """
    found: set[str] = set()
    mentions: set[str] = set()
    underlying = False
    for code in codes:
        facts = _code_facts(code)
        found |= facts.syndromes
        mentions |= facts.drug_mentions
        underlying = underlying or facts.underlying_overdose
    if underlying:
        found |= mentions
    if chief_complaint:
        found |= complaint_syndromes(chief_complaint)
    return _closure(found)


def classify_many(
    codes: Sequence[Sequence[str]], complaints: Sequence[str | None]
) -> list[list[str]]:
    """``classify`` for many events at once, computing each distinct (codes, complaint) once.

    ``codes[i]`` and ``complaints[i]`` describe event ``i``; a missing list (None) means no
    codes and a missing complaint may be None or NaN (as pandas gives it). Each event gets its
    own list, so callers may change one without touching another.
    """
    if len(codes) != len(complaints):
        raise ValueError(
            f"classify_many: {len(codes)} code lists but {len(complaints)} complaints; "
            "expected one complaint (or None) per event"
        )
    memo: dict[tuple[tuple[str, ...], object], tuple[str, ...]] = {}
    out: list[list[str]] = []
    append = out.append
    # A million small result lists would set off the cyclic garbage collector again and again
    # (about a third of the run time); they cannot form cycles, so it is paused for the loop.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for row_codes, complaint in zip(codes, complaints, strict=True):
            key = (tuple(row_codes) if row_codes is not None else (), complaint)
            result = memo.get(key)
            if result is None:
                result = memo[key] = tuple(classify(key[0], _complaint_text(complaint, len(out))))
            append(list(result))
    finally:
        if collecting:
            gc.enable()
    return out


def _complaint_text(complaint: object, row: int) -> str | None:
    """A complaint as text or None; NaN (pandas' missing value) counts as None."""
    if complaint is None or isinstance(complaint, str):
        return complaint
    if isinstance(complaint, float) and math.isnan(complaint):
        return None
    raise TypeError(
        f"classify_many: complaint #{row} is {type(complaint).__name__} {complaint!r}; "
        "expected a string or None"
    )


def apco_syndromes(call_type: str) -> list[str]:
    """Syndromes an APCO call type implies (``"EDP"`` or ``"apco:EDP"``); [] if unknown."""
    found = apco_call_type(call_type)
    return _closure(found.syndromes) if found else []


def _strip_namespace(value: str, namespace: str) -> str:
    text = value.strip()
    if text[: len(namespace) + 1].lower() == f"{namespace}:":
        text = text[len(namespace) + 1 :].strip()
    return text


def _dotted_icd(value: str) -> str:
    key = icd10_key(_strip_namespace(_strip_namespace(value, "icd10cm"), "icd10"))
    return f"{key[:3]}.{key[3:]}" if len(key) > 3 else key


def nemsis_opioid_overdose(
    impressions: Sequence[str], medications: Sequence[str], responses: Sequence[str]
) -> bool:
    """The NEMSIS v3 opioid overdose case definition for one EMS activation.

    ``impressions`` are eSituation.09-.12 ICD-10-CM codes (any that matches the definition's
    pattern makes a case). ``medications[i]`` (eMedications.03, RxNorm) was given with
    ``responses[i]`` (eMedications.07, a code like 9916001 or its name "Improved"): naloxone
    with an improved response makes a case; naloxone with no improvement does not.
    """
    definition = nemsis_opioid_case_definition()
    for impression in impressions:
        if impression and definition.impression_pattern.fullmatch(_dotted_icd(impression)):
            return True
    if len(medications) != len(responses):
        raise ValueError(
            f"nemsis_opioid_overdose: {len(medications)} medications but {len(responses)} "
            "responses; expected one eMedications.07 response per eMedications.03 medication"
        )
    by_name = {name.lower(): code for code, name in nemsis_medication_responses().items()}
    for medication, response in zip(medications, responses, strict=True):
        rxnorm = _strip_namespace(medication, "rxnorm")
        answer = _strip_namespace(response, "nemsis")
        answer = by_name.get(answer.lower(), answer)
        if rxnorm in definition.naloxone_rxnorm and answer == definition.naloxone_response:
            return True
    return False
