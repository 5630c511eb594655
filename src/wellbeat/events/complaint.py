"""Chief-complaint text to syndromes, following the CDC DOSE / NSSP CCDD term logic.

A complaint is read by the shared NegEx engine (``negex.py``): split into clauses and tokens,
phrases and words from ``chief_complaint.yaml`` mark term categories (overdose, drug classes,
naloxone, assault, ...), and a negation cue ("denies", "no", "not", "neg") removes the terms that
follow it within a short window. The categories left decide the syndromes: an overdose needs an
overdose term and a drug term, except that the word "overdose" itself and a mention of naloxone
suffice (CDC All Drug v2); a drug class needs its own term. The free text never leaves the
source: only the syndromes do.
"""

from __future__ import annotations

from functools import cache, lru_cache

from wellbeat.events.codesets import complaint_lexicon
from wellbeat.events.negex import Cues, TermMatcher
from wellbeat.events.schema import Syndrome

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


@cache
def _matcher() -> TermMatcher:
    """The chief-complaint vocabulary read by the shared NegEx engine (``negex.py``)."""
    lexicon = complaint_lexicon()
    cues = Cues(
        negation=lexicon.negation_cues,
        window=lexicon.negation_window,
        terminators=lexicon.negation_terminators,
    )
    return TermMatcher(lexicon.words, lexicon.phrases, cues, lexicon.fuzzy)


def complaint_terms(text: str) -> frozenset[str]:
    """The chief-complaint term categories in ``text`` that no negation removes."""
    return _matcher().terms(text) - {"exclusion"}


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
