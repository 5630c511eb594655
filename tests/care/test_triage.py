"""Crisis triage: the jurisdiction's example-call table case by case, the weapon invariant as a
property over random calls, and rule files that are refused with a located reason."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.care.triage import (
    CIVILIAN_RESPONSES,
    Call,
    Response,
    Rule,
    TriageRuleError,
    check_examples,
    load_rules,
    packaged_examples,
    packaged_rules,
    parse_rules,
    recommend,
)
from wellbeat.events.codesets import apco_call_types, nemsis_dispatch_reasons

RULES = packaged_rules("millbrook")
EXAMPLES = packaged_examples("millbrook")


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_call_table(example) -> None:
    [result] = check_examples(RULES, [example])
    got = result.recommendation
    assert (got.response, got.rule_id) == (example.expected_response, example.expected_rule), (
        f"line {example.line}: {got.reasons}"
    )
    assert got.reasons and got.rules_version.startswith("millbrook v2 (")


def test_every_rule_fires_in_the_example_table() -> None:
    fired = {r.recommendation.rule_id for r in check_examples(RULES, EXAMPLES)}
    assert fired == {rule.id for rule in RULES.rules}


def test_reasons_explain_the_decision() -> None:
    got = recommend(RULES, Call("EDP", narrative="man waving a knife", weapon=False))
    assert got.response is Response.CO_RESPONDER
    assert got.reasons[0] == (
        "Conflict: Narrative says 'knife'; weapon field says no — treated as weapon possibly "
        "present"
    )
    assert "weapon present (narrative: 'knife')" in got.reasons
    assert not got.eligible_for_alternative
    calm = recommend(RULES, Call("WELFARE", weapon=False, violence=False, medical=False))
    assert calm.response is Response.CIVILIAN_CRISIS_TEAM
    assert "the call taker asked and no weapon is present" in calm.reasons
    assert calm.eligible_for_alternative


_words = st.sampled_from(
    [
        "man",
        "yelling",
        "at",
        "cars",
        "knife",
        "gun",
        "wants to talk",
        "lonely",
        "hearing voices",
        "suicidal",
        "not breathing",
        "fighting",
        "neighbour",
        "welfare",
        "pistol",
        "armed",
        "bus",
    ]
)
_calls = st.builds(
    Call,
    call_type=st.sampled_from(["", "ZZTOP", "10-96", "CHKWEL", *apco_call_types()]),
    dispatch_code=st.sampled_from(["", *nemsis_dispatch_reasons()]),
    narrative=st.lists(_words, max_size=8).map(" ".join),
    weapon=st.sampled_from([None, True, False]),
    violence=st.sampled_from([None, True, False]),
    medical=st.sampled_from([None, True, False]),
    received_at=st.one_of(
        st.none(),
        st.datetimes(
            min_value=datetime(2024, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
        ),
    ),
    area=st.sampled_from(["", "n01", "n02"]),
)


def _weapon_present(call: Call) -> bool:
    # The sampled words hold no negation or uncertainty cue ("not breathing" is one phrase), so
    # every weapon word is a weapon; tests/care/test_triage_narrative.py covers the cues.
    words = call.narrative.lower()
    return call.weapon is True or any(w in words for w in ("knife", "gun", "pistol", "armed"))


def _eligible(call: Call) -> bool:
    """Screened: a weapon asked about and absent, no violence, no medical flag."""
    return (
        call.weapon is False
        and call.violence is not True
        and call.medical is not True
        and not _weapon_present(call)
    )


@settings(max_examples=400, deadline=None)
@given(_calls)
def test_a_call_with_a_weapon_never_goes_to_a_civilian_response(call: Call) -> None:
    got = recommend(RULES, call)
    if _weapon_present(call):
        assert got.response not in CIVILIAN_RESPONSES
        assert not got.eligible_for_alternative


@settings(max_examples=200, deadline=None)
@given(_calls)
def test_the_engine_guard_holds_even_for_a_rule_set_that_bypassed_the_loader(call: Call) -> None:
    # A rule set built in code (not loaded from a file) that sends everything to civilians.
    reckless = replace(
        RULES,
        rules=(
            Rule("everyone-civilian", "", {}, Response.CIVILIAN_CRISIS_TEAM),
            Rule("fallback", "", {}, Response.POLICE),
        ),
    )
    got = recommend(reckless, call)
    if _weapon_present(call):
        assert got.response is Response.POLICE
        assert any(
            "a weapon is present or possibly present" in r and "so no civilian response" in r
            for r in got.reasons
        )
    elif not _eligible(call):
        assert got.response is Response.POLICE
        assert any("so no civilian response" in r for r in got.reasons)
    assert (got.response is Response.CIVILIAN_CRISIS_TEAM) == got.eligible_for_alternative


def _rules_text(**overrides: str) -> str:
    text = (Path(__file__).parents[2] / "src/wellbeat/care/data/triage/millbrook.yaml").read_text()
    for old, new in overrides.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "when: {behavioral_health: true, civilian_eligible: true, weapon: false, "
            "violence: false, medical: false}",
            "when: {behavioral_health: true, civilian_eligible: true}",
            "rule 'civilian-eligible': routes to civilian_crisis_team "
            "but does not require 'weapon: false'",
        ),
        ("respond: ems", "respond: fire_truck", "rule 'medical-emergency', field 'respond'"),
        ("when: {medical: true}", "when: {medical: maybe}", "rule 'medical-emergency'.medical"),
        ("when: {medical: true}", "when: {colour: red}", "unknown condition(s) colour"),
        ("keywords: [talk_only]", "keywords: [chatty]", "no keyword group(s) chatty"),
        ('"10-96": EDP', '"10-96": PSYCHO', "local_call_types['10-96']"),
        ("version: 2", "version: one", "field 'version'"),
        ("timezone: America/Chicago", "timezone: Mars/Olympus", "unknown time zone"),
        (
            "    when: {}\n    respond: police",
            "    when: {area: n1}\n    respond: police",
            "unknown condition",
        ),
        (
            'behavioral_dispatch: ["2301059"',
            'behavioral_dispatch: ["9999999"',
            "not NEMSIS eDispatch.01",
        ),
    ],
)
def test_bad_rule_files_are_refused_with_where_and_why(old: str, new: str, message: str) -> None:
    with pytest.raises(TriageRuleError, match=re.escape(message)) as caught:
        parse_rules(_rules_text(**{old: new}), "rules.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("rules.yaml")


def test_the_last_rule_must_catch_every_call() -> None:
    text = _rules_text(
        **{"    when: {}\n    respond: police": "    when: {medical: false}\n    respond: police"}
    )
    with pytest.raises(TriageRuleError, match="the last rule must match every call"):
        parse_rules(text, "rules.yaml")


def test_editing_rules_changes_the_recorded_version(tmp_path: Path) -> None:
    edited = tmp_path / "millbrook.yaml"
    edited.write_text(_rules_text(**{"version: 2": "version: 3"}))
    rules = load_rules(edited)
    assert rules.label.startswith("millbrook v3 (") and rules.sha256 != RULES.sha256
    assert recommend(rules, Call("NOISE")).rules_version == rules.label
    with pytest.raises(TriageRuleError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
