"""Crisis triage: given a 911 call, recommend police, a co-responder team (officer + clinician),
a civilian crisis team, EMS, or a transfer to the 988 crisis line, with the rule that fired and
the reasons. Rules are data (one YAML file per jurisdiction, versioned), checked on load and
tested against the jurisdiction's own table of example calls (see docs/triage.md).

Safety rule, enforced twice: a rule that sends a civilian response (civilian crisis team or a
988 transfer) must require ``weapon: false``, ``violence: false`` and ``medical: false`` (the file
does not load otherwise), and the engine never returns a civilian response for a call that is not
eligible for one (a weapon present or possibly present, not screened for weapons, violence, a
medical emergency, not a behavioural-health call), whatever the rules say.

The narrative is read by the NegEx engine the syndrome classifier uses (``wellbeat.events.negex``):
"no weapon seen" is not a weapon, "unknown if armed" is a weapon possibly present. Where the
narrative and a weapon / violence / medical field disagree, the safer reading wins and the
recommendation says so (``Recommendation.conflicts``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from wellbeat.events.codesets import apco_call_type, apco_call_types, nemsis_dispatch_reasons
from wellbeat.events.negex import Cues, Mention, Reading, TermMatcher, prefix_phrase
from wellbeat.events.negex import tokens as negex_tokens

DEFAULT_JURISDICTION = "millbrook"


class Response(StrEnum):
    POLICE = "police"
    CO_RESPONDER = "co_responder"
    CIVILIAN_CRISIS_TEAM = "civilian_crisis_team"
    EMS = "ems"
    TRANSFER_988 = "transfer_988"

    @property
    def label(self) -> str:
        return RESPONSE_LABELS[self]


RESPONSE_LABELS: dict[Response, str] = {
    Response.POLICE: "Police",
    Response.CO_RESPONDER: "Co-responder team (officer + clinician)",
    Response.CIVILIAN_CRISIS_TEAM: "Civilian crisis team",
    Response.EMS: "EMS",
    Response.TRANSFER_988: "Transfer to 988 crisis line",
}

CIVILIAN_RESPONSES = frozenset({Response.CIVILIAN_CRISIS_TEAM, Response.TRANSFER_988})
"""Responses without a sworn officer: only for a call eligible for an alternative response."""

ALTERNATIVE_RESPONSES = frozenset({Response.CO_RESPONDER, Response.CIVILIAN_CRISIS_TEAM})
"""Responses counted by the "handled by co-responders or civilian teams" measure."""

FLAGS = ("weapon", "violence", "medical")
POSSIBLY = {
    "weapon": "weapon possibly present",
    "violence": "violence possibly in progress",
    "medical": "possible medical emergency",
}
"""How a conflict on each flag is resolved: the safer reading, said in the dispatcher's words."""
CONFLICT_PREFIX = "Conflict: "
"""Reasons that report a narrative / field disagreement start with this."""
CLAUSE_BREAKS = r"[.;,!?\n\r]+"
"""A dispatch narrative's clauses: a comma ends one too ("no weapon, knife in his hand")."""
NARRATIVE_FIELDS = (
    "negation",
    "post_negation",
    "uncertainty",
    "pseudo_negation",
    "terminators",
    "window",
)
CONDITIONS = frozenset(
    {
        "call_types",
        "dispatch",
        "behavioral_health",
        "civilian_eligible",
        "weapon",
        "violence",
        "medical",
        "any_of",
        "keywords",
        "hours",
        "areas",
    }
)
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class TriageRuleError(ValueError):
    """A rules file that cannot be used; the message names the file, the rule and the field."""


@dataclass(frozen=True)
class Rule:
    """One triage rule: conditions (all must hold) and the response when they do."""

    id: str
    description: str
    conditions: Mapping[str, Any]
    response: Response


