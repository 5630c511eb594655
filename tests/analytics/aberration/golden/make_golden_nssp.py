"""Golden outputs of CDC's pynssp 0.1.0 (``alert_ewma``, ``alert_regression``).

Run in an environment with pynssp (it is not a wellbeat dependency), from this directory::

    python -m venv /tmp/nssp && /tmp/nssp/bin/pip install pynssp==0.1.0 requests setuptools
    /tmp/nssp/bin/python make_golden_nssp.py

Writes data_nssp_<set>.csv, case_<name>.csv and nssp_cases.json. Data: pynssp's own weekly
``simulated_ts`` (both scenarios) and a daily series with weekly rhythm and a trend, drawn
here once with a fixed seed and kept as a file (so regenerating never changes the input).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pynssp
from pynssp import alert_ewma, alert_regression
from pynssp.data import load_simulated_ts

HERE = Path(__file__).parent


def daily_series() -> pd.DataFrame:
    """Three daily series (two years) with day-of-week effects, a trend and a few spikes."""
    path = HERE / "data_nssp_daily.csv"
    if path.exists():
        return pd.read_csv(path)
    rng = np.random.default_rng(20240601)
    dates = pd.date_range("2022-01-01", periods=730, freq="D")
    frames = []
    for series, level in enumerate([4.0, 20.0, 60.0], start=1):
        t = np.arange(dates.size)
        dow = np.array([1.0, 1.3, 1.2, 1.1, 1.1, 0.8, 0.7])[dates.day_of_week]
        mean = level * dow * (1 + 0.3 * np.sin(2 * np.pi * t / 365.25)) * (1 + t / 2000)
        counts = rng.poisson(mean)
        counts[rng.choice(dates.size, 6, replace=False)] += rng.poisson(3 * level, 6)
        frames.append(
            pd.DataFrame(
                {
                    "series": series,
                    "index": t + 1,
                    "date": dates.strftime("%Y-%m-%d"),
                    "count": counts,
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    data.to_csv(path, index=False)
    return data


def weekly_series() -> pd.DataFrame:
    """pynssp's simulated_ts as series 1 and 2."""
    sim = load_simulated_ts()
    frames = []
    for series, (_, group) in enumerate(sim.groupby("id", sort=True), start=1):
        group = group.sort_values("date")
        frames.append(
            pd.DataFrame(
                {
                    "series": series,
                    "index": np.arange(1, len(group) + 1),
                    "date": group["date"].to_numpy(),
                    "count": group["cases"].to_numpy(),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    data.to_csv(HERE / "data_nssp_weekly.csv", index=False)
    return data


def run(name: str, method: str, data_name: str, data: pd.DataFrame, args: dict) -> dict:
    rows = []
    for series, group in data.groupby("series", sort=True):
        frame = pd.DataFrame(
            {"date": pd.to_datetime(group["date"]).to_numpy(), "count": group["count"].to_numpy()}
        )
        detector = alert_ewma if method == "ewma" else alert_regression
        out = detector(
            frame, t="date", y="count", **{k.upper() if k == "b" else k: v for k, v in args.items()}
        )
        out = out.sort_values("date").reset_index(drop=True)
        tested = out["p_value"].notna()
        rows.append(
            pd.DataFrame(
                {
                    "series": series,
                    "index": np.flatnonzero(tested) + 1,
                    "observed": out.loc[tested, "count"].to_numpy(),
                    "expected": out.loc[tested, "baseline_expected"].to_numpy(),
                    "score": out.loc[tested, "test_statistic"].to_numpy(),
                    "pvalue": out.loc[tested, "p_value"].to_numpy(),
                    "alert": out.loc[tested, "alert"].to_numpy(),
                    "alarm": (out.loc[tested, "alert"] == "red").astype(int).to_numpy(),
                }
            )
        )
    pd.concat(rows, ignore_index=True).to_csv(HERE / f"case_{name}.csv", index=False)
    return {"name": name, "method": method, "data": data_name, "args": args}


def main() -> None:
    daily, weekly = daily_series(), weekly_series()
    cases = [
        run("ewma_weekly", "ewma", "nssp_weekly", weekly, {}),
        run("ewma_daily", "ewma", "nssp_daily", daily, {}),
        run(
            "ewma_daily_tuned", "ewma", "nssp_daily", daily, {"b": 14, "g": 0, "w1": 0.3, "w2": 0.8}
        ),
        run("regression_daily", "regression", "nssp_daily", daily, {}),
        run("regression_daily_tuned", "regression", "nssp_daily", daily, {"b": 56, "g": 5}),
    ]
    manifest = {
        "pynssp_version": "0.1.0",
        "pandas_version": pd.__version__,
        "module": pynssp.__name__,
        "cases": cases,
    }
    (HERE / "nssp_cases.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
