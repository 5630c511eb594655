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

_ABBREVIATIONS = {"w/o": " without ", "s/p": " status post ", "h/o": " history of "}
_ABBREVIATIONS |= {"c/o": " complains of ", "r/o": " rule out "}
_REWRITE = re.compile(r"[\u2018\u2019`]|\bo\s?\.\s?d\b\.?|\b(?:w/o|s/p|h/o|c/o|r/o)\b")


def _rewrite(match: re.Match[str]) -> str:
    """Curly quotes to ASCII, "o.d." to "od", and clinical slash abbreviations to words."""
    text = match.group()
    if text in _ABBREVIATIONS:
        return _ABBREVIATIONS[text]
    return "'" if len(text) == 1 else " od "


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
    any_phrase: re.Pattern[str]
    """All phrases in one alternation: finds where some phrase starts in one C-level scan."""
    fuzzy_by_letter: dict[str, tuple[str, ...]]


@cache
def _compiled() -> _CompiledLexicon:
    lexicon = complaint_lexicon()
    bounded = [rf"(?<![a-z0-9'])(?:{pattern})(?![a-z0-9'])" for pattern, _ in lexicon.phrases]
    phrases = tuple(
        (re.compile(pattern), categories)
        for pattern, (_, categories) in zip(bounded, lexicon.phrases, strict=True)
    )
    # The word boundaries go outside the alternation: checked once per position, not once per
    # phrase, this scan is about six times faster.
    any_phrase = re.compile(
        "(?<![a-z0-9'])(?:"
        + "|".join(f"(?:{pattern})" for pattern, _ in lexicon.phrases)
        + ")(?![a-z0-9'])"
    )
    by_letter: dict[str, list[str]] = {}
    for word in sorted(lexicon.fuzzy):
        by_letter.setdefault(word[0], []).append(word)
    return _CompiledLexicon(
        lexicon, phrases, any_phrase, {k: tuple(v) for k, v in by_letter.items()}
    )


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
    # Phrases, leftmost-longest: where some phrase starts, the longest phrase there wins (equal
    # lengths merge their categories) and the scan goes on after it.
    matches: list[tuple[int, frozenset[str]]] = []
    consumed: set[int] = set()
    position = 0
    while (found_at := compiled.any_phrase.search(text, position)) is not None:
        start = found_at.start()
        end = start
        categories: set[str] = set()
        for pattern, phrase_categories in compiled.phrases:
            match = pattern.match(text, start)
            if match is None or match.end() < end:
                continue
            if match.end() > end:
                end, categories = match.end(), set()
            categories |= phrase_categories
        if end == start:  # an empty match; cannot happen with the shipped phrases
            position = start + 1
            continue
        first = bisect_left(starts, start)
        last = bisect_left(starts, end) - 1
        consumed.update(range(first, last + 1))
        matches.append((first, frozenset(categories)))
        position = end
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
        word_categories = _token_categories(token)
        if word_categories:
            matches.append((i, word_categories))
    found: set[str] = set()
    for first, term_categories in matches:
        if first not in negated:
            found.update(term_categories)
    found.discard("exclusion")
    return found


def complaint_terms(text: str) -> frozenset[str]:
    """The chief-complaint term categories in ``text`` that no negation removes."""
    compiled = _compiled()
    lowered = _REWRITE.sub(_rewrite, text.lower())
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
