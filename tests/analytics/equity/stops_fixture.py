"""The traffic stops the veil-of-darkness golden is computed from: generated from a fixed seed
(so the raw stops need not be stored), with darkness lowering the odds that a stopped driver
is Black (a planted effect of -0.35 on the log-odds scale) and a place effect.

``python tests/analytics/equity/stops_fixture.py`` writes golden/veil_frame.csv, the regression
data ``veil_frame`` makes of them; ``Rscript make_golden.R`` in golden/ fits R's glm to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LAT, LON, ZONE = 44.98, -93.27, "America/Chicago"
PLACES = ("1", "2", "3", "4", "5")
GOLDEN = Path(__file__).resolve().parent / "golden"


def traffic_stops(n: int = 6000, seed: int = 2017) -> pd.DataFrame:
    """Stops in 2017 between 16:00 and 22:30 local time, one row each."""
    from wellbeat.analytics.equity import classify_twilight

    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2017-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    minute = rng.integers(16 * 60, 22 * 60 + 30, n)
    local = (day + pd.to_timedelta(minute, unit="min")).tz_localize(
        ZONE, ambiguous="NaT", nonexistent="NaT"
    )
    stops = pd.DataFrame({"occurred_at": local.tz_convert("UTC")}).dropna().reset_index(drop=True)
    place = rng.choice(PLACES, len(stops))
    twilight = classify_twilight(stops["occurred_at"], LAT, LON, ZONE)
    place_effect = np.array([{"1": 0.0, "2": 0.4, "3": -0.3, "4": 0.8, "5": 0.1}[p] for p in place])
    logit = -0.9 - 0.35 * twilight.dark + 0.002 * (twilight.minute - 1140) + place_effect
    black = rng.random(len(stops)) < 1 / (1 + np.exp(-logit))
    other = rng.choice(
        ["white", "hispanic", "asian_pacific_islander"], len(stops), p=[0.7, 0.2, 0.1]
    )
    stops["race"] = np.where(black, "black", other)
    stops["place"] = place
    return stops


if __name__ == "__main__":
    from wellbeat.analytics.equity import veil_frame

    frame, _, _ = veil_frame(traffic_stops(), lat=LAT, lon=LON, zone=ZONE, place="place")
    frame.to_csv(GOLDEN / "veil_frame.csv", index=False, float_format="%.10f")
    print(f"wrote {len(frame)} rows to {GOLDEN / 'veil_frame.csv'}")