@dataclass(frozen=True)
class RuleSet:
    """A jurisdiction's triage rules at one version."""

    jurisdiction: str
    name: str
    version: int
    effective_from: date
    zone: ZoneInfo
    local_call_types: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    narrative: TermMatcher
    """The keywords and the negation / uncertainty cues, read by the shared NegEx engine."""
    behavioral_dispatch: frozenset[str]
    medical_dispatch: frozenset[str]
    civilian_call_types: frozenset[str]
    rules: tuple[Rule, ...]
    sha256: str

    @property
    def label(self) -> str:
        """What a recommendation records as the rules it used."""
        return f"{self.jurisdiction} v{self.version} ({self.sha256[:12]})"


@dataclass(frozen=True)
class Call:
    """What the call taker knows: call type (APCO, or a local code the rules map to APCO),
    NEMSIS dispatch code, narrative, the weapon / violence / medical flags (None: not asked),
    when it came in and the area it is in."""

    call_type: str = ""
    dispatch_code: str = ""
    narrative: str = ""
    weapon: bool | None = None
    violence: bool | None = None
    medical: bool | None = None
    received_at: datetime | None = None
    area: str = ""


@dataclass(frozen=True)
class CallFacts:
    """The call as the rules see it, derived once."""

    apco_code: str | None
    behavioral_health: bool
    civilian_eligible: bool
    weapon_present: bool
    weapon_screened_absent: bool
    violence: bool
    medical: bool
    keyword_groups: frozenset[str]
    """Groups the narrative mentions as present or possibly present (negated ones left out)."""
    local_time: time | None
    mentions: tuple[Mention, ...] = ()
    """Every keyword in the narrative with its reading (affirmed, negated, uncertain); each
    mention's text is the rules' keyword, not the narrative's words."""
    conflicts: tuple[str, ...] = ()
    """Where the narrative and a weapon / violence / medical field disagree, and the reading
    taken (always the safer one)."""


@dataclass(frozen=True)
class Recommendation:
    """The recommended response, the rule that fired, and why."""

    response: Response
    rule_id: str
    rules_version: str
    reasons: tuple[str, ...]
    apco_code: str | None
    eligible_for_alternative: bool
    """Behavioural-health call, weapon screened absent, no violence, no medical emergency:
    the denominator of the co-responder / civilian share measure."""
    keyword_groups: tuple[str, ...] = field(default=())
    conflicts: tuple[str, ...] = field(default=())
    """Narrative / field disagreements, each also the first of ``reasons``."""
    narrative: tuple[Mention, ...] = field(default=())
    """How each keyword in the narrative was read."""


# --------------------------------------------------------------------------------------------
# Loading rules


def _fail(where: str, message: str) -> TriageRuleError:
    return TriageRuleError(f"{where}: {message}")


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list):
        raise _fail(where, f"expected a list of strings, got {value!r}")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise _fail(where, f"expected strings, got {item!r} (quote yes/no/on/off)")
        out.append(str(item))
    return tuple(out)


