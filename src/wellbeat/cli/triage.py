"""`wellbeat triage ...`: check a jurisdiction's crisis-triage rules against its example-call
table, and try a call against the rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from wellbeat.care.triage import RuleSet

TRISTATE = click.Choice(["yes", "no", "unknown"])


def register(cli: click.Group) -> None:
    cli.add_command(triage)


@click.group()
def triage() -> None:
    """Crisis triage rules (versioned YAML per jurisdiction; see docs/triage.md)."""


def _rules(path: Path | None) -> RuleSet:
    from wellbeat.care.triage import TriageRuleError, load_rules, packaged_rules

    try:
        return load_rules(path) if path else packaged_rules()
    except TriageRuleError as exc:
        raise click.ClickException(str(exc)) from exc


@triage.command("check")
@click.argument("rules", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("examples", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object {rules, passed, failed}."
)
def check_command(rules: Path | None, examples: Path | None, as_json: bool) -> None:
    """Load RULES (default: the packaged Millbrook rules) and run every call of EXAMPLES (default:
    the table beside the packaged rules); exit 1 naming each example whose recommendation
    differs from the expected one."""
    from wellbeat.care.triage import (
        TriageRuleError,
        check_examples,
        packaged_examples,
        parse_examples,
    )

    rule_set = _rules(rules)
    try:
        if examples is not None:
            table = parse_examples(
                examples.read_text(encoding="utf-8"), str(examples), rule_set.zone
            )
        elif rules is None:
            table = packaged_examples()
        else:
            raise click.ClickException("give the EXAMPLES table for your own RULES file")
    except OSError as exc:
        raise click.ClickException(f"{examples}: cannot read: {exc.strerror}") from exc
    except TriageRuleError as exc:
        raise click.ClickException(str(exc)) from exc
    results = check_examples(rule_set, table)
    failed = [r for r in results if not r.passed]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "rules": rule_set.label,
                    "passed": len(results) - len(failed),
                    "failed": [
                        {
                            "line": r.example.line,
                            "example": r.example.name,
                            "expected": [
                                r.example.expected_response.value,
                                r.example.expected_rule,
                            ],
                            "got": [r.recommendation.response.value, r.recommendation.rule_id],
                        }
                        for r in failed
                    ],
                }
            )
        )
    else:
        for r in failed:
            click.echo(
                f"line {r.example.line} ({r.example.name}): expected "
                f"{r.example.expected_response.value} by {r.example.expected_rule}, got "
                f"{r.recommendation.response.value} by {r.recommendation.rule_id}"
            )
        click.echo(
            f"{rule_set.label}: {len(results) - len(failed)} of {len(results)} examples pass"
        )
    if failed:
        raise SystemExit(1)


@triage.command("recommend")
@click.option(
    "--rules",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Rules file (default: packaged Millbrook rules).",
)
@click.option("--call-type", default="", help="APCO call type or a local code the rules map.")
@click.option("--dispatch", default="", help="NEMSIS eDispatch.01 code, e.g. 2301059.")
@click.option("--narrative", default="", help="Call narrative, matched against the keywords.")
@click.option("--weapon", type=TRISTATE, default="unknown", help="Weapon present?")
@click.option("--violence", type=TRISTATE, default="unknown", help="Violence?")
@click.option("--medical", type=TRISTATE, default="unknown", help="Medical emergency?")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object with the recommendation."
)
def recommend_command(
    rules: Path | None,
    call_type: str,
    dispatch: str,
    narrative: str,
    weapon: str,
    violence: str,
    medical: str,
    as_json: bool,
) -> None:
    """Recommend a response for one call, with the rule that fired and why."""
    from datetime import UTC, datetime

    from wellbeat.care.triage import Call, recommend

    flags = {"yes": True, "no": False, "unknown": None}
    call = Call(
        call_type=call_type,
        dispatch_code=dispatch,
        narrative=narrative,
        weapon=flags[weapon],
        violence=flags[violence],
        medical=flags[medical],
        received_at=datetime.now(UTC),
    )
    got = recommend(_rules(rules), call)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "response": got.response.value,
                    "rule": got.rule_id,
                    "rules_version": got.rules_version,
                    "reasons": list(got.reasons),
                    "conflicts": list(got.conflicts),
                    "eligible_for_alternative": got.eligible_for_alternative,
                }
            )
        )
        return
    click.echo(f"{got.response.label} (rule {got.rule_id}, {got.rules_version})")
    for reason in got.reasons:
        click.echo(f"  - {reason}")
