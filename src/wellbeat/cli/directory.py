"""`wellbeat directory ...`: import, export and validate the service directory (HSDS 3.0 JSON:
an array of fully nested service objects, as the compiled ``service`` schema describes)."""

from __future__ import annotations

import json
from pathlib import Path

import click

DATA_DIR_HELP = "The hub's data directory (default: $WELLBEAT_DATA_DIR)."


def register(cli: click.Group) -> None:
    cli.add_command(directory)


@click.group()
def directory() -> None:
    """The hub's service directory in Open Referral HSDS 3.0."""


def _read(file: Path | None, synthetic: bool) -> list[dict]:
    from wellbeat.care.hsds import HsdsError, read_directory, synthetic_directory

    if synthetic == (file is not None):
        raise click.ClickException("give either FILE or --synthetic (not both, not neither)")
    try:
        if synthetic:
            return synthetic_directory()
        assert file is not None
        return read_directory(file.read_text(encoding="utf-8"), str(file))
    except OSError as exc:
        raise click.ClickException(f"{file}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file}: not UTF-8 text ({exc.reason})") from exc
    except HsdsError as exc:
        raise click.ClickException(str(exc)) from exc


@directory.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {services, problems}.")
def validate_command(file: Path, as_json: bool) -> None:
    """Check FILE against the official HSDS 3.0 schemas; exit 1 listing every problem with its
    JSON path."""
    from wellbeat.care.hsds import HsdsError, read_directory

    try:
        documents = read_directory(file.read_text(encoding="utf-8"), str(file))
    except OSError as exc:
        raise click.ClickException(f"{file}: cannot read: {exc.strerror}") from exc
    except HsdsError as exc:
        if as_json:
            click.echo(json.dumps({"services": None, "problems": [str(p) for p in exc.problems]}))
            raise SystemExit(1) from exc
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"services": len(documents), "problems": []}))
    else:
        click.echo(f"{file}: {len(documents)} services, valid HSDS 3.0")


@directory.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--synthetic",
    is_flag=True,
    help="Import the synthetic Millbrook directory shipped with wellbeat instead of FILE.",
)
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help=DATA_DIR_HELP,
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object {created, updated, unchanged, unknown_agencies, warnings}.",
)
def import_command(file: Path | None, synthetic: bool, data_dir: Path, as_json: bool) -> None:
    """Import FILE (HSDS 3.0 JSON: an array of services, or one paginated API page) into the
    hub's directory: services are added or replaced by id, all or nothing. Importing the same
    file again changes nothing."""
    documents = _read(file, synthetic)
    from wellbeat.web.bootstrap import setup_django

    setup_django(data_dir, migrate=True)
    from wellbeat.web.care.actions import CareError, do_import_directory

    try:
        result = do_import_directory(documents, actor_label="cli:directory-import")
    except CareError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    click.echo(
        f"directory: {result.created} added, {result.updated} updated, {result.unchanged} unchanged"
    )
    if result.unknown_agencies:
        click.echo(
            "note: no hub agency with code(s) "
            f"{', '.join(result.unknown_agencies)}; their services take no referrals until "
            "the agency exists and the directory is imported again"
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}")


@directory.command("export")
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
    help="Where to write the HSDS 3.0 JSON array ('-' for standard output).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object {services, out}.")
def export_command(data_dir: Path, out: Path, as_json: bool) -> None:
    """Write the hub's directory as HSDS 3.0 JSON (validated against the official schemas)."""
    from wellbeat.web.bootstrap import setup_django

    try:
        setup_django(data_dir, create=False)
        from wellbeat.web.care.actions import directory_documents

        documents = directory_documents()
    except Exception as exc:  # missing or unmigrated database
        raise click.ClickException(f"cannot read the directory in {data_dir}: {exc}") from exc
    from wellbeat.care.hsds import HsdsError, write_directory

    try:
        text = write_directory(documents)
    except HsdsError as exc:
        raise click.ClickException(str(exc)) from exc
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    if as_json:
        click.echo(json.dumps({"services": len(documents), "out": str(out)}))
    else:
        click.echo(f"wrote {len(documents)} services to {out}")
