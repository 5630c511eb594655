"""NegEx-style reading of short free text: which terms it mentions, and whether each mention is
affirmed, negated or uncertain.

One implementation, shared by the chief-complaint classifier (``complaint.py``, whose
vocabulary is ``codesets/chief_complaint.yaml``) and crisis triage (``wellbeat.care.triage``,
whose vocabulary is the jurisdiction's rules file). Text is lower-cased, split into clauses and
tokens; phrases (regular expressions over the space-joined tokens, leftmost-longest) and words
(exact tokens, or one edit from a fuzzy word of 6+ letters) mark term categories. A cue changes
the reading of the terms that start within ``window`` tokens after it, up to a terminator or the
end of the clause: a negation cue ("no", "denies", "without") negates them, an uncertainty cue
("unknown if", "may", "possibly") makes them uncertain, and uncertainty wins over negation
("not sure if he has a gun" is uncertain, not negated). Terminators ("but", "and") end a
negation only: an uncertain reading errs on the side of a mention counting, so it runs the whole
window. Cues side by side read as one ("unknown if"). A post-negation cue negates the terms at
most two tokens before it ("weapon: none", "any weapons none"); a pseudo-negation ("no doubt")
is a cue of neither kind. Other cues read forward only (Chapman et al., NegEx, 2001).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

__all__ = ["Cues", "Mention", "Reading", "TermMatcher", "prefix_phrase", "tokens"]

_ABBREVIATIONS = {"w/o": " without ", "s/p": " status post ", "h/o": " history of "}
_ABBREVIATIONS |= {"c/o": " complains of ", "r/o": " rule out "}
_REWRITE = re.compile(r"[\u2018\u2019`]|\bo\s?\.\s?d\b\.?|\b(?:w/o|s/p|h/o|c/o|r/o)\b")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_FUZZY_MIN_LENGTH = 6
CLAUSE_BREAKS = r"[.;!?\n\r]+"
"""Sentence punctuation: the default clause breaks (a comma does not end a clause)."""

# Marker categories for cue phrases found by the phrase scan (never returned as terms).
_NEGATION = "\x00negation"
_UNCERTAINTY = "\x00uncertainty"
_PSEUDO = "\x00pseudo"
_POST_NEGATION = "\x00post-negation"
_CUE_KINDS = frozenset({_NEGATION, _UNCERTAINTY, _PSEUDO, _POST_NEGATION})


def _rewrite(match: re.Match[str]) -> str:
    """Curly quotes to ASCII, "o.d." to "od", and clinical slash abbreviations to words."""
    text = match.group()
    if text in _ABBREVIATIONS:
        return _ABBREVIATIONS[text]
    return "'" if len(text) == 1 else " od "


def normalise(text: str) -> str:
    """Lower case, ASCII apostrophes, "o.d." as "od" and "w/o" etc. as words."""
    return _REWRITE.sub(_rewrite, text.lower())


def tokens(text: str) -> list[str]:
    """The tokens the matcher reads in ``text`` (after ``normalise``)."""
    return _TOKEN.findall(normalise(text))


def prefix_phrase(keyword: str) -> str:
    """A phrase pattern matching ``keyword`` at the start of a word: "gun" matches "guns" and
    "gunshot", not "begun"; "not breathing" matches "not breathing". Punctuation in the keyword
    reads as the tokenizer reads it ("self-harm" is "self harm")."""
    words = tokens(keyword)
    if not words:
        raise ValueError(f"keyword {keyword!r} has no letters or digits")
    return " ".join(re.escape(w) for w in words) + "[a-z0-9']*"


class Reading(StrEnum):
    AFFIRMED = "affirmed"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Mention:
    """One term found in the text: its categories, the words matched, how it reads, and the cue
    that made it negated or uncertain ("" when affirmed)."""

    categories: frozenset[str]
    text: str
    reading: Reading
    cue: str = ""
    gap: int = 0
    """Tokens between the cue and the term (0: adjacent, "no weapon")."""
    cue_after: bool = False
    """The cue follows the term ("weapon none")."""

    def quoted(self) -> str:
        """The cue and the term as a reader would quote them: 'no weapon', 'unknown if … armed'.
        The words in between are left out (they may be a name)."""
        if not self.cue:
            return f"'{self.text}'"
        between = " … " if self.gap else " "
        if self.cue_after:
            return f"'{self.text}{between}{self.cue}'"
        return f"'{self.cue}{between}{self.text}'"


@dataclass(frozen=True)
class Cues:
    """What changes a term's reading. Single-word cues are looked up per token; cues of several
    words are phrases (regular expressions over the space-joined tokens)."""

    negation: frozenset[str]
    window: int
    terminators: frozenset[str]
    uncertainty: frozenset[str] = frozenset()
    pseudo: frozenset[str] = frozenset()
    post_negation: frozenset[str] = frozenset()
    """Cues that negate the terms just before them ("weapon: none"), within ``post_window``."""
    post_window: int = 2
    clause_breaks: str = CLAUSE_BREAKS

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"cue window must be a positive number of tokens, got {self.window}")


class TermMatcher:
    """Finds term mentions and reads their negation and uncertainty.

    ``words`` maps one token to its categories; ``phrases`` are (pattern, categories) pairs;
    ``fuzzy`` words also match a token of 6+ letters at one edit (same first letter)."""

    def __init__(
        self,
        words: Mapping[str, frozenset[str]],
        phrases: Iterable[tuple[str, frozenset[str]]],
        cues: Cues,
        fuzzy: Iterable[str] = (),
    ) -> None:
        self.words = words
        self.phrases = tuple(phrases)
        self.cues = cues
        cues = self.cues
        all_phrases = list(self.phrases)
        for kind, group in (
            (_NEGATION, cues.negation),
            (_UNCERTAINTY, cues.uncertainty),
            (_PSEUDO, cues.pseudo),
            (_POST_NEGATION, cues.post_negation),
        ):
            all_phrases += [(c, frozenset({kind})) for c in sorted(group) if " " in c]
        self._compiled: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = tuple(
            (re.compile(rf"(?<![a-z0-9'])(?:{pattern})(?![a-z0-9'])"), categories)
            for pattern, categories in all_phrases
        )
        # The word boundaries go outside the alternation: checked once per position, not once
        # per phrase, this scan is about six times faster.
        self._any_phrase: re.Pattern[str] | None = (
            re.compile(
                "(?<![a-z0-9'])(?:"
                + "|".join(f"(?:{pattern})" for pattern, _ in all_phrases)
                + ")(?![a-z0-9'])"
            )
            if all_phrases
            else None
        )
        fuzzy_words = sorted(set(fuzzy))
        unknown = [w for w in fuzzy_words if w not in self.words]
        if unknown:
            raise ValueError(f"fuzzy words {unknown!r} are not words of any category")
        by_letter: dict[str, list[str]] = {}
        for word in fuzzy_words:
            by_letter.setdefault(word[0], []).append(word)
        self._fuzzy_by_letter = {k: tuple(v) for k, v in by_letter.items()}
        self._clause_break = re.compile(cues.clause_breaks)
        self._single: dict[str, str] = {
            **{c: _PSEUDO for c in cues.pseudo if " " not in c},
            **{c: _POST_NEGATION for c in cues.post_negation if " " not in c},
            **{c: _NEGATION for c in cues.negation if " " not in c},
            **{c: _UNCERTAINTY for c in cues.uncertainty if " " not in c},
        }
        self.token_categories = lru_cache(maxsize=1 << 14)(self._token_categories)

    def _token_categories(self, token: str) -> frozenset[str]:
        exact = self.words.get(token)
        if exact is not None:
            return exact
        if len(token) >= _FUZZY_MIN_LENGTH and not token.isdigit():
            for word in self._fuzzy_by_letter.get(token[0], ()):
                if within_one_edit(token, word):
                    return self.words[word]
        return frozenset()

    def mentions(self, text: str) -> tuple[Mention, ...]:
        """Every term mention in ``text``, in order, with its reading."""
        out: list[Mention] = []
        for clause in self._clause_break.split(normalise(text)):
            toks = _TOKEN.findall(clause)
            if not toks:
                continue
            for first, last, categories, scope in self._clause_terms(toks):
                if scope is None:
                    out.append(
                        Mention(categories, " ".join(toks[first : last + 1]), Reading.AFFIRMED)
                    )
                    continue
                kind, cue_first, cue_last = scope
                after = kind == _POST_NEGATION
                out.append(
                    Mention(
                        categories,
                        " ".join(toks[first : last + 1]),
                        Reading.UNCERTAIN if kind == _UNCERTAINTY else Reading.NEGATED,
                        " ".join(toks[cue_first : cue_last + 1]),
                        cue_first - last - 1 if after else first - cue_last - 1,
                        after,
                    )
                )
        return tuple(out)

    def terms(self, text: str) -> frozenset[str]:
        """The categories of the mentions that no negation removes (affirmed or uncertain)."""
        found: set[str] = set()
        for clause in self._clause_break.split(normalise(text)):
            toks = _TOKEN.findall(clause)
            if toks:
                for _, _, categories, scope in self._clause_terms(toks):
                    if scope is None or scope[0] == _UNCERTAINTY:
                        found |= categories
        return frozenset(found)

    def _clause_terms(
        self, toks: list[str]
    ) -> list[tuple[int, int, frozenset[str], tuple[str, int, int] | None]]:
        """(first token, last token, categories, scope) of each term in one clause; the scope
        is (cue kind, cue's first token, cue's last token), None when the term is affirmed."""
        text = " ".join(toks)
        starts = []
        offset = 0
        for token in toks:
            starts.append(offset)
            offset += len(token) + 1
        # Phrases leftmost-longest (where some phrase starts, the longest phrase there wins,
        # equal lengths merge their categories, and the scan goes on after it), then the words
        # outside them. Cues are kept apart from terms: (first, last, kind).
        terms: list[tuple[int, int, frozenset[str]]] = []
        cue_hits: list[tuple[int, int, str]] = []
        consumed: set[int] = set()
        position = 0
        while self._any_phrase is not None and (hit := self._any_phrase.search(text, position)):
            start = hit.start()
            end = start
            categories: set[str] = set()
            for pattern, phrase_categories in self._compiled:
                match = pattern.match(text, start)
                if match is None or match.end() < end:
                    continue
                if match.end() > end:
                    end, categories = match.end(), set()
                categories |= phrase_categories
            if end == start:  # an empty match
                position = start + 1
                continue
            first = bisect_left(starts, start)
            last = bisect_left(starts, end) - 1
            consumed.update(range(first, last + 1))
            kinds = categories & _CUE_KINDS
            if kinds:
                cue_hits.append((first, last, _cue_kind(kinds)))
            else:
                terms.append((first, last, frozenset(categories)))
            position = end
        single = self._single
        for i, token in enumerate(toks):
            if i in consumed:
                continue
            kind = single.get(token)
            if kind is not None:
                cue_hits.append((i, i, kind))
                continue
            word_categories = self.token_categories(token)
            if word_categories:
                terms.append((i, i, word_categories))
        if not cue_hits:
            return [(first, last, categories, None) for first, last, categories in terms]
        terms.sort(key=lambda t: t[0])
        cue_hits.sort(key=lambda c: c[0])
        scopes = self._scopes(toks, cue_hits)
        return [(first, last, categories, scopes.get(first)) for first, last, categories in terms]

    def _scopes(
        self, toks: list[str], cue_hits: list[tuple[int, int, str]]
    ) -> dict[int, tuple[str, int, int]]:
        """Token index -> the cue whose scope covers it."""
        cues = self.cues
        scopes: dict[int, tuple[str, int, int]] = {}
        # Cues side by side read as one ("unknown if", "not sure if"); uncertainty wins.
        spans: list[tuple[int, int, str]] = []
        for first, last, kind in cue_hits:
            if kind == _PSEUDO:
                continue
            if kind == _POST_NEGATION:
                for j in range(first - 1, max(first - 1 - cues.post_window, -1), -1):
                    if toks[j] in cues.terminators:
                        break
                    scopes.setdefault(j, (kind, first, last))
                continue
            if spans and spans[-1][1] == first - 1:
                before = spans.pop()
                first = before[0]
                kind = _UNCERTAINTY if _UNCERTAINTY in (kind, before[2]) else kind
            spans.append((first, last, kind))
        for first, last, kind in spans:
            scope = (kind, first, last)
            for j in range(last + 1, min(last + 1 + cues.window, len(toks))):
                if kind == _NEGATION and toks[j] in cues.terminators:
                    break
                if j not in scopes or kind == _UNCERTAINTY:
                    scopes[j] = scope
        return scopes


def _cue_kind(kinds: set[str]) -> str:
    for kind in (_UNCERTAINTY, _NEGATION, _POST_NEGATION, _PSEUDO):
        if kind in kinds:
            return kind
    raise AssertionError(kinds)


def within_one_edit(a: str, b: str) -> bool:
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
