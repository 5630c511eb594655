"""How triage reads a call's narrative: negation, uncertainty and misspellings, phrase by phrase
(the table below), narrative / field conflicts shown and resolved on the safer side, and the
property that a call its structured fields make ineligible never goes to a civilian response,
whatever the narrative says. See docs/triage.md, "Reading the narrative"."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.care.triage import (
    CIVILIAN_RESPONSES,
    CONFLICT_PREFIX,
    Call,
    Response,
    Rule,
    TriageRuleError,
    call_facts,
    packaged_rules,
    parse_rules,
    recommend,
)
from wellbeat.events.codesets import apco_call_types
from wellbeat.events.negex import Reading

RULES = packaged_rules("millbrook")
AFTERNOON = datetime(2025, 3, 5, 14, 0, tzinfo=ZoneInfo("America/Chicago"))

# (narrative, keyword group, how the narrative must read it): "present" (affirmed), "possible"
# (uncertain: counts as present) or "absent" (negated, or not a mention at all).
PHRASES = [
    ("suicidal, no weapon seen", "weapon", "absent"),
    ("has no weapons", "weapon", "absent"),
    ("denies weapons", "weapon", "absent"),
    ("without a weapon", "weapon", "absent"),
    ("not armed", "weapon", "absent"),
    ("unarmed, sitting on the curb", "weapon", "absent"),
    ("no guns or knives in the home", "weapon", "absent"),
    ("doesn't have a knife", "weapon", "absent"),
    ("doesn\u2019t have a knife", "weapon", "absent"),
    ("no sign of a weapon", "weapon", "absent"),
    ("never had a gun", "weapon", "absent"),
    ("weapon: none", "weapon", "absent"),
    ("Denies any weapons.", "weapon", "absent"),
    ("w/o weapon", "weapon", "absent"),
    ("no wepons seen", "weapon", "absent"),
    ("dont have a gun", "weapon", "absent"),
    ("no weapons and calm", "weapon", "absent"),
    ("guy yelling, has begun to calm down", "weapon", "absent"),
    ("man waving a knife", "weapon", "present"),
    ("has a gun in his waistband", "weapon", "present"),
    ("armed with a machete", "weapon", "present"),
    ("holding a kitchen knife", "weapon", "present"),
    ("no doubt he has a gun", "weapon", "present"),
    ("denies drugs but has a knife", "weapon", "present"),
    ("no weapon, knife in his hand", "weapon", "present"),
    ("denies he has a gun", "weapon", "present"),
    ("gunshot heard", "weapon", "present"),
    ("KNIVES ON THE TABLE", "weapon", "present"),
    ("weapon: unknown", "weapon", "present"),
    ("waving a wepon", "weapon", "present"),
    ("has a knive", "weapon", "present"),
    ("has a gunn", "weapon", "present"),
    ("pointing a pistle", "weapon", "present"),
    ("swinging a machette", "weapon", "present"),
    ("unknown if armed", "weapon", "possible"),
    ("possibly has a knife", "weapon", "possible"),
    ("may have a gun", "weapon", "possible"),
    ("not sure if he has a weapon", "weapon", "possible"),
    ("caller unsure whether he is armed", "weapon", "possible"),
    ("might be carrying a knife", "weapon", "possible"),
    ("no longer holding the knife", "weapon", "possible"),
    ("can't see if he has a gun", "weapon", "possible"),
    ("denies weapons but may have a knife", "weapon", "possible"),
    ("no fighting", "violence", "absent"),
    ("denies hitting anyone", "violence", "absent"),
    ("not stabbing anyone, just yelling", "violence", "absent"),
    ("neighbours fighting in the hallway", "violence", "present"),
    ("fiting outside the bar", "violence", "present"),
    ("possibly fighting", "violence", "possible"),
    ("breathing, not unconscious", "medical", "absent"),
    ("denies overdose", "medical", "absent"),
    ("no serious injuries", "medical", "absent"),
    ("not breathing", "medical", "present"),
    ("siezure on the bus", "medical", "present"),
    ("head injury after a fall", "medical", "present"),
    ("possible overdose", "medical", "possible"),
    ("denies suicidal thoughts", "suicidal", "absent"),
    ("threatening to kill himself", "suicidal", "present"),
    ("sucidal and crying", "suicidal", "present"),
    ("may be suicidal", "suicidal", "possible"),
    ("says he is not lonely", "talk_only", "absent"),
    ("lonely, wants to talk", "talk_only", "present"),
]


def _reading(narrative: str, group: str) -> str:
    mentions = [m for m in call_facts(RULES, Call(narrative=narrative)).mentions]
    live = [m for m in mentions if group in m.categories and m.reading is not Reading.NEGATED]
    if not live:
        return "absent"
    return "present" if any(m.reading is Reading.AFFIRMED for m in live) else "possible"


def test_the_table_is_big_enough_and_covers_every_reading() -> None:
    assert len(PHRASES) >= 40
    assert len({p for p, _, _ in PHRASES}) == len(PHRASES)
    for group in ("weapon", "violence", "medical", "suicidal"):
        assert {e for _, g, e in PHRASES if g == group} == {"present", "possible", "absent"}


@pytest.mark.parametrize(
    ("narrative", "group", "expected"), PHRASES, ids=[p for p, _, _ in PHRASES]
)
def test_phrase_table(narrative: str, group: str, expected: str) -> None:
    assert _reading(narrative, group) == expected
    # The call taker said no weapon, no violence, no medical emergency: a suicide threat in the
    # afternoon goes to the civilian team unless the narrative says (or may say) otherwise.
    call = Call(
        "SUICTHRT",
        narrative=narrative,
        weapon=False,
        violence=False,
        medical=False,
        received_at=AFTERNOON,
    )
    got = recommend(RULES, call)
    if group in ("weapon", "violence", "medical"):
        conflicts = [c for c in got.conflicts if f"; {group} field says no" in c]
        if expected == "absent":
            assert not conflicts, got.reasons
        else:
            assert len(conflicts) == 1, got.reasons
            assert got.reasons[: len(got.conflicts)] == got.conflicts
            assert got.response not in CIVILIAN_RESPONSES, got.reasons
            assert not got.eligible_for_alternative
    risky = call_facts(RULES, call).keyword_groups & {"weapon", "violence", "medical"}
    if not risky:
        assert got.response in CIVILIAN_RESPONSES, got.reasons


def test_the_calls_from_the_issue_are_no_longer_read_as_armed() -> None:
    for narrative in ("suicidal, no weapon seen", "has no weapons"):
        screened = recommend(
            RULES,
            Call("SUICTHRT", narrative=narrative, weapon=False, violence=False, medical=False,
                 received_at=AFTERNOON),
        )  # fmt: skip
        assert (screened.response, screened.rule_id) == (
            Response.CIVILIAN_CRISIS_TEAM,
            "civilian-eligible",
        )
        assert not any("weapon present" in r for r in screened.reasons)
        assert "weapon" not in screened.keyword_groups
        assert any("read as negated: weapon not counted" in r for r in screened.reasons)
        # Not screened by the call taker: the narrative alone does not clear a civilian team.
        unscreened = recommend(RULES, Call("EDP", narrative=narrative, received_at=AFTERNOON))
        assert (unscreened.response, unscreened.rule_id) == (
            Response.CO_RESPONDER,
            "behavioral-not-screened",
        )
        assert not unscreened.conflicts


@pytest.mark.parametrize(
    ("narrative", "weapon", "conflict"),
    [
        (
            "suicidal, no weapon seen",
            True,
            "Narrative says 'no weapon'; weapon field says yes — treated as weapon possibly "
            "present",
        ),
        (
            "unknown if armed",
            False,
            "Narrative says 'unknown if armed'; weapon field says no — treated as weapon possibly "
            "present",
        ),
        (
            "man waving a knife",
            False,
            "Narrative says 'knife'; weapon field says no — treated as weapon possibly present",
        ),
    ],
)
def test_a_conflict_is_shown_first_and_the_safer_reading_wins(
    narrative: str, weapon: bool, conflict: str
) -> None:
    got = recommend(RULES, Call("EDP", narrative=narrative, weapon=weapon, received_at=AFTERNOON))
    assert got.conflicts == (CONFLICT_PREFIX + conflict,)
    assert got.reasons[0] == CONFLICT_PREFIX + conflict
    assert (got.response, got.rule_id) == (Response.CO_RESPONDER, "weapon-or-violence-behavioral")
    assert not got.eligible_for_alternative


def test_violence_and_medical_conflicts_are_shown_too() -> None:
    got = recommend(
        RULES,
        Call("EDP", narrative="possibly fighting, not breathing", weapon=False, violence=False,
             medical=False, received_at=AFTERNOON),
    )  # fmt: skip
    assert got.conflicts == (
        "Conflict: Narrative says 'possibly fighting'; violence field says no — treated as "
        "violence possibly in progress",
        "Conflict: Narrative says 'not breathing'; medical field says no — treated as possible "
        "medical emergency",
    )
    assert got.response is Response.CO_RESPONDER
    denied = recommend(
        RULES, Call("OD", narrative="denies overdose", medical=True, received_at=AFTERNOON)
    )
    assert denied.response is Response.EMS
    assert denied.conflicts == (
        "Conflict: Narrative says 'denies overdos…'; medical field says yes — treated as possible "
        "medical emergency",
    )


def test_where_a_flag_came_from_is_in_the_reasons() -> None:
    got = recommend(RULES, Call("EDP", narrative="may have a gun", received_at=AFTERNOON))
    assert "weapon possibly present (narrative: 'may … gun' (uncertain))" in got.reasons
    assert "narrative 'may … gun' read as uncertain: weapon counted as possibly present" in (
        got.reasons
    )
    both = recommend(RULES, Call("EDP", narrative="has a knife", weapon=True))
    assert "weapon present (weapon field: yes; narrative: 'knife')" in both.reasons


# --------------------------------------------------------------------------------------------
# The property: structured fields that make a call ineligible win over any narrative.

_pieces = st.sampled_from(
    [p for p, _, _ in PHRASES]
    + ["no", "not", "denies", "without", "unknown if", "no doubt", "none", ",", ".", "calm",
       "wants to talk", "lonely", "hearing voices", "suicidal", "man", "at the bus stop"]
)  # fmt: skip
_narratives = st.one_of(
    st.lists(_pieces, max_size=6).map(" ".join),
    st.text(max_size=60),
)
_any_call = st.builds(
    Call,
    call_type=st.sampled_from(["", "10-96", "CHKWEL", *apco_call_types()]),
    narrative=_narratives,
    weapon=st.sampled_from([None, True, False]),
    violence=st.sampled_from([None, True, False]),
    medical=st.sampled_from([None, True, False]),
    received_at=st.sampled_from([None, AFTERNOON, AFTERNOON.replace(hour=2)]),
)


def _ineligible_by_fields(call: Call) -> bool:
    return call.weapon is not False or call.violence is True or call.medical is True


_EVERYONE_CIVILIAN = replace(
    RULES,
    rules=(
        Rule("everyone-civilian", "", {}, Response.CIVILIAN_CRISIS_TEAM),
        Rule("fallback", "", {}, Response.POLICE),
    ),
)


@settings(max_examples=400, deadline=None)
@given(_any_call)
def test_an_ineligible_call_never_goes_to_a_civilian_response(call: Call) -> None:
    for rules in (RULES, _EVERYONE_CIVILIAN):
        got = recommend(rules, call)
        if _ineligible_by_fields(call):
            assert got.response not in CIVILIAN_RESPONSES, got.reasons
            assert not got.eligible_for_alternative
        if got.response in CIVILIAN_RESPONSES:
            assert got.eligible_for_alternative, got.reasons
            assert not got.conflicts


# --------------------------------------------------------------------------------------------
# Rules files: the narrative block and the civilian-rule requirement.


def _millbrook() -> str:
    from wellbeat.care.triage import _packaged

    return _packaged("millbrook.yaml")


def test_a_rules_file_without_a_narrative_block_reads_like_millbrook() -> None:
    text = _millbrook()
    start = text.index("\nnarrative:\n")
    end = text.index("\nrules:\n")
    bare = parse_rules(text[:start] + "\n" + text[end:], "old.yaml")
    for narrative, _, _ in PHRASES:
        mentions = bare.narrative.mentions(narrative)
        assert mentions == RULES.narrative.mentions(narrative), narrative
    assert _reading("unknown if armed", "weapon") == "possible"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  window: 5\n", "  window: 0\n", "field 'narrative'.window"),
        ("  post_negation: [none]\n", "  negatoin: [none]\n", "unknown field(s) negatoin"),
        (
            "when: {keywords: [talk_only], behavioral_health: true, weapon: false, violence: "
            "false, medical: false}",
            "when: {keywords: [talk_only], behavioral_health: true, weapon: false}",
            "rule 'talk-only-988': routes to transfer_988 but does not require "
            "'violence: false', 'medical: false'",
        ),
    ],
)
def test_bad_narrative_blocks_and_loose_civilian_rules_are_refused(
    old: str, new: str, message: str
) -> None:
    text = _millbrook()
    assert old in text
    with pytest.raises(TriageRuleError, match=r"^rules\.yaml") as caught:
        parse_rules(text.replace(old, new), "rules.yaml")
    assert message in str(caught.value)


def test_reasons_quote_the_rules_keywords_never_the_narrative_words() -> None:
    # A name that starts like a keyword counts (the safer reading) but is never quoted.
    got = recommend(RULES, Call("EDP", narrative="Gunthorpe waving two knives", weapon=False))
    assert [m.text for m in got.narrative] == ["gun…", "knive…"]
    assert "weapon present (narrative: 'gun…', 'knive…')" in got.reasons
    assert not any("gunthorpe" in r.lower() or "knives" in r for r in got.reasons)
