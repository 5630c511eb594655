"""Scan problems read straight from a synthetic city's ground truth (no lake, no governance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from wellbeat.analytics.scan import ScanProblem, problem_from_cases
from wellbeat.geo import load_layer
from wellbeat.synth import City

TIMEZONE = "America/Chicago"


def episode_cases(city: City, scenario: str, *, keep_planted: bool = True) -> pd.DataFrame:
    """One case per episode of ``scenario``: its neighbourhood and local date (first record)."""
    events = pd.read_csv(city.events, dtype=str, keep_default_na=False)
    events = events[events["scenario"] == scenario]
    if not keep_planted:
        events = events[events["planted"] == ""]
    when = pd.to_datetime(events["occurred_at"], utc=True).dt.tz_convert(TIMEZONE)
    events = events.assign(day=when.dt.date, when=when).sort_values("when")
    return events.drop_duplicates("episode_id")[["episode_id", "neighbourhood", "day", "planted"]]


def neighbourhood_problem(city: City, cases: pd.DataFrame) -> ScanProblem:
    """Cases per neighbourhood and day over the city's whole span; centroids in lat/long."""
    layer = load_layer(Path(city.layers["neighbourhood"]))
    centroids = np.array([[g.centroid.y, g.centroid.x] for g in layer.geometries])
    return problem_from_cases(
        list(layer.ids),
        centroids,
        list(cases["neighbourhood"]),
        list(cases["day"]),
        population=layer.population.astype(np.float64),
        start=city.start,
        end=city.end,
        coordinate_system="latlong",
    )
