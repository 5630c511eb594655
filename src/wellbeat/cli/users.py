"""`wellbeat users ...`: register agencies and invite users from the hub's own machine.

This is how a fresh hub gets its first admin: the operator registers the hub agency and
invites the first hub admin, who opens the printed link, sets their own password and enrols
their own authenticator. Every action is audited as ``cli:<operating-system user>``.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click

DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    help="The hub's data directory (created and migrated if needed).",
)


def register(cli: click.Group) -> None:
    cli.add_command(users)


def _operator_label() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"cli:{name}"[:150]


def _setup(data_dir: Path) -> None:
    from wellbeat.web.bootstrap import setup_django

    try:
        setup_django(data_dir, migrate=True)
    except Exception as exc:
        raise click.ClickException(f"cannot prepare the hub in {data_dir}: {exc}") from exc


@click.group()
def users() -> None:
    """Register agencies and invite users (audited as the operating-system user)."""


@users.command("add-agency")
@DATA_DIR_OPTION
@click.argument("code")
@click.option("--name", required=True, help="The agency's full name.")
@click.option(
    "--sector",
    required=True,
    help="'hub' for the hub operator's own agency; else police, fire_ems, emergency_dept, "
    "hospital, public_health, medical_examiner, behavioral_health or community.",
)
def add_agency(data_dir: Path, code: str, name: str, sector: str) -> None:
    """Register an agency with short code CODE (e.g. MPD)."""
    _setup(data_dir)
    from wellbeat.web.accounts import actions

    try:
        agency = actions.do_create_agency(
            code, name, sector, actor=None, actor_label=_operator_label()
        )
    except actions.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"registered agency {agency.code} ({agency.name}, {agency.sector})")


@users.command("invite")
@DATA_DIR_OPTION
@click.argument("username")
@click.option("--agency", "agency_code", required=True, help="Code of the user's agency.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="A role to give (repeat for several), e.g. hub_admin, agency_admin, analyst.",
)
@click.option("--email", default="", help="The user's e-mail address (for the record).")
@click.option("--full-name", default="", help="The user's name.")
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where users reach the hub; the printed link starts with it.",
)
def invite(
    data_dir: Path,
    username: str,
    agency_code: str,
    roles: tuple[str, ...],
    email: str,
    full_name: str,
    base_url: str,
) -> None:
    """Create USERNAME (who cannot sign in yet) and print a single-use, expiring invitation
    link with which they set their own password and enrol their own second factor. For a
    user who has not accepted yet, print a fresh link instead (earlier links stop working)."""
    _setup(data_dir)
    from wellbeat.web.accounts import actions
    from wellbeat.web.accounts.models import Agency, User

    agency = Agency.objects.filter(code=agency_code).first()
    if agency is None:
        raise click.ClickException(
            f"--agency {agency_code}: no such agency; register it with `wellbeat users add-agency`"
        )
    existing = User.objects.filter(username__iexact=username.strip()).first()
    try:
        if existing is not None:
            if existing.agency_id != agency.pk or sorted(existing.roles) != sorted(set(roles)):
                raise click.ClickException(
                    f"user {existing.username} already exists with other agency or roles; "
                    "change roles on the hub's admin pages"
                )
            issued = actions.do_reissue_invitation(None, existing, actor_label=_operator_label())
        else:
            issued = actions.do_invite_user(
                actor=None,
                agency=agency,
                username=username,
                roles=list(roles),
                email=email,
                full_name=full_name,
                actor_label=_operator_label(),
            )
    except (actions.AccountError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    link = base_url.rstrip("/") + issued.path()
    expires = issued.invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    click.echo(f"invitation for {issued.user.username} ({agency.code}), valid until {expires}:")
    click.echo(link)
