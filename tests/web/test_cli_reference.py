"""docs/cli.md is generated from the click commands themselves; this test fails when it is
out of date. Regenerate with: python tests/web/test_cli_reference.py"""

from __future__ import annotations

import sys
from pathlib import Path

import click

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

HEADER = """# Command-line reference

Generated from the commands' own help by `python tests/web/test_cli_reference.py`;
`tests/web/test_cli_reference.py` fails when this page is out of date.
"""


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found.extend(_walk(command.commands[name], [*path, name]))
    return found


def render() -> str:
    """The whole reference: every command's usage and help, as `wellbeat CMD --help` shows."""
    from wellbeat.cli import cli

    parts = [HEADER]
    for path, command in _walk(cli, ["wellbeat"]):
        context = click.Context(
            command,
            info_name=" ".join(path),
            terminal_width=100,
            help_option_names=["-h", "--help"],
        )
        title = " ".join(path)
        parts.append(f"\n## `{title}`\n\n```\n{command.get_help(context).rstrip()}\n```\n")
    return "".join(parts)


def test_cli_reference_is_current() -> None:
    assert DOC.exists(), "docs/cli.md missing: run python tests/web/test_cli_reference.py"
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is out of date: run python tests/web/test_cli_reference.py"
    )


def test_every_command_and_option_has_help() -> None:
    from wellbeat.cli import cli

    missing = []
    for path, command in _walk(cli, ["wellbeat"]):
        if not (command.help or command.short_help):
            missing.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    hub_commands = ("wellbeat serve", "wellbeat audit", "wellbeat manage")
    assert [m for m in missing if m.startswith(hub_commands)] == []


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC}\n")
