"""``wellbeat synth``: write a synthetic city for demos, tests and benchmarks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from wellbeat.synth import SCALES, build_city


def register(cli: click.Group) -> None:
    """Add the ``synth`` command to the wellbeat command line."""
    cli.add_command(synth)


@click.command()
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the city into (created if missing; files in it are replaced).",
)
@click.option(
    "--seed",
    default=42,
    show_default=True,
    type=int,
    help="Random seed; the same seed and scale always give byte-identical files.",
)
@click.option(
    "--scale",
    default="small",
    show_default=True,
    type=click.Choice(list(SCALES)),
    help="City size: tiny (~4k records, tests), small (~65k, the demo), medium (~1M), "
    "large (~10M).",
)
@click.option("--progress/--no-progress", default=False, help="Show a progress bar per chunk.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing the city.")
def synth(out: Path, seed: int, scale: str, progress: bool, as_json: bool) -> None:
    """Write a synthetic city: area layers, each agency's raw extract and mapping profile, and
    the ground truth (true identities, record-to-person map, planted spikes, hotspot,
    programme and frequent utilizers).
    """
    if out.exists() and not out.is_dir():
        raise click.ClickException(f"--out {out}: exists and is not a directory")
    started = time.perf_counter()
    try:
        city = build_city(out, seed=seed, scale=scale, progress=progress and not as_json)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise click.ClickException(f"--out {out}: cannot write the city ({reason})") from exc
    seconds = round(time.perf_counter() - started, 2)
    if as_json:
        summary = {
            "out": str(city.root),
            "seed": city.seed,
            "scale": city.scale,
            "start": city.start.isoformat(),
            "end": city.end.isoformat(),
            "records": city.records,
            "seconds": seconds,
            "sources": [
                {
                    "agency": s.agency,
                    "source": s.name,
                    "connector": s.connector,
                    "format": s.format,
                    "rows": s.rows,
                    "extract": str(s.extract),
                    "profile": str(s.profile),
                }
                for s in city.sources()
            ],
            "ground_truth": {
                "people": str(city.people),
                "events": str(city.events),
                "planted": str(city.planted),
            },
        }
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"Wrote {city.records:,} records from {len(city.sources())} sources "
        f"({city.start} to {city.end}) to {city.root} in {seconds} s"
    )
    for s in city.sources():
        click.echo(f"  {s.key:<20} {s.connector:<17} {s.format:<8} {s.rows:>10,} rows")
    click.echo(f"Ground truth: {city.planted.parent}")
