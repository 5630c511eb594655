"""The ``wellbeat`` command line. Thin: each module in this package adds its commands.

Every module here defines ``register(cli: click.Group) -> None``; the group discovers them,
so a capability brings its own commands without editing a central list. User errors raise
``click.ClickException`` (one-line reason, exit 1), never a traceback.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

import click

from wellbeat import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wellbeat")
def cli() -> None:
    """wellbeat: police, EMS, hospitals, public health and community services sharing data
    under enforced agreements.

    Start with `wellbeat demo --data-dir DIR`, which builds a synthetic city, prepares and
    ingests every agency's extract, and serves the hub with demo logins.
    """


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(cli)


_register_all()


def main() -> None:
    # Everything the CLI writes (data directory, lake, keys, batches, logs) is owner-only.
    os.umask(0o077)
    cli(prog_name="wellbeat")