def _hours(value: object, where: str) -> tuple[time, time]:
    match = _HOURS.match(str(value))
    if not match:
        raise _fail(where, f"expected 'HH:MM-HH:MM', got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
        raise _fail(where, f"{value!r} is not a time range")
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


def _check_conditions(
    conditions: object, where: str, keyword_groups: Iterable[str], response: Response
) -> dict[str, Any]:
    if not isinstance(conditions, dict):
        raise _fail(where, "field 'when' must be a mapping of conditions ({} matches every call)")
    unknown = sorted(set(conditions) - CONDITIONS)
    if unknown:
        raise _fail(
            where,
            f"unknown condition(s) {', '.join(unknown)}; "
            f"expected any of {', '.join(sorted(CONDITIONS))}",
        )
    for name in ("behavioral_health", "civilian_eligible", *FLAGS):
        if name in conditions and not isinstance(conditions[name], bool):
            raise _fail(f"{where}.{name}", f"expected true or false, got {conditions[name]!r}")
    if "call_types" in conditions:
        codes = _string_list(conditions["call_types"], f"{where}.call_types")
        unknown_codes = sorted(c for c in codes if apco_call_type(c) is None)
        if unknown_codes:
            raise _fail(f"{where}.call_types", f"not APCO call types: {', '.join(unknown_codes)}")
    if "dispatch" in conditions:
        codes = _string_list(conditions["dispatch"], f"{where}.dispatch")
        unknown_codes = sorted(set(codes) - set(nemsis_dispatch_reasons()))
        if unknown_codes:
            raise _fail(
                f"{where}.dispatch", f"not NEMSIS eDispatch.01 codes: {', '.join(unknown_codes)}"
            )
    if "any_of" in conditions:
        flags = _string_list(conditions["any_of"], f"{where}.any_of")
        bad = sorted(set(flags) - set(FLAGS))
        if bad or not flags:
            raise _fail(f"{where}.any_of", f"expected some of {', '.join(FLAGS)}, got {flags}")
    if "keywords" in conditions:
        groups = _string_list(conditions["keywords"], f"{where}.keywords")
        bad = sorted(set(groups) - set(keyword_groups))
        if bad:
            raise _fail(f"{where}.keywords", f"no keyword group(s) {', '.join(bad)} in this file")
    if "hours" in conditions:
        _hours(conditions["hours"], f"{where}.hours")
    if "areas" in conditions:
        _string_list(conditions["areas"], f"{where}.areas")
    if response in CIVILIAN_RESPONSES:
        missing = [f"{f}: false" for f in FLAGS if conditions.get(f) is not False]
        if missing:
            raise _fail(
                where,
                f"routes to {response.value} but does not require "
                f"{', '.join(repr(m) for m in missing)}; a call with a weapon, violence or a "
                "medical emergency present (or not screened for a weapon) is never routed to a "
                "civilian response",
            )
    return dict(conditions)


def _narrative_cues(raw: object, source: str, defaults: Mapping[str, Any] | None) -> Cues:
    """The negation / uncertainty cues of a rules file's ``narrative`` block; a field the block
    leaves out is taken from the packaged Millbrook rules (``defaults``)."""
    where = f"{source}, field 'narrative'"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _fail(where, f"expected a mapping with {', '.join(NARRATIVE_FIELDS)}")
    unknown = sorted(set(raw) - set(NARRATIVE_FIELDS))
    if unknown:
        raise _fail(
            where, f"unknown field(s) {', '.join(unknown)}; expected {', '.join(NARRATIVE_FIELDS)}"
        )
    block = {**(defaults or {}), **raw}
    missing = [f for f in NARRATIVE_FIELDS if f not in block]
    if missing:
        raise _fail(where, f"missing {', '.join(missing)}")
    window = block["window"]
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise _fail(f"{where}.window", f"expected a whole number of words >= 1, got {window!r}")

    def cue_list(name: str) -> frozenset[str]:
        out = set()
        for cue in _string_list(block[name], f"{where}.{name}"):
            words = negex_tokens(cue)
            if not words:
                raise _fail(f"{where}.{name}", f"{cue!r} has no letters or digits")
            # One word is looked up per token; several words become a phrase pattern.
            out.add(words[0] if len(words) == 1 else " ".join(re.escape(w) for w in words))
        return frozenset(out)

    return Cues(
        negation=cue_list("negation"),
        window=window,
        terminators=cue_list("terminators"),
        uncertainty=cue_list("uncertainty"),
        pseudo=cue_list("pseudo_negation"),
        post_negation=cue_list("post_negation"),
        clause_breaks=CLAUSE_BREAKS,
    )


def narrative_matcher(keywords: Mapping[str, tuple[str, ...]], cues: Cues) -> TermMatcher:
    """Keyword groups as prefix phrases for the NegEx engine."""
    phrases: dict[str, set[str]] = {}
    for group, words in keywords.items():
        for word in words:
            phrases.setdefault(prefix_phrase(word), set()).add(group)
    return TermMatcher({}, tuple((p, frozenset(g)) for p, g in phrases.items()), cues)


def parse_rules(text: str, source: str) -> RuleSet:
    """A RuleSet from YAML text; TriageRuleError names the file, rule and field at fault."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(source, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(source, "expected a mapping at the top level")
    for key in ("jurisdiction", "name", "version", "effective_from", "timezone", "rules"):
        if key not in data:
            raise _fail(source, f"missing top-level field {key!r}")
    if (
        not isinstance(data["version"], int)
        or isinstance(data["version"], bool)
        or data["version"] < 1
    ):
        raise _fail(
            f"{source}, field 'version'", f"expected a whole number >= 1, got {data['version']!r}"
        )
    try:
        zone = ZoneInfo(str(data["timezone"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _fail(
            f"{source}, field 'timezone'", f"unknown time zone {data['timezone']!r}"
        ) from exc
    effective = data["effective_from"]
    if not isinstance(effective, date):
        try:
            effective = date.fromisoformat(str(effective))
        except ValueError as exc:
            raise _fail(f"{source}, field 'effective_from'", "expected YYYY-MM-DD") from exc
    local = data.get("local_call_types") or {}
    if not isinstance(local, dict):
        raise _fail(
            f"{source}, field 'local_call_types'", "expected a mapping local code -> APCO code"
        )
    for local_code, apco in local.items():
        if apco_call_type(str(apco)) is None:
            raise _fail(
                f"{source}, local_call_types[{local_code!r}]", f"{apco!r} is not an APCO call type"
            )
    keywords_raw = data.get("keywords") or {}
    if not isinstance(keywords_raw, dict):
        raise _fail(f"{source}, field 'keywords'", "expected a mapping group -> list of phrases")
    keywords = {
        str(group): tuple(p.lower() for p in _string_list(phrases, f"{source}, keywords.{group}"))
        for group, phrases in keywords_raw.items()
    }
    for group, phrases in keywords.items():
        empty = [p for p in phrases if not negex_tokens(p)]
        if empty:
            raise _fail(f"{source}, keywords.{group}", f"{empty[0]!r} has no letters or digits")
    cues = _narrative_cues(data.get("narrative"), source, _default_narrative())
    dispatch = {}
    for key in ("behavioral_dispatch", "medical_dispatch"):
        codes = _string_list(data.get(key) or [], f"{source}, field {key!r}")
        unknown = sorted(set(codes) - set(nemsis_dispatch_reasons()))
        if unknown:
            raise _fail(
                f"{source}, field {key!r}", f"not NEMSIS eDispatch.01 codes: {', '.join(unknown)}"
            )
        dispatch[key] = frozenset(codes)
    if "civilian_call_types" in data:
        civilian = frozenset(
            c.upper()
            for c in _string_list(
                data["civilian_call_types"], f"{source}, field 'civilian_call_types'"
            )
        )
    else:
        civilian = frozenset(code for code, t in apco_call_types().items() if t.civilian_eligible)
    raw_rules = data["rules"]
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _fail(f"{source}, field 'rules'", "expected a non-empty list of rules")
    rules = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        where = f"{source}, rules[{index}]"
        if not isinstance(raw, dict):
            raise _fail(where, "expected a mapping with id, when, respond")
        rule_id = str(raw.get("id", "")).strip()
        if not rule_id:
            raise _fail(where, "field 'id' is required")
        where = f"{source}, rule {rule_id!r}"
        if rule_id in seen:
            raise _fail(where, "the id is used twice")
        seen.add(rule_id)
        try:
            response = Response(str(raw.get("respond")))
        except ValueError:
            raise _fail(
                f"{where}, field 'respond'",
                f"{raw.get('respond')!r} is not one of {', '.join(r.value for r in Response)}",
            ) from None
        conditions = _check_conditions(raw.get("when", {}), where, keywords, response)
        rules.append(Rule(rule_id, str(raw.get("description", "")).strip(), conditions, response))
    if rules[-1].conditions:
        raise _fail(
            f"{source}, rule {rules[-1].id!r}",
            "the last rule must match every call ('when: {}') so every call gets a recommendation",
        )
    return RuleSet(
        jurisdiction=str(data["jurisdiction"]),
        name=str(data["name"]),
        version=int(data["version"]),
        effective_from=effective,
        zone=zone,
        local_call_types={str(k).upper(): str(v).upper() for k, v in local.items()},
        keywords=keywords,
        narrative=narrative_matcher(keywords, cues),
        behavioral_dispatch=dispatch["behavioral_dispatch"],
        medical_dispatch=dispatch["medical_dispatch"],
        civilian_call_types=civilian,
        rules=tuple(rules),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_rules(path: str | Path) -> RuleSet:
    """A jurisdiction's rules from a YAML file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TriageRuleError(f"{file}: cannot read: {exc.strerror}") from exc
    return parse_rules(text, str(file))


def _packaged(name: str) -> str:
    return resources.files("wellbeat.care").joinpath("data", "triage", name).read_text("utf-8")


@cache
def _default_narrative() -> Mapping[str, Any]:
    """The packaged Millbrook rules' ``narrative`` block: how a rules file without one (or
    without some of its fields) reads negation and uncertainty. One copy, in the data."""
    block = yaml.safe_load(_packaged(f"{DEFAULT_JURISDICTION}.yaml")).get("narrative")
    if not isinstance(block, dict):
        raise TriageRuleError(f"data/triage/{DEFAULT_JURISDICTION}.yaml: no 'narrative' block")
    return block


def packaged_jurisdictions() -> list[str]:
    """Jurisdictions whose rules ship with wellbeat."""
    folder = resources.files("wellbeat.care").joinpath("data", "triage")
    return sorted(e.name[:-5] for e in folder.iterdir() if e.name.endswith(".yaml"))


@cache
def packaged_rules(jurisdiction: str = DEFAULT_JURISDICTION) -> RuleSet:
    """The rules shipped for a jurisdiction (``data/triage/<jurisdiction>.yaml``)."""
    if jurisdiction not in packaged_jurisdictions():
        raise TriageRuleError(
            f"no packaged triage rules for {jurisdiction!r}; "
            f"have {', '.join(packaged_jurisdictions())}"
        )
    return parse_rules(_packaged(f"{jurisdiction}.yaml"), f"data/triage/{jurisdiction}.yaml")


# --------------------------------------------------------------------------------------------
# Deciding


@lru_cache(maxsize=1024)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(prefix_phrase(keyword))


def _as_keyword(rules: RuleSet, mention: Mention) -> Mention:
    """The mention with the rule's keyword in place of the words the narrative used ("knive…"
    for "knives", "gun…" for "gunshot"), so what is shown and stored comes from the rules'
    vocabulary, never from the free text (which may hold a name)."""
    best = ""
    for group in sorted(mention.categories):
        for keyword in rules.keywords.get(group, ()):
            words = " ".join(negex_tokens(keyword))
            if len(words) > len(best) and _keyword_pattern(keyword).fullmatch(mention.text):
                best = words
    if not best:
        return replace(mention, text=", ".join(sorted(mention.categories)))
    # A keyword is a word start: "overdos…" stands for whatever word it began.
    return replace(mention, text=best if best == mention.text else f"{best}…")


def _field_word(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not asked"}[value]


def _conflicts(call: Call, mentions: Sequence[Mention]) -> tuple[str, ...]:
    """Where the narrative and a weapon / violence / medical field disagree: the narrative
    mentions it (or may) and the field says no, or the narrative only denies it and the field
    says yes. Either way the flag is taken as (possibly) present."""
    out = []
    for name in FLAGS:
        given = getattr(call, name)
        if given is None:
            continue
        about = [m for m in mentions if name in m.categories]
        present = [m for m in about if m.reading is not Reading.NEGATED]
        if given is False and present:
            said = present
        elif given is True and about and not present:
            said = about
        else:
            continue
        quoted = ", ".join(dict.fromkeys(m.quoted() for m in said))
        out.append(
            f"{CONFLICT_PREFIX}Narrative says {quoted}; {name} field says "
            f"{_field_word(given)} — treated as {POSSIBLY[name]}"
        )
    return tuple(out)


def call_facts(rules: RuleSet, call: Call) -> CallFacts:
    """Derive the facts the rules test from a call."""
    raw_type = call.call_type.strip().upper()
    if raw_type.startswith("APCO:"):
        raw_type = raw_type[5:]
    mapped = rules.local_call_types.get(raw_type, raw_type)
    apco = apco_call_type(mapped) if mapped else None
    mentions = tuple(_as_keyword(rules, m) for m in rules.narrative.mentions(call.narrative))
    groups = frozenset(
        group for m in mentions if m.reading is not Reading.NEGATED for group in m.categories
    )
    dispatch = call.dispatch_code.strip()
    weapon_present = call.weapon is True or "weapon" in groups
    violence = call.violence is True or "violence" in groups
    medical = call.medical is True or "medical" in groups or dispatch in rules.medical_dispatch
    behavioral = (
        (apco is not None and apco.behavioral_health)
        or dispatch in rules.behavioral_dispatch
        or bool(groups & {"suicidal", "mental_health"})
    )
    local_time = None
    if call.received_at is not None:
        moment = call.received_at
        if moment.tzinfo is None:
            raise ValueError("call.received_at: expected a timezone-aware time")
        local_time = moment.astimezone(rules.zone).time()
    return CallFacts(
        apco_code=apco.code if apco else None,
        behavioral_health=behavioral,
        civilian_eligible=apco is not None and apco.code in rules.civilian_call_types,
        weapon_present=weapon_present,
        weapon_screened_absent=call.weapon is False and not weapon_present,
        violence=violence,
        medical=medical,
        keyword_groups=groups,
        local_time=local_time,
        mentions=mentions,
        conflicts=_conflicts(call, mentions),
    )


def _flag_reason(facts: CallFacts, call: Call, name: str, rules: RuleSet) -> str:
    """ "weapon present (weapon field: yes; narrative: 'knife')", saying where it came from."""
    sources = []
    if getattr(call, name) is True:
        sources.append(f"{name} field: yes")
    if name == "medical" and call.dispatch_code.strip() in rules.medical_dispatch:
        sources.append(f"NEMSIS dispatch {call.dispatch_code.strip()}")
    said = [m for m in facts.mentions if name in m.categories and m.reading is not Reading.NEGATED]
    if said:
        quoted = dict.fromkeys(
            m.quoted() + (" (uncertain)" if m.reading is Reading.UNCERTAIN else "") for m in said
        )
        sources.append(f"narrative: {', '.join(quoted)}")
    certain = (
        getattr(call, name) is True
        or (name == "medical" and call.dispatch_code.strip() in rules.medical_dispatch)
        or any(m.reading is Reading.AFFIRMED for m in said)
    )
    state = "present" if certain else "possibly present"
    return f"{name} {state} ({'; '.join(sources)})"


def _flag(facts: CallFacts, name: str) -> bool:
    return {"weapon": facts.weapon_present, "violence": facts.violence, "medical": facts.medical}[
        name
    ]


def _holds(rules: RuleSet, rule: Rule, facts: CallFacts, call: Call) -> list[str] | None:
    """The reasons the rule's conditions hold for this call, or None when one fails."""
    reasons: list[str] = []
    cond = rule.conditions
    if "call_types" in cond:
        if facts.apco_code not in {c.upper() for c in cond["call_types"]}:
            return None
        reasons.append(f"call type {facts.apco_code} is one of {', '.join(cond['call_types'])}")
    if "dispatch" in cond:
        if call.dispatch_code.strip() not in set(cond["dispatch"]):
            return None
        name = nemsis_dispatch_reasons()[call.dispatch_code.strip()].name
        reasons.append(f"NEMSIS dispatch {call.dispatch_code} ({name})")
    if "behavioral_health" in cond:
        if facts.behavioral_health != cond["behavioral_health"]:
            return None
        reasons.append(
            "a behavioural-health call"
            if facts.behavioral_health
            else "not a behavioural-health call"
        )
    if "civilian_eligible" in cond:
        if facts.civilian_eligible != cond["civilian_eligible"]:
            return None
        reasons.append(
            f"call type {facts.apco_code} may go to a civilian team"
            if facts.civilian_eligible
            else f"call type {facts.apco_code or call.call_type or '(none)'} "
            "is not one a civilian team takes"
        )
    if "weapon" in cond:
        if cond["weapon"]:
            if not facts.weapon_present:
                return None
            reasons.append(_flag_reason(facts, call, "weapon", rules))
        else:
            if not facts.weapon_screened_absent:
                return None
            reasons.append("the call taker asked and no weapon is present")
    for name in ("violence", "medical"):
        if name in cond:
            present = _flag(facts, name)
            if present != cond[name]:
                return None
            if present:
                reasons.append(_flag_reason(facts, call, name, rules))
            else:
                label = "violence" if name == "violence" else "a medical emergency"
                reasons.append(f"{label} not reported")
    if "any_of" in cond:
        found = [name for name in cond["any_of"] if _flag(facts, name)]
        if not found:
            return None
        reasons.extend(_flag_reason(facts, call, name, rules) for name in found)
    if "keywords" in cond:
        hit = sorted(facts.keyword_groups & set(cond["keywords"]))
        if not hit:
            return None
        reasons.append(f"narrative mentions {', '.join(hit)}")
    if "hours" in cond:
        if facts.local_time is None:
            return None
        start, end = _hours(cond["hours"], rule.id)
        inside = (
            start <= facts.local_time <= end
            if start <= end
            else (facts.local_time >= start or facts.local_time <= end)
        )
        if not inside:
            return None
        reasons.append(f"received {facts.local_time:%H:%M}, within {cond['hours']}")
    if "areas" in cond:
        if call.area not in set(cond["areas"]):
            return None
        reasons.append(f"in area {call.area}")
    return reasons


def _not_civilian_because(facts: CallFacts) -> list[str]:
    """Why a call may not go to a civilian response ([] when it is eligible)."""
    why = []
    if facts.weapon_present:
        why.append("a weapon is present or possibly present")
    elif not facts.weapon_screened_absent:
        why.append("the call taker did not screen for a weapon")
    if facts.violence:
        why.append("violence is reported")
    if facts.medical:
        why.append("a medical emergency is reported")
    if not facts.behavioral_health:
        why.append("not a behavioural-health call")
    return why


def _readings(facts: CallFacts) -> list[str]:
    """How the narrative's negated and uncertain keywords were read (affirmed ones show in the
    rule's reasons)."""
    out = []
    for m in facts.mentions:
        groups = ", ".join(sorted(m.categories))
        if m.reading is Reading.NEGATED:
            out.append(f"narrative {m.quoted()} read as negated: {groups} not counted")
        elif m.reading is Reading.UNCERTAIN:
            out.append(
                f"narrative {m.quoted()} read as uncertain: {groups} counted as possibly present"
            )
    return list(dict.fromkeys(out))


def recommend(rules: RuleSet, call: Call) -> Recommendation:
    """The first rule whose conditions all hold decides. A civilian response is skipped (with
    the reason recorded) for any call not eligible for one, whatever the rules say; narrative /
    field conflicts come first in the reasons."""
    facts = call_facts(rules, call)
    not_civilian = _not_civilian_because(facts)
    skipped: list[str] = []
    for rule in rules.rules:
        reasons = _holds(rules, rule, facts, call)
        if reasons is None:
            continue
        if rule.response in CIVILIAN_RESPONSES and not_civilian:
            skipped.append(
                f"rule {rule.id} skipped: {'; '.join(not_civilian)}, so no civilian response"
            )
            continue
        if not reasons:
            reasons = ["no earlier rule applied (default)"]
        if call.call_type and facts.apco_code is None:
            reasons.append(f"call type {call.call_type!r} is not in the APCO table or local map")
        return Recommendation(
            response=rule.response,
            rule_id=rule.id,
            rules_version=rules.label,
            reasons=(*facts.conflicts, *skipped, *reasons, *_readings(facts)),
            apco_code=facts.apco_code,
            eligible_for_alternative=not not_civilian,
            keyword_groups=tuple(sorted(facts.keyword_groups)),
            conflicts=facts.conflicts,
            narrative=facts.mentions,
        )
    raise TriageRuleError(f"{rules.label}: no rule matched (the last rule must match every call)")


# --------------------------------------------------------------------------------------------
# Example-call tables

EXAMPLE_COLUMNS = (
    "example",
    "call_type",
    "dispatch",
    "narrative",
    "weapon",
    "violence",
    "medical",
    "received_local",
    "area",
    "expected_response",
    "expected_rule",
)


@dataclass(frozen=True)
class ExampleCall:
    """One row of a jurisdiction's example-call table, with what the rules must recommend."""

    line: int
    name: str
    call: Call
    expected_response: Response
    expected_rule: str


@dataclass(frozen=True)
class ExampleResult:
    example: ExampleCall
    recommendation: Recommendation

    @property
    def passed(self) -> bool:
        return (
            self.recommendation.response is self.example.expected_response
            and self.recommendation.rule_id == self.example.expected_rule
        )


def _tristate(value: str, where: str) -> bool | None:
    value = value.strip().lower()
    if value in ("", "unknown"):
        return None
    if value in ("yes", "true"):
        return True
    if value in ("no", "false"):
        return False
    raise _fail(where, f"expected yes, no or blank, got {value!r}")


def parse_examples(text: str, source: str, zone: ZoneInfo) -> list[ExampleCall]:
    """Rows of an example-call CSV (``#`` comment lines allowed before the header)."""
    lines = text.splitlines(keepends=True)
    skipped = 0
    while skipped < len(lines) and lines[skipped].startswith("#"):
        skipped += 1
    reader = csv.DictReader(io.StringIO("".join(lines[skipped:])))
    if tuple(reader.fieldnames or ()) != EXAMPLE_COLUMNS:
        raise _fail(f"{source}, line {skipped + 1}", f"header must be {','.join(EXAMPLE_COLUMNS)}")
    out = []
    for row in reader:
        line = skipped + reader.line_num
        where = f"{source}, line {line}"
        if None in row.values():
            raise _fail(where, f"expected {len(EXAMPLE_COLUMNS)} fields")
        try:
            expected = Response(row["expected_response"].strip())
        except ValueError:
            raise _fail(
                f"{where}, field 'expected_response'",
                f"{row['expected_response']!r} is not a response",
            ) from None
        received = None
        if row["received_local"].strip():
            try:
                received = datetime.fromisoformat(row["received_local"].strip()).replace(
                    tzinfo=zone
                )
            except ValueError as exc:
                raise _fail(
                    f"{where}, field 'received_local'", "expected YYYY-MM-DDTHH:MM"
                ) from exc
        call = Call(
            call_type=row["call_type"].strip(),
            dispatch_code=row["dispatch"].strip(),
            narrative=row["narrative"].strip(),
            weapon=_tristate(row["weapon"], f"{where}, field 'weapon'"),
            violence=_tristate(row["violence"], f"{where}, field 'violence'"),
            medical=_tristate(row["medical"], f"{where}, field 'medical'"),
            received_at=received,
            area=row["area"].strip(),
        )
        out.append(
            ExampleCall(line, row["example"].strip(), call, expected, row["expected_rule"].strip())
        )
    return out


def packaged_examples(jurisdiction: str = DEFAULT_JURISDICTION) -> list[ExampleCall]:
    """The example-call table shipped beside a jurisdiction's rules."""
    rules = packaged_rules(jurisdiction)
    name = f"{jurisdiction}-examples.csv"
    return parse_examples(_packaged(name), f"data/triage/{name}", rules.zone)


def check_examples(rules: RuleSet, examples: Sequence[ExampleCall]) -> list[ExampleResult]:
    """Run every example call through the rules; ``passed`` is False where they disagree."""
    return [ExampleResult(example, recommend(rules, example.call)) for example in examples]
