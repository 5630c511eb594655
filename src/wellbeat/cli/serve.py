"""`wellbeat serve`: the hub behind gunicorn (a production WSGI server), migrating first."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import click


def default_workers() -> int:
    """gunicorn's suggested (2 x cores) + 1, capped: the hub is I/O- and DuckDB-bound."""
    return min(2 * multiprocessing.cpu_count() + 1, 8)


def register(cli: click.Group) -> None:
    cli.add_command(serve)


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    help="The hub's data directory (created if missing).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port to listen on.",
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes (default: 2 x CPUs + 1, at most 8).",
)
@click.option(
    "--timeout",
    default=120,
    show_default=True,
    type=click.IntRange(10, 3600),
    help="Seconds before gunicorn restarts a stuck worker (uploads can be large).",
)
def serve(data_dir: Path, host: str, port: int, workers: int | None, timeout: int) -> None:
    """Migrate the application database, then serve the hub with gunicorn.

    Settings come from WELLBEAT_* environment variables (docs/hub.md). Static assets are served
    by the app itself; put a TLS-terminating proxy in front for anything but localhost.
    """
    from wellbeat.web.bootstrap import setup_django

    try:
        setup_django(data_dir, migrate=True)
    except Exception as exc:
        raise click.ClickException(f"cannot prepare the hub in {data_dir}: {exc}") from exc
    from django.conf import settings

    if host not in ("127.0.0.1", "localhost", "::1") and "*" not in settings.ALLOWED_HOSTS:
        click.echo(
            f"note: requests must use a host name listed in WELLBEAT_ALLOWED_HOSTS "
            f"(now {', '.join(settings.ALLOWED_HOSTS)})",
            err=True,
        )
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or default_workers(),
        "timeout": timeout,
        "accesslog": "-",
        "errorlog": "-",
        "forwarded_allow_ips": "127.0.0.1",
    }
    from wellbeat.web.governance.service import close_engines

    close_engines()  # gunicorn forks its workers next; each opens its own engine
    click.echo(f"wellbeat hub on http://{host}:{port}/ (data: {data_dir})", err=True)
    HubServer(options).run()


def _application() -> Any:
    from wellbeat.web.wsgi import application

    return application


try:
    from gunicorn.app.base import BaseApplication
except ImportError:  # pragma: no cover - gunicorn is a declared dependency
    BaseApplication = object


class HubServer(BaseApplication):
    """gunicorn started in-process with the hub's WSGI application."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return _application()
