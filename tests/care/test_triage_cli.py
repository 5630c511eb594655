"""`wellbeat triage check` and `wellbeat triage recommend` (no hub needed)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from wellbeat.care import triage
from wellbeat.cli import cli

RULES = Path(triage.__file__).parent / "data" / "triage" / "millbrook.yaml"
EXAMPLES = Path(triage.__file__).parent / "data" / "triage" / "millbrook-examples.csv"


def test_packaged_rules_pass_their_examples() -> None:
    result = CliRunner().invoke(cli, ["triage", "check", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["passed"] == 24 and body["failed"] == []


def test_an_edited_rule_that_breaks_an_example_fails_the_check(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.read_text().replace('hours: "23:00-07:00"', 'hours: "23:00-02:00"'))
    result = CliRunner().invoke(cli, ["triage", "check", str(rules), str(EXAMPLES)])
    assert result.exit_code == 1
    assert "(overnight edp): expected co_responder by civilian-eligible-overnight" in result.output


def test_a_rule_file_that_sends_weapon_calls_to_civilians_does_not_load(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULES.read_text().replace(
            "{keywords: [talk_only], behavioral_health: true, weapon: false,",
            "{keywords: [talk_only], behavioral_health: true,",
        )
    )
    result = CliRunner().invoke(cli, ["triage", "check", str(rules), str(EXAMPLES)])
    assert result.exit_code == 1
    assert "rule 'talk-only-988': routes to transfer_988 but does not require 'weapon: false'" in (
        result.output
    )


def test_recommend_explains_itself() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "triage",
            "recommend",
            "--call-type",
            "SUIC",
            "--weapon",
            "no",
            "--violence",
            "no",
            "--medical",
            "no",
            "--json",
        ],
    )
    body = json.loads(result.output)
    assert body["rule"] in ("civilian-eligible", "civilian-eligible-overnight")
    assert any("no weapon" in reason for reason in body["reasons"])
    assert body["conflicts"] == []


def test_recommend_shows_a_narrative_field_conflict() -> None:
    result = CliRunner().invoke(
        cli,
        ["triage", "recommend", "--call-type", "EDP", "--narrative", "unknown if armed",
         "--weapon", "no", "--json"],
    )  # fmt: skip
    body = json.loads(result.output)
    assert body["conflicts"] == [
        "Conflict: Narrative says 'unknown if armed'; weapon field says no — treated as weapon "
        "possibly present"
    ]
    assert body["reasons"][0] == body["conflicts"][0]
    assert body["response"] == "co_responder"
