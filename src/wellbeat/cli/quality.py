"""``wellbeat quality``: data-quality monitors per source agency (freshness, latency, volume,
informative fields, invalid codes, quarantine), as in docs/data-quality.md."""

from __future__ import annotations

import json
from pathlib import Path

import click


def register(cli: click.Group) -> None:
    """Add the ``quality`` command to ``wellbeat``."""
    cli.add_command(quality_command)


_MARK = {"ok": "ok   ", "warn": "WARN ", "alert": "ALERT"}


@click.command("quality")
@click.option(
    "--data-dir",
    required=True,
    envvar="WELLBEAT_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The hub's data directory (default: $WELLBEAT_DATA_DIR).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def quality_command(data_dir: Path, as_json: bool) -> None:
    """Report each source agency's data quality: ok, warn or alert, with the reasons.

    Reads the hub's own lake (counts and shares only, never event rows); thresholds and
    methods are in docs/data-quality.md.
    """
    from wellbeat.analytics.quality import source_quality
    from wellbeat.lake.engine import EngineError
    from wellbeat.lake.store import LakeError

    try:
        reports = source_quality(data_dir)
    except (LakeError, EngineError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from exc
    if not reports:
        raise click.ClickException(
            f"{data_dir}: no committed batches in the lake (nothing to check)"
        )
    if as_json:
        click.echo(json.dumps({"sources": [r.to_json() for r in reports]}, default=str))
        return
    for report in reports:
        sector = f" ({report.sector})" if report.sector else ""
        click.echo(f"{_MARK[report.status]} {report.agency}{sector}")
        for reason in report.reasons:
            click.echo(f"        - {reason}")
