"""Chief-complaint text to syndromes, following the CDC DOSE / NSSP CCDD term logic.

A complaint is split into clauses and tokens; phrases and words from ``chief_complaint.yaml``
mark term categories (overdose, drug classes, naloxone, assault, ...); a negation cue ("denies",
"no", "not", "neg") removes the terms that follow it within a short window. The categories left
decide the syndromes: an overdose needs an overdose term and a drug term, except that the word
"overdose" itself and a mention of naloxone suffice (CDC All Drug v2); a drug class needs its
own term. The free text never leaves the source: only the syndromes do.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache, lru_cache

from wellbeat.events.codesets import ComplaintLexicon, complaint_lexicon
from wellbeat.events.schema import Syndrome

_ABBREVIATIONS = (
    (re.compile(r"[\u2018\u2019`]"), "'"),
    (re.compile(r"\bo\s?\.\s?d\b\.?"), " od "),
    (re.compile(r"\bw/o\b"), " without "),
    (re.compile(r"\bs/p\b"), " status post "),
    (re.compile(r"\bh/o\b"), " history of "),
    (re.compile(r"\bc/o\b"), " complains of "),
    (re.compile(r"\br/o\b"), " rule out "),
)
_CLAUSE_BREAK = re.compile(r"[.;!?\n\r]+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_FUZZY_MIN_LENGTH = 6

_SUBSTANCES = frozenset(
    {"drug", "opioid", "heroin", "fentanyl", "stimulant", "benzodiazepine", "naloxone"}
)
_OPIOID_TERMS = frozenset({"opioid", "heroin", "fentanyl", "naloxone"})
_DIRECT = (
    ("self_harm", Syndrome.SELF_HARM),
    ("suicidal_ideation", Syndrome.SUICIDAL_IDEATION),
    ("firearm", Syndrome.FIREARM_INJURY),
    ("assault", Syndrome.ASSAULT_INJURY),
    ("domestic_violence", Syndrome.DOMESTIC_VIOLENCE),
    ("mental_health", Syndrome.MENTAL_HEALTH_CRISIS),
    ("homelessness", Syndrome.HOMELESSNESS),
)


@dataclass(frozen=True)
class _CompiledLexicon:
    lexicon: ComplaintLexicon
    phrases: tuple[tuple[re.Pattern[str], frozenset[str]], ...]
    fuzzy_by_letter: dict[str, tuple[str, ...]]


@cache
def _compiled() -> _CompiledLexicon:
    lexicon = complaint_lexicon()
    phrases = tuple(
        (re.compile(rf"(?<![a-z0-9'])(?:{pattern})(?![a-z0-9'])"), categories)
        for pattern, categories in lexicon.phrases
    )
    by_letter: dict[str, list[str]] = {}
    for word in sorted(lexicon.fuzzy):
        by_letter.setdefault(word[0], []).append(word)
    return _CompiledLexicon(lexicon, phrases, {k: tuple(v) for k, v in by_letter.items()})


def _within_one_edit(a: str, b: str) -> bool:
    """True when ``a`` becomes ``b`` by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]


@lru_cache(maxsize=1 << 14)
def _token_categories(token: str) -> frozenset[str]:
    compiled = _compiled()
    exact = compiled.lexicon.words.get(token)
    if exact is not None:
        return exact
    if len(token) >= _FUZZY_MIN_LENGTH and not token.isdigit():
        for word in compiled.fuzzy_by_letter.get(token[0], ()):
            if _within_one_edit(token, word):
                return compiled.lexicon.words[word]
    return frozenset()


def _clause_terms(tokens: list[str], compiled: _CompiledLexicon) -> set[str]:
    """Term categories in one clause after phrases, words and negation."""
    text = " ".join(tokens)
    starts = []
    offset = 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    # Phrase matches as token spans; the leftmost-longest wins and equal spans merge.
    spans: dict[tuple[int, int], set[str]] = {}
    for pattern, categories in compiled.phrases:
        for match in pattern.finditer(text):
            if match.end() == match.start():
                continue
            first = bisect_left(starts, match.start())
            last = bisect_left(starts, match.end()) - 1
            spans.setdefault((first, last), set()).update(categories)
    matches: list[tuple[int, frozenset[str]]] = []
    consumed: set[int] = set()
    for (first, last), phrase_categories in sorted(
        spans.items(), key=lambda span: (span[0][0], -span[0][1])
    ):
        if any(i in consumed for i in range(first, last + 1)):
            continue
        consumed.update(range(first, last + 1))
        matches.append((first, frozenset(phrase_categories)))
    lexicon = compiled.lexicon
    negated: set[int] = set()
    for i, token in enumerate(tokens):
        if i in consumed:
            continue
        if token in lexicon.negation_cues:
            for j in range(i + 1, min(i + 1 + lexicon.negation_window, len(tokens))):
                if tokens[j] in lexicon.negation_terminators:
                    break
                negated.add(j)
            continue
        categories = _token_categories(token)
        if categories:
            matches.append((i, categories))
    found: set[str] = set()
    for first, categories in matches:
        if first not in negated:
            found.update(categories)
    found.discard("exclusion")
    return found


def complaint_terms(text: str) -> frozenset[str]:
    """The chief-complaint term categories in ``text`` that no negation removes."""
    compiled = _compiled()
    lowered = text.lower()
    for pattern, replacement in _ABBREVIATIONS:
        lowered = pattern.sub(replacement, lowered)
    found: set[str] = set()
    for clause in _CLAUSE_BREAK.split(lowered):
        tokens = _TOKEN.findall(clause)
        if tokens:
            found |= _clause_terms(tokens, compiled)
    return frozenset(found)


@lru_cache(maxsize=1 << 16)
def complaint_syndromes(text: str) -> frozenset[str]:
    """Syndromes a chief complaint supports on its own (before implied syndromes are added)."""
    terms = complaint_terms(text)
    out: set[str] = set()
    substances = terms & _SUBSTANCES
    explicit = "overdose_explicit" in terms
    alcohol_only = "alcohol" in terms and not substances
    if (
        "naloxone" in terms
        or ("overdose_term" in terms and substances)
        or (explicit and not alcohol_only)
    ):
        out.add(Syndrome.OVERDOSE)
        if terms & _OPIOID_TERMS:
            out.add(Syndrome.OPIOID_OVERDOSE)
        if "heroin" in terms:
            out.add(Syndrome.HEROIN_OVERDOSE)
        if "fentanyl" in terms:
            out.add(Syndrome.FENTANYL_OVERDOSE)
        if "stimulant" in terms:
            out.add(Syndrome.STIMULANT_OVERDOSE)
        if "benzodiazepine" in terms:
            out.add(Syndrome.BENZODIAZEPINE_OVERDOSE)
        if "self_harm_intent" in terms:
            out.add(Syndrome.SELF_HARM)
    for category, syndrome in _DIRECT:
        if category in terms:
            out.add(syndrome)
    if "alcohol" in terms and "alcohol_withdrawal" not in terms:
        out.add(Syndrome.ALCOHOL_INTOXICATION)
    return frozenset(str(s) for s in out)
