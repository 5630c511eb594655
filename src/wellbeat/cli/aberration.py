"""`wellbeat aberration`: run one detector on a series from a CSV and write R-comparable results.

Options are the control parameters of the reference function (R `surveillance` or pynssp) in
kebab-case; an option left out takes the reference's default for the chosen method.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from wellbeat.analytics.aberration import (
    AberrationInputError,
    DetectionResult,
    cusum,
    ears,
    farrington,
    farrington_flexible,
    parse_range,
)
from wellbeat.analytics.aberration.cusum import CUSUM_TRANSFORMS
from wellbeat.analytics.aberration.farrington import FARRINGTON_FIT_FUNCTIONS
from wellbeat.analytics.aberration.farrington_flexible import THRESHOLD_METHODS
from wellbeat.analytics.aberration.nssp import ewma, regression

METHODS = (
    "ears-c1",
    "ears-c2",
    "ears-c3",
    "cusum",
    "farrington",
    "farrington-flexible",
    "ewma",
    "regression",
)

# Which options each method takes (the rest are refused, so a typo'd intent is not ignored).
_FARRINGTON_COMMON = {"range", "frequency", "b", "w", "alpha", "reweight", "trend", "limit54"}
APPLICABLE: dict[str, set[str]] = {
    "ears": {"range", "baseline", "min_sigma", "alpha"},
    "cusum": {"range", "k", "h", "m", "trans", "alpha", "frequency", "start"},
    "farrington": _FARRINGTON_COMMON | {"powertrans", "fit_fun"},
    "farrington-flexible": _FARRINGTON_COMMON
    | {
        "powertrans",
        "weights_threshold",
        "p_threshold_trend",
        "population_offset",
        "no_periods",
        "past_weeks_not_included",
        "threshold_method",
    },
    "ewma": {"range", "b", "g", "w1", "w2"},
    "regression": {"range", "b", "g"},
}


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """Counts, population (or None) and ISO dates (or None) from SERIES.csv, in time order."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    columns = {name.strip().lower(): name for name in frame.columns}
    if "count" not in columns:
        raise click.ClickException(
            f"{path}: no 'count' column (found {', '.join(frame.columns) or 'none'}); "
            "expected date (or index), count and optionally population"
        )
    if "date" not in columns and "index" not in columns:
        raise click.ClickException(f"{path}: needs a 'date' or an 'index' column")
    if frame.empty:
        raise click.ClickException(f"{path}: no rows")
    counts = _numbers(frame[columns["count"]], path, "count")
    if np.any(counts < 0):
        line = int(np.flatnonzero(counts < 0)[0]) + 2
        raise click.ClickException(f"{path} line {line}: count must be >= 0")
    population = None
    if "population" in columns:
        population = _numbers(frame[columns["population"]], path, "population")
        if np.any(population <= 0):
            line = int(np.flatnonzero(population <= 0)[0]) + 2
            raise click.ClickException(f"{path} line {line}: population must be > 0")
    if "date" in columns:
        parsed = pd.to_datetime(frame[columns["date"]], errors="coerce", format="ISO8601")
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if bad.size:
            value = frame[columns["date"]].iloc[bad[0]]
            raise click.ClickException(
                f"{path} line {bad[0] + 2}: date {value!r} is not a date (expected YYYY-MM-DD)"
            )
        key = parsed.to_numpy()
    else:
        key = _numbers(frame[columns["index"]], path, "index")
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    duplicate = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
    if duplicate.size:
        line = int(order[duplicate[0] + 1]) + 2
        raise click.ClickException(f"{path} line {line}: repeats a date/index of another row")
    dates = None
    if "date" in columns:
        dates = [str(day)[:10] for day in pd.DatetimeIndex(sorted_key).strftime("%Y-%m-%d")]
    return counts[order], (population[order] if population is not None else None), dates


def _numbers(column: pd.Series, path: Path, name: str) -> np.ndarray:
    values = pd.to_numeric(column.str.strip().replace({"NA": "nan", "": "nan"}), errors="coerce")
    text_bad = values.isna() & ~column.str.strip().isin(["", "NA", "nan", "NaN"])
    if text_bad.any():
        row = int(np.flatnonzero(text_bad.to_numpy())[0])
        raise click.ClickException(
            f"{path} line {row + 2}: {name} {column.iloc[row]!r} is not a number"
        )
    return values.to_numpy(dtype=np.float64)


def _limit54(text: str) -> tuple[int, int]:
    parts = text.replace(":", ",").split(",")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise click.ClickException(f"--limit54 {text!r} must be CASES,PERIODS, e.g. 5,4")
    return int(parts[0]), int(parts[1])


def run_method(
    method: str,
    counts: np.ndarray,
    population: np.ndarray | None,
    dates: list[str] | None,
    options: dict[str, Any],
) -> DetectionResult:
    """Call the detector for ``method`` with the given (already defaulted) options."""
    family = "ears" if method.startswith("ears") else method
    given = {name for name, value in options.items() if value is not None}
    refused = sorted(given - APPLICABLE[family])
    if refused:
        names = ", ".join("--" + name.replace("_", "-") for name in refused)
        raise click.ClickException(f"{names} does not apply to --method {method}")
    args = {name: value for name, value in options.items() if value is not None}
    if "range" in args:
        args["range_"] = parse_range(args.pop("range"))
    if "limit54" in args:
        args["limit54"] = _limit54(args["limit54"])
    if family == "ears":
        return ears(counts, method=method[-2:].upper(), **args)  # type: ignore[arg-type]
    if family == "cusum":
        if "range_" not in args:
            raise click.ClickException("--method cusum needs --range (R's algo.cusum has none)")
        if "m" in args and args["m"] != "glm":
            try:
                args["m"] = float(args["m"])
            except ValueError:
                raise click.ClickException(f"--m {args['m']!r} must be a number or glm") from None
        return cusum(counts, **args)
    if family in ("farrington", "farrington-flexible"):
        wants_offset = args.get("population_offset") or str(args.get("fit_fun", "")).endswith(
            "populationOffset"
        )
        if wants_offset and population is None:
            raise click.ClickException("a population offset needs a 'population' column")
        detector = farrington if family == "farrington" else farrington_flexible
        return detector(counts, population=population, dates=dates, **args)
    if family == "ewma":
        return ewma(counts, **args)
    if dates is None:
        raise click.ClickException("--method regression needs a 'date' column (day of week)")
    return regression(counts, dates, **args)


