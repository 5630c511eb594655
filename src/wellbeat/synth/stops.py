"""What happens in a stop: who is stopped, searched, found with contraband, cited, arrested,
and when force is used. One model both of MPD's extracts (stops, use of force) read, so they
agree about every stop.

Each decision is a fixed function of the seed and the episode (or, for race, the person), not a
draw from a source's stream: the stop extract and the use-of-force extract are rendered from
different streams and must still tell the same story.

Planted disparities, for the equity analyses to find (``planted.json`` → ``stops``):

* search rates: Black people stopped are searched at ``SEARCH_RATIO["black"]`` times, Hispanic
  people at ``SEARCH_RATIO["hispanic"]`` times, the rate of White people stopped;
* hit rates (contraband found when searched) are *lower* for Black and Hispanic people searched:
  the outcome test's sign of a lower bar for searching them;
* force: used in ``P_FORCE`` of stops (more after an arrest), ``FORCE_RATIO["black"]`` times as
  often for Black people stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RACES = ("white", "black", "hispanic", "asian_pacific_islander", "native_american", "other")
_BASE_SHARE = np.array([0.62, 0.12, 0.12, 0.08, 0.02, 0.04])
_DEPRIVED_SHIFT = np.array([-0.36, 0.26, 0.08, 0.0, 0.02, 0.0])
"""How the share of each group changes from the least (0) to the most (1) deprived area."""

P_SEARCH = {"traffic": 0.06, "pedestrian": 0.22, "field_interview": 0.15}
SEARCH_RATIO = {"black": 2.0, "hispanic": 1.5}
HIT_RATE = {"white": 0.30, "black": 0.18, "hispanic": 0.21}
HIT_RATE_OTHER = 0.27
P_CITATION = {"traffic": 0.45, "pedestrian": 0.08, "field_interview": 0.0}
P_ARREST_WITH_CONTRABAND = 0.6
P_ARREST_OTHERWISE = 0.02
P_FORCE = 0.012
P_FORCE_AFTER_ARREST = 0.12
FORCE_RATIO = {"black": 1.6}
REASONS = {
    "traffic": (("moving_violation", "equipment_violation", "registration"), (0.55, 0.25, 0.2)),
    "pedestrian": (("suspicious_person", "investigative", "call_for_service"), (0.6, 0.3, 0.1)),
    "field_interview": (("investigative", "suspicious_person"), (0.7, 0.3)),
}


def unit(seed: int, salt: int, keys: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per key, fixed by (seed, salt, key): SplitMix64's finaliser."""
    with np.errstate(over="ignore"):
        x = np.asarray(keys, dtype=np.uint64) + np.uint64(
            (seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        )
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


_RACE, _SEARCH, _HIT, _CITE, _ARREST, _FORCE, _REASON, _FORCE_KIND = range(8)


def race_of(seed: int, person: np.ndarray, deprivation: np.ndarray) -> np.ndarray:
    """Each person's race (fixed per person), more often Black in more deprived home areas."""
    shares = _BASE_SHARE + np.outer(np.clip(deprivation, 0, 1), _DEPRIVED_SHIFT)
    cdf = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    u = unit(seed, _RACE, person)
    return np.asarray(RACES)[np.minimum((u[:, None] >= cdf).sum(axis=1), len(RACES) - 1)]


@dataclass(frozen=True)
class Stops:
    """Per stop episode: what the officer did and found."""

    race: np.ndarray
    stop_type: np.ndarray
    reason: np.ndarray
    person_searched: np.ndarray
    vehicle_searched: np.ndarray
    contraband: np.ndarray
    outcome: np.ndarray
    """arrest | citation | warning."""
    force: np.ndarray
    """Number of force types used (0 when none)."""


def decide(
    seed: int, episode_id: np.ndarray, person: np.ndarray, stop_type: np.ndarray,
    deprivation: np.ndarray,
) -> Stops:  # fmt: skip
    """The stop model for these episodes (see the module's docstring)."""
    race = race_of(seed, person, deprivation)
    p_search = np.vectorize(P_SEARCH.get)(stop_type).astype(float)
    for group, ratio in SEARCH_RATIO.items():
        p_search = np.where(race == group, p_search * ratio, p_search)
    searched = unit(seed, _SEARCH, episode_id) < p_search
    vehicle = searched & (stop_type == "traffic") & (unit(seed, _SEARCH + 100, episode_id) < 0.7)
    person_searched = (searched & ~vehicle) | (
        searched & (unit(seed, _SEARCH + 200, episode_id) < 0.5)
    )
    hit_rate = np.full(len(race), HIT_RATE_OTHER)
    for group, rate in HIT_RATE.items():
        hit_rate = np.where(race == group, rate, hit_rate)
    contraband = searched & (unit(seed, _HIT, episode_id) < hit_rate)
    arrest = unit(seed, _ARREST, episode_id) < np.where(
        contraband, P_ARREST_WITH_CONTRABAND, P_ARREST_OTHERWISE
    )
    cited = ~arrest & (
        unit(seed, _CITE, episode_id) < np.vectorize(P_CITATION.get)(stop_type).astype(float)
    )
    outcome = np.where(arrest, "arrest", np.where(cited, "citation", "warning"))
    p_force = np.where(arrest, P_FORCE_AFTER_ARREST, P_FORCE)
    for group, ratio in FORCE_RATIO.items():
        p_force = np.where(race == group, p_force * ratio, p_force)
    force_u = unit(seed, _FORCE, episode_id)
    force = np.where(force_u < p_force, np.where(force_u < p_force * 0.3, 2, 1), 0)
    reason = np.empty(len(race), dtype=object)
    u_reason = unit(seed, _REASON, episode_id)
    for kind, (values, weights) in REASONS.items():
        mine = stop_type == kind
        cdf = np.cumsum(weights) / np.sum(weights)
        index = np.minimum((u_reason[mine, None] >= cdf).sum(axis=1), len(values) - 1)
        reason[mine] = np.asarray(values)[index]
    return Stops(
        race=race, stop_type=stop_type, reason=reason.astype(str),
        person_searched=person_searched, vehicle_searched=vehicle, contraband=contraband,
        outcome=outcome, force=force.astype(np.int64),
    )  # fmt: skip


FORCE_TYPES = {
    "Bodily Force": 0.55, "Taser": 0.15, "Chemical Irritant": 0.15, "Gun Point Display": 0.1,
    "Baton": 0.05,
}  # fmt: skip
"""Force types as MPD's reports name them, with their shares."""
RESISTANCE = {
    "Tensed": 0.35, "Verbal Non-Compliance": 0.2, "Fled": 0.2, "Assaulting Police": 0.1,
    "Commission of Crime": 0.15,
}  # fmt: skip


def planted() -> dict[str, object]:
    """The planted stop disparities, as ``planted.json`` records them."""
    return {
        "description": (
            "Officer-initiated stops (MPD stops extract) and use of force (MPD use-of-force "
            "extract). Searches, hit rates and force differ by race by construction."
        ),
        "search_rate": P_SEARCH,
        "search_rate_ratio_vs_white": SEARCH_RATIO,
        "hit_rate_when_searched": {**HIT_RATE, "other groups": HIT_RATE_OTHER},
        "force_rate": {"stop": P_FORCE, "after arrest": P_FORCE_AFTER_ARREST},
        "force_rate_ratio_vs_others": FORCE_RATIO,
    }
