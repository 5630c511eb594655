"""`wellbeat referrals ...`: closed-loop referrals for integrations (FHIR R4 export and
import) and the overdue check that raises follow-up tasks."""

from __future__ import annotations

import json
from pathlib import Path

import click

DATA_DIR_HELP = "The hub's data directory (default: $WELLBEAT_DATA_DIR)."
data_dir_option = click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=DATA_DIR_HELP,
)


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


@referrals.command("import-fhir")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts.")
def import_fhir_command(file: Path, data_dir: Path, as_json: bool) -> None:
    """Bring FILE, a FHIR R4 Bundle of referrals (ServiceRequest + Task) and their Part 2
    consents as export-fhir writes it, into the hub: new referrals are created, known ones take
    the bundle's state, identical ones are left alone (importing an export changes nothing).
    All or nothing: an unknown agency or a Part 2 referral without a consent in force refuses
    the whole file, naming each record. The import is audited."""
    _django(data_dir)
    from wellbeat.web.care.actions import CareError, do_import_fhir

    try:
        result = do_import_fhir(
            file.read_text(encoding="utf-8"),
            source=str(file),
            actor_label="cli:referrals-import-fhir",
        )
    except CareError as exc:
        raise click.ClickException(exc.message) from exc
    counts = {
        "referrals_created": result.referrals_created,
        "referrals_updated": result.referrals_updated,
        "referrals_unchanged": result.referrals_unchanged,
        "consents_created": result.consents_created,
        "consents_revoked": result.consents_revoked,
        "consents_unchanged": result.consents_unchanged,
    }
    if as_json:
        click.echo(json.dumps(counts))
        return
    click.echo(
        f"referrals: {result.referrals_created} created, {result.referrals_updated} updated, "
        f"{result.referrals_unchanged} unchanged; consents: {result.consents_created} created, "
        f"{result.consents_revoked} revoked, {result.consents_unchanged} unchanged"
    )


@referrals.command("export-fhir")
@data_dir_option
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
@data_dir_option
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
