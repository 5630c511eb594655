"""Benchmark: aberration detection for 1,000 areas x 10 indicators x 730 days, every method.

Run: ``python bench/aberration.py [--areas 1000] [--indicators 10] [--r-series 100]
[--r-glm-series 10] [--pynssp-python /path/to/python]``. Needs ``Rscript`` with
`surveillance` (not part of the test suite).

wellbeat runs every series. R `surveillance` runs a subset of the same series in the same
run (R loops over series, so its time grows linearly: the full-workload R time is the subset
time scaled by the number of series; that is how the ratio is computed and printed). Alarms of
that subset must be identical. The NSSP detectors are compared with pynssp the same way when
``--pynssp-python`` names an interpreter that has it (it is not a wellbeat dependency).

Methods on the daily series: EARS C1/C2/C3 (defaults), CUSUM (range = second year),
Farrington and Farrington flexible with ``freq = 365, b = 1`` from day 369 (two years of data
allow one year back; the flexible method without trend, which ``b = 1`` never keeps, because
R stops on a singular trend fit for an all-zero baseline), NSSP EWMA and regression (defaults).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from wellbeat.analytics.aberration import (
    DetectionResult,
    cusum,
    ears,
    farrington,
    farrington_flexible,
)
from wellbeat.analytics.aberration.nssp import ewma, regression

DAYS = 730
CUSUM_RANGE = (366, DAYS)
GLM_FROM = 369  # farringtonFlexible's default start for freq 365, b 1, w 3

R_SCRIPT = r"""
suppressPackageStartupMessages(library(surveillance))
options(warn = -1)
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; glm_series <- as.integer(args[2])
counts <- as.matrix(read.csv(file.path(dir, "counts.csv")))
timings <- list()
save <- function(name, alarm, upper) {
  write.csv(data.frame(alarm = as.vector(alarm) * 1, upper = as.vector(upper)),
            file.path(dir, paste0("r_", name, ".csv")), row.names = FALSE)
}
daily <- sts(observed = counts, frequency = 365)
for (m in c("C1", "C2", "C3")) {
  t <- system.time(res <- earsC(daily, control = list(method = m)))[["elapsed"]]
  timings[[paste0("ears-", tolower(m))]] <- c(t, ncol(counts))
  save(paste0("ears-", tolower(m)), res@alarm, res@upperbound)
}
t <- system.time({
  out <- lapply(seq_len(ncol(counts)), function(j)
    algo.cusum(sts2disProg(daily[, j]), control = list(range = %(cusum_from)d:%(cusum_to)d)))
})[["elapsed"]]
timings[["cusum"]] <- c(t, ncol(counts))
save("cusum", sapply(out, `[[`, "alarm"), sapply(out, `[[`, "upperbound"))
few <- daily[, seq_len(glm_series)]
t <- system.time({
  out <- lapply(seq_len(glm_series), function(j) {
    dp <- sts2disProg(few[, j]); dp$epochAsDate <- NULL
    algo.farrington(dp, control = list(b = 1, range = %(glm_from)d:%(cusum_to)d))
  })
})[["elapsed"]]
timings[["farrington"]] <- c(t, glm_series)
save("farrington", sapply(out, `[[`, "alarm"), sapply(out, `[[`, "upperbound"))
t <- system.time(res <- farringtonFlexible(few, control = list(b = 1, trend = FALSE)))[["elapsed"]]
timings[["farrington-flexible"]] <- c(t, glm_series)
save("farrington-flexible", res@alarm, res@upperbound)
writeLines(jsonlite::toJSON(timings, auto_unbox = FALSE), file.path(dir, "r_timings.json"))
"""

PYNSSP_SCRIPT = r"""
import json, sys, time
import pandas as pd
from pynssp import alert_ewma, alert_regression
folder = sys.argv[1]
counts = pd.read_csv(folder + "/counts.csv")
dates = pd.date_range("2023-01-01", periods=len(counts), freq="D")
timings, alarms = {}, {}
for name, detector in (("ewma", alert_ewma), ("regression", alert_regression)):
    start = time.perf_counter()
    red = []
    for column in counts.columns:
        out = detector(pd.DataFrame({"date": dates, "count": counts[column]}))
        red.append((out["alert"] == "red").astype(int).tolist())
    timings[name] = [time.perf_counter() - start, counts.shape[1]]
    alarms[name] = red
