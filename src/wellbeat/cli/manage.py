"""`wellbeat manage ...`: Django management commands against a hub data directory."""

from __future__ import annotations

from pathlib import Path

import click


def register(cli: click.Group) -> None:
    cli.add_command(manage)


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    help="The hub's data directory.",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(data_dir: Path, args: tuple[str, ...]) -> None:
    """Run a Django management command against the hub's settings.

    For example `wellbeat manage --data-dir DIR migrate` or `... changepassword alice`."""
    from django.core.management import execute_from_command_line

    from wellbeat.web.bootstrap import setup_django

    if not args:
        raise click.ClickException("name a management command, e.g. 'migrate' or 'help'")
    setup_django(data_dir)
    execute_from_command_line(["wellbeat manage", *args])