def write_result(result: DetectionResult, dates: list[str] | None, path: Path) -> None:
    """OUT.csv: one row per monitored position (``NA`` where the reference has no value)."""
    frame = result.to_frame()
    if dates is not None:
        frame.insert(1, "date", [dates[i - 1] for i in result.index])
    frame = frame[[c for c in frame.columns if c not in result.extras]]
    frame.to_csv(path, index=False, na_rep="NA", float_format="%.10g")


@click.command("aberration")
@click.option("--method", required=True, type=click.Choice(METHODS), help="Detector to run.")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="SERIES.csv with a date (or index) column, count, and optionally population.",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="OUT.csv: index, observed, expected, upperbound, score, alarm (0/1) per position.",
)
@click.option(
    "--range",
    "range_text",
    help="Monitored positions START:END (1-based, R's range). Default: the method's first "
    "evaluable position to the end; required for cusum.",
)
@click.option(
    "--frequency", type=int, help="Periods per year (52); Farrington with dates: 52, 365 or 12."
)
@click.option(
    "--b", type=int, help="Farrington: years back (5). NSSP: baseline length in days (28)."
)
@click.option("--w", type=int, help="Farrington: half-width of the reference window (3).")
@click.option(
    "--alpha",
    type=float,
    help="EARS: 0.001 (C1, C2), 0.025 (C3). Farrington: 0.05. CUSUM pearsonNegBin: 0.1.",
)
@click.option("--baseline", type=int, help="EARS baseline length in days (7).")
@click.option("--min-sigma", type=float, help="EARS floor of the baseline SD (0).")
@click.option(
    "--reweight/--no-reweight", default=None, help="Farrington: down-weight outliers (on)."
)
@click.option("--weights-threshold", type=float, help="Flexible: reweighting threshold (2.58).")
@click.option("--trend/--no-trend", default=None, help="Farrington: fit a time trend (on).")
@click.option("--p-threshold-trend", type=float, help="Flexible: trend p-value cut-off (0.05).")
@click.option("--limit54", help="Farrington: CASES,PERIODS needed for an alarm (5,4).")
@click.option(
    "--powertrans", type=click.Choice(["2/3", "1/2", "none"]), help="Farrington: power (2/3)."
)
@click.option(
    "--fit-fun", type=click.Choice(FARRINGTON_FIT_FUNCTIONS), help="Farrington: R fitFun."
)
@click.option(
    "--population-offset/--no-population-offset",
    default=None,
    help="Flexible: offset(log(population)) from the population column (off).",
)
@click.option("--no-periods", type=int, help="Flexible: seasonal factor levels (1).")
@click.option("--past-weeks-not-included", type=int, help="Flexible: recent weeks left out (w).")
@click.option(
    "--threshold-method", type=click.Choice(THRESHOLD_METHODS), help="Flexible: bound (delta)."
)
@click.option("--k", type=float, help="CUSUM reference value (1.04).")
@click.option("--h", type=float, help="CUSUM decision boundary (2.26).")
@click.option("--m", help="CUSUM in-control mean: a number or glm (mean before the range).")
@click.option("--trans", type=click.Choice(CUSUM_TRANSFORMS), help="CUSUM transform (standard).")
@click.option("--start", type=int, help="CUSUM m=glm: period of the first observation (1).")
@click.option("--g", type=int, help="NSSP guard band in days (2).")
@click.option("--w1", type=float, help="NSSP EWMA smoothing for gradual events (0.4).")
@click.option("--w2", type=float, help="NSSP EWMA smoothing for sudden events (0.9).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def aberration(
    method: str,
    input_path: Path,
    output_path: Path,
    range_text: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Run an aberration detector on one series, reproducing R `surveillance` (EARS, CUSUM,
    Farrington, Farrington flexible) or CDC pynssp (EWMA, regression) results.

    Example: wellbeat aberration --method farrington --input cases.csv --output alarms.csv
    """
    counts, population, dates = read_series(input_path)
    options["range"] = range_text
    try:
        result = run_method(method, counts, population, dates, options)
    except AberrationInputError as exc:
        raise click.ClickException(f"{input_path}: {exc}") from None
    try:
        write_result(result, dates, output_path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output_path}: {exc}") from None
    alarms = result.index[result.alarm[0]]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "method": method,
                    "input": str(input_path),
                    "output": str(output_path),
                    "rows": int(result.index.size),
                    "alarms": int(alarms.size),
                    "alarm_index": [int(i) for i in alarms],
                    "control": {
                        key: (list(value) if isinstance(value, tuple) else value)
                        for key, value in result.control.items()
                    },
                }
            )
        )
    else:
        click.echo(
            f"{method}: {result.index.size} positions, {alarms.size} alarms; wrote {output_path}"
        )


def register(cli: click.Group) -> None:
    """Add `wellbeat aberration` to the `wellbeat` group."""
    cli.add_command(aberration)