json.dump({"timings": timings, "alarms": alarms}, open(folder + "/pynssp.json", "w"))
"""


def synthetic_city(areas: int, indicators: int, seed: int = 7) -> tuple[np.ndarray, list[str]]:
    """Daily counts per (area, indicator): weekly rhythm, seasons, area sizes, a few spikes."""
    rng = np.random.default_rng(seed)
    n_series = areas * indicators
    dates = pd.date_range("2023-01-01", periods=DAYS, freq="D")
    day = np.arange(DAYS)
    weekly = np.array([1.0, 1.15, 1.1, 1.05, 1.05, 0.85, 0.8])[dates.day_of_week]
    season = 1 + 0.25 * np.sin(2 * np.pi * (day / 365.25 + rng.uniform(0, 1, (n_series, 1))))
    level = rng.gamma(1.5, 2.0, (n_series, 1))
    counts = rng.poisson(level * weekly * season).astype(np.float64)
    spikes = rng.random(counts.shape) < 0.002
    counts[spikes] += rng.poisson(5 * level.repeat(DAYS, axis=1)[spikes])
    return counts, list(dates.strftime("%Y-%m-%d"))


def timed(run: Callable[[], DetectionResult]) -> tuple[float, DetectionResult]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--areas", type=int, default=1000)
    parser.add_argument("--indicators", type=int, default=10)
    parser.add_argument("--r-series", type=int, default=100, help="series R runs (EARS, CUSUM)")
    parser.add_argument("--r-glm-series", type=int, default=10, help="series R runs (Farrington)")
    parser.add_argument("--pynssp-python", help="a Python that can import pynssp")
    options = parser.parse_args()
    counts, dates = synthetic_city(options.areas, options.indicators)
    n_series = counts.shape[0]
    print(
        f"{n_series} series x {DAYS} days ({options.areas} areas x {options.indicators} indicators)"
    )

    ours: dict[str, tuple[float, DetectionResult]] = {
        "ears-c1": timed(lambda: ears(counts, method="C1")),
        "ears-c2": timed(lambda: ears(counts, method="C2")),
        "ears-c3": timed(lambda: ears(counts, method="C3")),
        "cusum": timed(lambda: cusum(counts, range_=range(CUSUM_RANGE[0], DAYS + 1))),
        "farrington": timed(
            lambda: farrington(counts, b=1, frequency=365, range_=range(GLM_FROM, DAYS + 1))
        ),
        "farrington-flexible": timed(
            lambda: farrington_flexible(counts, b=1, frequency=365, trend=False)
        ),
        "ewma": timed(lambda: ewma(counts)),
        "regression": timed(lambda: regression(counts, dates)),
    }

    reference: dict[str, tuple[float, int, np.ndarray | None]] = {}
    with tempfile.TemporaryDirectory() as folder:
        subset = pd.DataFrame(counts[: options.r_series].T.astype(int))
        subset.columns = [f"s{i}" for i in range(subset.shape[1])]
        subset.to_csv(Path(folder) / "counts.csv", index=False)
        if shutil.which("Rscript"):
            script = Path(folder) / "bench.R"
            script.write_text(
                R_SCRIPT % {"cusum_from": CUSUM_RANGE[0], "cusum_to": DAYS, "glm_from": GLM_FROM}
            )
            subprocess.run(["Rscript", str(script), folder, str(options.r_glm_series)], check=True)
            timings = json.loads((Path(folder) / "r_timings.json").read_text())
            for name, (seconds, series) in timings.items():
                frame = pd.read_csv(Path(folder) / f"r_{name}.csv")
                alarms = frame["alarm"].to_numpy().reshape(int(series), -1)
                reference[name] = (float(seconds), int(series), alarms)
        else:
            print("Rscript not found: R timings skipped")
        if options.pynssp_python:
            small = subset.iloc[:, : options.r_glm_series]
            small.to_csv(Path(folder) / "counts.csv", index=False)
            script = Path(folder) / "bench_pynssp.py"
            script.write_text(PYNSSP_SCRIPT)
            subprocess.run([options.pynssp_python, str(script), folder], check=True)
            answer = json.loads((Path(folder) / "pynssp.json").read_text())
            for name, (seconds, series) in answer["timings"].items():
                red = np.array(answer["alarms"][name])
                reference[name] = (float(seconds), int(series), red)

    print(
        f"{'method':<22}{'wellbeat s':>11}{'reference s (n series)':>26}"
        f"{'ref. full s':>13}{'ratio':>9}  alarms"
    )
    for name, (seconds, result) in ours.items():
        if name not in reference:
            print(f"{name:<22}{seconds:>11.2f}{'-':>26}{'-':>13}{'-':>9}  -")
            continue
        ref_seconds, ref_series, ref_alarms = reference[name]
        full = ref_seconds / ref_series * n_series
        if name in ("ewma", "regression"):
            ours_alarm = np.zeros((ref_series, DAYS), dtype=int)
            ours_alarm[:, result.index - 1] = result.alarm[:ref_series]
        else:
            ours_alarm = result.alarm[:ref_series].astype(int)
        assert ref_alarms is not None
        same = np.array_equal(ours_alarm, np.nan_to_num(ref_alarms).astype(int))
        verdict = f"identical ({int(ours_alarm.sum())})" if same else "DIFFER"
        print(
            f"{name:<22}{seconds:>11.2f}{ref_seconds:>19.2f} ({ref_series:>4})"
            f"{full:>13.1f}{full / seconds:>8.0f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
