"""What a space-time scan runs on: locations with coordinates, cases per location and day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

MODELS = ("space-time-permutation", "poisson")
COORDINATE_SYSTEMS = ("cartesian", "latlong")
EARTH_RADIUS_KM = 6371.0


class ScanInputError(ValueError):
    """Input a scan cannot run on; the message names the field and what was expected."""


@dataclass(frozen=True)
class ScanProblem:
    """Cases per location and day over a study period, and where each location is.

    ``counts[z, d]`` is the number of cases at location ``z`` on day ``start + d``.
    ``coordinates`` are (x, y) for ``cartesian`` or (latitude, longitude) in degrees for
    ``latlong`` (distances are then great-circle, as SaTScan's latitude/longitude option).
    ``population`` (one value per location, constant over the period) is needed by the
    Poisson model only.
    """

    locations: tuple[str, ...]
    coordinates: np.ndarray
    start: date
    counts: np.ndarray
    population: np.ndarray | None = None
    coordinate_system: str = "cartesian"

    def __post_init__(self) -> None:
        zones = len(self.locations)
        if zones == 0:
            raise ScanInputError("no locations")
        if len(set(self.locations)) != zones:
            raise ScanInputError("location ids repeat")
        if self.coordinates.shape != (zones, 2):
            raise ScanInputError(f"coordinates must be {zones} x 2, got {self.coordinates.shape}")
        if not np.all(np.isfinite(self.coordinates)):
            raise ScanInputError("coordinates must be finite numbers")
        if self.counts.ndim != 2 or self.counts.shape[0] != zones or self.counts.shape[1] == 0:
            raise ScanInputError(f"counts must be {zones} locations x at least 1 day")
        if self.counts.dtype.kind not in "iu" or np.any(self.counts < 0):
            raise ScanInputError("counts must be non-negative integers")
        if self.coordinate_system not in COORDINATE_SYSTEMS:
            raise ScanInputError(
                f"coordinate system {self.coordinate_system!r}; expected one of "
                + ", ".join(COORDINATE_SYSTEMS)
            )
        if self.population is not None:
            if self.population.shape != (zones,):
                raise ScanInputError(f"population must have one value per location ({zones})")
            if not np.all(np.isfinite(self.population)) or np.any(self.population < 0):
                raise ScanInputError("population must be finite and >= 0")

    @property
    def days(self) -> int:
        return int(self.counts.shape[1])

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def day(self, index: int) -> date:
        return self.start + timedelta(days=int(index))

    def distances_from(self, centre: int) -> np.ndarray:
        """Distance from location ``centre`` to every location (km for latitude/longitude)."""
        if self.coordinate_system == "latlong":
            lat = np.radians(self.coordinates[:, 0])
            lon = np.radians(self.coordinates[:, 1])
            dlat = lat - lat[centre]
            dlon = lon - lon[centre]
            h = np.sin(dlat / 2) ** 2 + np.cos(lat[centre]) * np.cos(lat) * np.sin(dlon / 2) ** 2
            return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
        delta = self.coordinates - self.coordinates[centre]
        return np.sqrt((delta**2).sum(axis=1))


def problem_from_cases(
    locations: Sequence[str],
    coordinates: np.ndarray,
    case_locations: Sequence[str],
    case_dates: Sequence[date],
    case_counts: Sequence[int] | None = None,
    *,
    population: np.ndarray | None = None,
    start: date | None = None,
    end: date | None = None,
    coordinate_system: str = "cartesian",
) -> ScanProblem:
    """Build a problem from case records (location id, date, count), as SaTScan's case file.

    The study period runs from ``start`` (default: the first case's date) to ``end`` (default:
    the last case's date), inclusive. A case at an unknown location or outside the period is
    an error naming its position (0-based record index), never dropped.
    """
    index = {loc: i for i, loc in enumerate(locations)}
    if len(index) != len(locations):
        raise ScanInputError("location ids repeat")
    if len(case_locations) != len(case_dates):
        raise ScanInputError("case locations and dates differ in length")
    counts_in = (
        np.ones(len(case_dates), dtype=np.int64)
        if case_counts is None
        else np.asarray(case_counts, dtype=np.int64)
    )
    if counts_in.shape != (len(case_dates),):
        raise ScanInputError("case counts and dates differ in length")
    if len(case_dates) == 0 and (start is None or end is None):
        raise ScanInputError("no cases, and no study period given")
    first = start if start is not None else min(case_dates)
    last = end if end is not None else max(case_dates)
    if last < first:
        raise ScanInputError(f"study period ends ({last}) before it starts ({first})")
    days = (last - first).days + 1
    counts = np.zeros((len(locations), days), dtype=np.int64)
    for record, (loc, day, n) in enumerate(zip(case_locations, case_dates, counts_in, strict=True)):
        zone = index.get(loc)
        if zone is None:
            raise ScanInputError(f"case record {record}: location {loc!r} has no coordinates")
        offset = (day - first).days
        if not 0 <= offset < days:
            raise ScanInputError(
                f"case record {record}: date {day} is outside the study period {first}..{last}"
            )
        if n < 0:
            raise ScanInputError(f"case record {record}: count {n} is negative")
        counts[zone, offset] += n
    return ScanProblem(
        locations=tuple(locations),
        coordinates=np.asarray(coordinates, dtype=np.float64),
        start=first,
        counts=counts,
        population=None if population is None else np.asarray(population, dtype=np.float64),
        coordinate_system=coordinate_system,
    )
