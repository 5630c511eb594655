"""Officer-initiated stops and use of force in the synthetic city: consistent extracts and the
planted disparities the equity analyses are to find."""

from __future__ import annotations

import numpy as np

from wellbeat.synth import stops as stop_model

from .conftest import BuiltCity


def test_every_use_of_force_row_belongs_to_a_stop_and_agrees_with_it(tiny: BuiltCity) -> None:
    stops = tiny.extract("MPD", "stops").set_index("StopID")
    force = tiny.extract("MPD", "use_of_force")
    assert len(stops) > 300 and stops.index.is_unique
    assert len(force) > 0 and force["ForceID"].is_unique
    assert set(force["StopID"]) <= set(stops.index)
    joined = force.merge(stops, left_on="StopID", right_index=True, suffixes=("", "_stop"))
    assert (joined["Race"] == joined["Race_stop"]).all()
    # Contraband is recorded only for a search; vehicles are searched only in traffic stops.
    searched = (stops["PersonSearched"] == "Y") | (stops["VehicleSearched"] == "Y")
    assert (stops.loc[~searched, "ContrabandFound"] == "").all()
    assert (stops.loc[stops["StopType"] != "TRAFFIC", "VehicleSearched"] == "").all()


def test_stops_are_recorded_in_mpd_stop_and_force_extracts_alone(tiny: BuiltCity) -> None:
    events = tiny.events()
    stop_rows = events[events["scenario"] == "stop"]
    assert set(zip(stop_rows["agency"], stop_rows["source"], strict=True)) == {
        ("MPD", "stops"),
        ("MPD", "use_of_force"),
    }
    assert "stops" in tiny.planted


def test_the_stop_model_plants_the_documented_disparities() -> None:
    n = 400_000
    ids = np.arange(n, dtype=np.int64)
    decided = stop_model.decide(42, ids, ids, np.full(n, "pedestrian"), np.full(n, 0.5))
    searched = decided.person_searched | decided.vehicle_searched
    rate = {g: searched[decided.race == g].mean() for g in ("white", "black", "hispanic")}
    assert abs(rate["white"] - stop_model.P_SEARCH["pedestrian"]) < 0.01
    assert abs(rate["black"] / rate["white"] - stop_model.SEARCH_RATIO["black"]) < 0.1
    assert abs(rate["hispanic"] / rate["white"] - stop_model.SEARCH_RATIO["hispanic"]) < 0.1
    for group, hit in stop_model.HIT_RATE.items():
        mine = searched & (decided.race == group)
        assert abs(decided.contraband[mine].mean() - hit) < 0.02
    assert not decided.contraband[~searched].any()
    # Race is a property of the person, not of the stop.
    again = stop_model.decide(42, ids + n, ids, np.full(n, "traffic"), np.full(n, 0.5))
    assert (again.race == decided.race).all()
