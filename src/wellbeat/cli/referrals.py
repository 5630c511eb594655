"""`wellbeat referrals ...`: closed-loop referrals for integrations (FHIR R4 export) and the
overdue check that raises follow-up tasks."""

from __future__ import annotations

import json
from pathlib import Path

import click

DATA_DIR_HELP = "The hub's data directory (default: $WELLBEAT_DATA_DIR)."


def register(cli: click.Group) -> None:
    cli.add_command(referrals)


@click.group()
def referrals() -> None:
    """Closed-loop referrals (FHIR R4 ServiceRequest + Task + Consent)."""


def _django(data_dir: Path) -> None:
    from wellbeat.web.bootstrap import setup_django

    try:
        setup_django(data_dir, create=False)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc


@referrals.command("export-fhir")
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=DATA_DIR_HELP,
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the FHIR R4 Bundle ('-' for standard output).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object {referrals, consents, out}."
)
def export_fhir_command(data_dir: Path, out: Path, as_json: bool) -> None:
    """Write every referral (ServiceRequest + Task) and the Part 2 consents they rely on as a
    FHIR R4 collection Bundle, each resource validated with fhir.resources. Part 2 referrals
    whose consent is no longer in force are left out. The export is audited."""
    _django(data_dir)
    try:
        from wellbeat.web.care.actions import do_export_fhir

        export = do_export_fhir(actor_label="cli:referrals-export-fhir")
    except Exception as exc:  # missing or unmigrated database
        raise click.ClickException(f"cannot export referrals from {data_dir}: {exc}") from exc
    if str(out) == "-":
        click.echo(export.text(), nl=False)
        return
    out.write_text(export.text(), encoding="utf-8")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "referrals": export.referrals,
                    "consents": export.consents,
                    "warnings": export.warnings,
                    "out": str(out),
                }
            )
        )
        return
    click.echo(f"wrote {export.referrals} referrals and {export.consents} consents to {out}")
    for warning in export.warnings:
        click.echo(f"note: {warning}")


@referrals.command("check-overdue")
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=DATA_DIR_HELP,
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {raised}.")
def check_overdue_command(data_dir: Path, as_json: bool) -> None:
    """Raise a follow-up task for every referral with no first contact within the service's
    promised time (run it hourly from cron; running it again raises nothing new)."""
    _django(data_dir)
    try:
        from wellbeat.web.care.actions import do_raise_overdue_followups

        raised = do_raise_overdue_followups()
    except Exception as exc:  # missing or unmigrated database
        raise click.ClickException(f"cannot check referrals in {data_dir}: {exc}") from exc
    if as_json:
        click.echo(json.dumps({"raised": len(raised)}))
    else:
        click.echo(f"{len(raised)} follow-up task(s) raised")
