"""`wellbeat scan`: SaTScan's space-time permutation or Poisson scan on an analyst's own files.

Inputs follow SaTScan's case and coordinates files, as CSV with a header row:

* CASES.csv: ``location``, ``date`` (YYYY-MM-DD or YYYY/MM/DD) and optionally ``count``
  (default 1 case per row);
* LOCATIONS.csv: ``location`` and either ``x``, ``y`` (Cartesian) or ``latitude``,
  ``longitude`` (degrees; great-circle distances), plus ``population`` for the Poisson model
  (constant over the study period).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import click
import numpy as np

from wellbeat.analytics.scan import (
    MODELS,
    ScanInputError,
    ScanProblem,
    ScanSettings,
    problem_from_cases,
    scan,
)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row with lower-case column names) of a CSV file with a header."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            raise click.ClickException(f"{path}: empty file (expected a header row)") from None
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise click.ClickException(
                    f"{path} line {reader.line_num}: {len(row)} fields, the header has "
                    f"{len(header)}"
                )
            yield reader.line_num, {k: v.strip() for k, v in zip(header, row, strict=True)}


def _require(path: Path, line: int, row: dict[str, str], field: str) -> str:
    value = row.get(field, "")
    if value == "":
        raise click.ClickException(f"{path} line {line}: {field} is empty")
    return value


def _number(path: Path, line: int, row: dict[str, str], field: str) -> float:
    text = _require(path, line, row, field)
    try:
        value = float(text)
    except ValueError:
        raise click.ClickException(
            f"{path} line {line}: {field} {text!r} is not a number"
        ) from None
    if not np.isfinite(value):
        raise click.ClickException(f"{path} line {line}: {field} {text!r} is not finite")
    return value


def _date(path: Path, line: int, text: str, field: str = "date") -> date:
    for pattern in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise click.ClickException(
        f"{path} line {line}: {field} {text!r} is not a date (expected YYYY-MM-DD)"
    )


def _option_date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(
            f"{option} {text!r} is not a date (expected YYYY-MM-DD)"
        ) from None


def read_locations(
    path: Path, *, needs_population: bool
) -> tuple[list[str], np.ndarray, np.ndarray | None, str]:
    """Location ids, coordinates, populations (or None) and the coordinate system."""
    ids: list[str] = []
    coordinates: list[tuple[float, float]] = []
    population: list[float] = []
    seen: dict[str, int] = {}
    system = ""
    for line, row in _rows(path):
        if not system:
            if "location" not in row:
                raise click.ClickException(f"{path}: no 'location' column")
            if {"x", "y"} <= row.keys():
                system = "cartesian"
            elif {"latitude", "longitude"} <= row.keys():
                system = "latlong"
            else:
                raise click.ClickException(
                    f"{path}: needs x and y columns, or latitude and longitude"
                )
            if needs_population and "population" not in row:
                raise click.ClickException(f"{path}: the Poisson model needs a 'population' column")
        location = _require(path, line, row, "location")
        if location in seen:
            raise click.ClickException(
                f"{path} line {line}: location {location!r} repeats line {seen[location]}"
            )
        seen[location] = line
        first, second = ("x", "y") if system == "cartesian" else ("latitude", "longitude")
        point = (_number(path, line, row, first), _number(path, line, row, second))
        if system == "latlong" and not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
            raise click.ClickException(
                f"{path} line {line}: latitude/longitude {point} out of range"
            )
        ids.append(location)
        coordinates.append(point)
        if needs_population:
            value = _number(path, line, row, "population")
            if value < 0:
                raise click.ClickException(f"{path} line {line}: population must be >= 0")
            population.append(value)
    if not ids:
        raise click.ClickException(f"{path}: no locations")
    return (
        ids,
        np.array(coordinates, dtype=np.float64),
        np.array(population, dtype=np.float64) if needs_population else None,
        system,
    )


def read_cases(
    path: Path, known: set[str], first: date | None = None, last: date | None = None
) -> tuple[list[str], list[date], list[int]]:
    """Case locations, dates and counts; each must be a known location inside the period."""
    locations: list[str] = []
    dates: list[date] = []
    counts: list[int] = []
    checked = False
    for line, row in _rows(path):
        if not checked:
            missing = {"location", "date"} - row.keys()
            if missing:
                raise click.ClickException(
                    f"{path}: no {' or '.join(sorted(missing))} column "
                    "(expected location, date and optionally count)"
                )
            checked = True
        location = _require(path, line, row, "location")
        if location not in known:
            raise click.ClickException(
                f"{path} line {line}: location {location!r} is not in the locations file"
            )
        day = _date(path, line, _require(path, line, row, "date"))
        if (first and day < first) or (last and day > last):
            raise click.ClickException(
                f"{path} line {line}: date {day} is outside the study period "
                f"{first or 'first case'}..{last or 'last case'} (--start/--end)"
            )
        count = 1
        if "count" in row:
            text = _require(path, line, row, "count")
            if not text.isdigit():
                raise click.ClickException(
                    f"{path} line {line}: count {text!r} is not a whole number >= 0"
                )
            count = int(text)
        locations.append(location)
        dates.append(day)
        counts.append(count)
    if not locations:
        raise click.ClickException(f"{path}: no cases")
    return locations, dates, counts


def load_problem(
    cases: Path,
    locations: Path,
    model: str,
    start: str | None,
    end: str | None,
) -> ScanProblem:
    ids, coordinates, population, system = read_locations(
        locations, needs_population=model == "poisson"
    )
    first = _option_date("--start", start)
    last = _option_date("--end", end)
    if first and last and last < first:
        raise click.ClickException(f"--end {last} is before --start {first}")
    case_locations, case_dates, case_counts = read_cases(cases, set(ids), first, last)
    try:
        return problem_from_cases(
            ids,
            coordinates,
            case_locations,
            case_dates,
            case_counts,
            population=population,
            start=first,
            end=last,
            coordinate_system=system,
        )
    except ScanInputError as exc:
        raise click.ClickException(str(exc)) from None


def register(cli: click.Group) -> None:
    @cli.command("scan")
    @click.option(
        "--model",
        type=click.Choice(MODELS),
        default="space-time-permutation",
        show_default=True,
        help="Space-time permutation (cases only) or space-time Poisson (needs population).",
    )
    @click.option(
        "--cases",
        "cases_path",
        type=click.Path(path_type=Path),
        required=True,
        help="CSV: location, date and optionally count (one case per row without it).",
    )
    @click.option(
        "--locations",
        "locations_path",
        type=click.Path(path_type=Path),
        required=True,
        help="CSV: location and x, y or latitude, longitude; population for --model poisson.",
    )
    @click.option("--out", type=click.Path(path_type=Path), required=True, help="Results as JSON.")
    @click.option(
        "--replicates", type=click.IntRange(min=0), default=999, show_default=True,
        help="Monte Carlo replicates (0: no p-values).",
    )  # fmt: skip
    @click.option(
        "--max-spatial-share", type=click.FloatRange(min=0, min_open=True, max=1),
        default=0.5, show_default=True,
        help="Largest circle, as a share of the cases (population for Poisson).",
    )  # fmt: skip
    @click.option(
        "--max-temporal-days", type=click.IntRange(min=1), default=None,
        help="Longest window in days.  [default: half the study period]",
    )  # fmt: skip
    @click.option(
        "--min-temporal-days", type=click.IntRange(min=1), default=1, show_default=True,
        help="Shortest window in days (equal to the period with --max-temporal-days: purely "
        "spatial).",
    )  # fmt: skip
    @click.option(
        "--prospective", is_flag=True,
        help="Only clusters still alive on the last day; reports recurrence intervals.",
    )  # fmt: skip
    @click.option(
        "--start", default=None, help="First day of the study period [default: first case]."
    )
    @click.option("--end", default=None, help="Last day of the study period [default: last case].")
    @click.option(
        "--min-cases", type=click.IntRange(min=1), default=2, show_default=True,
        help="Fewest cases in a reported cluster (SaTScan's default 2).",
    )  # fmt: skip
    @click.option(
        "--max-clusters", type=click.IntRange(min=1), default=10, show_default=True,
        help="Most clusters reported (the most likely one and its secondaries).",
    )  # fmt: skip
    @click.option("--seed", type=int, default=12345, show_default=True, help="Monte Carlo seed.")
    @click.option(
        "--workers", type=click.IntRange(min=1), default=2, show_default=True,
        help="Processes running the replicates (results do not depend on it).",
    )  # fmt: skip
    def scan_command(
        model: str,
        cases_path: Path,
        locations_path: Path,
        out: Path,
        replicates: int,
        max_spatial_share: float,
        max_temporal_days: int | None,
        min_temporal_days: int,
        prospective: bool,
        start: str | None,
        end: str | None,
        min_cases: int,
        max_clusters: int,
        seed: int,
        workers: int,
    ) -> None:
        """Find space-time clusters of cases, as SaTScan does (see docs/methods.md).

        Writes the most likely cluster and the secondary clusters that share no location with
        it as JSON: locations, start, end, observed, expected, llr, p_value (Monte Carlo) and,
        with --prospective, the recurrence interval in days. The file formats are in
        docs/methods.md ("Space-time scan statistics")."""
        problem = load_problem(cases_path, locations_path, model, start, end)
        try:
            settings = ScanSettings(
                model=model,
                replicates=replicates,
                max_spatial_share=max_spatial_share,
                max_temporal_days=max_temporal_days,
                min_temporal_days=min_temporal_days,
                prospective=prospective,
                min_cases=min_cases,
                max_clusters=max_clusters,
                seed=seed,
                workers=workers,
            )
            result = scan(problem, settings)
        except ScanInputError as exc:
            raise click.ClickException(str(exc)) from None
        document = result.to_dict()
        try:
            out.write_text(json.dumps(document, indent=2) + "\n")
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
        top = result.clusters[0] if result.clusters else None
        summary = (
            f"most likely cluster: {len(top.locations)} location(s), {top.start}..{top.end}, "
            f"{top.observed} observed / {top.expected:.2f} expected, p = {top.p_value}"
            if top
            else "no cluster with more cases than expected"
        )
        click.echo(f"{len(result.clusters)} cluster(s) written to {out}; {summary}")
