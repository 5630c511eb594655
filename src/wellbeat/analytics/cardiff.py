"""The Cardiff violence picture: ED-recorded (ISTV) assaults next to police-recorded violence.

Framework-free: every function takes event rows already released by the governed service (a
pyarrow table or pandas frame with ``agency``, ``kind``, ``occurred_at``, an area column,
``attributes`` and, for completeness, ``lat``/``lon``) and returns pandas frames.

- **ED violence** is every Cardiff Model assault attendance (kind ``assault_attendance``, the
  ``cardiff_assault`` connector's ISB 1594 rows); **police-recorded violence** is every police
  incident carrying the ``violent_crime`` syndrome (NIBRS crimes against persons, the
  ``violent_crime`` indicator's numerator). CAD calls are not recorded crime and are left out.
- **Time of week** is the local weekday and a three-hour band of the assault time (in the hub's
  time zone), so the night-time economy's Friday and Saturday nights stand out.
- **Hidden violence** (see ``hidden_violence``): per place, the ED count beyond what the
  police count predicts at the city-wide ED-to-police ratio.
- **Monthly summary**: the anonymised table a Cardiff Model ED sends the community safety
  partnership (top places, times of week, weapons), with small cells suppressed.
- **Completeness**: per month, the share of ED rows with each ISTV field.

References: Florence C, Shepherd J, Brennan I, Simon T. Effectiveness of anonymised information
sharing and use in health service, police, and local government partnership for preventing
violence related injury: experimental study and time series analysis. BMJ 2011;342:d3313.
Cardiff University Violence Research Group, *The Cardiff Model for Violence Prevention* (CDC
toolkit, 2014); NHS Digital ISB 1594 Information Sharing to Tackle Violence minimum dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

ED_KIND = "assault_attendance"
POLICE_SECTOR = "police"
POLICE_KIND = "incident"
POLICE_SYNDROME = "violent_crime"

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BAND_HOURS = 3
HOUR_BANDS = tuple(f"{h:02d}-{h + BAND_HOURS:02d}" for h in range(0, 24, BAND_HOURS))

ISTV_FIELDS: tuple[tuple[str, str], ...] = (
    ("assault_time", "date and time of assault"),
    ("precise_location", "precise location"),
    ("weapon", "weapon or body part"),
    ("assailants", "number of assailants"),
    ("relationship", "relationship to assailant"),
)
"""The ISTV fields whose completeness a Cardiff Model lives by, as (column, label)."""

MISSING_WORDS = frozenset({"", "unknown", "not known", "not recorded", "n/a", "na", "none"})
"""Values reception staff type for "not asked / not known": they count as missing."""

MIN_ED_FOR_RANKING = 5
"""Places with fewer ED assaults than this are listed but not ranked (too few to tell)."""

DEFAULT_MIN_CELL = 5
"""Smallest count published in the monthly summary when no agreement sets one."""


class CardiffError(ValueError):
    """Rows the Cardiff picture cannot use, naming the column and reason."""


@dataclass(frozen=True)
class Violence:
    """Violence events of both sources, one row each: ``source`` (ed/police), ``area``,
    ``occurred_at`` (local), ``weekday``, ``band``, ``month`` and the ISTV attributes."""

    rows: pd.DataFrame
    area_column: str


def _attribute_dicts(values: Iterable[Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for value in values:
        if value is None:
            out.append({})
        elif isinstance(value, Mapping):
            out.append({str(k): str(v) for k, v in value.items() if v is not None})
        else:  # a map column read as a list of (key, value) pairs
            out.append({str(k): str(v) for k, v in value if v is not None})
    return out


def _has_syndrome(values: Iterable[Any], syndrome: str) -> list[bool]:
    return [value is not None and syndrome in list(value) for value in values]


def violence_rows(table: pa.Table | pd.DataFrame, area_column: str, time_zone: str) -> Violence:
    """ED and police violence rows from released event rows (other rows are left out).

    ``table`` needs ``kind``, ``sector``, ``syndromes``, ``occurred_at``, ``attributes`` and
    ``area_column``; ``lat``/``lon`` are used for the precise-location field when present.
    """
    frame = table.to_pandas() if isinstance(table, pa.Table) else table.copy()
    needed = ["kind", "sector", "syndromes", "occurred_at", "attributes", area_column]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise CardiffError(f"rows lack column(s) {', '.join(missing)}")
    ed = (frame["kind"] == ED_KIND).to_numpy()
    police = (
        (frame["sector"] == POLICE_SECTOR)
        & (frame["kind"] == POLICE_KIND)
        & pd.Series(_has_syndrome(frame["syndromes"], POLICE_SYNDROME), index=frame.index)
    ).to_numpy()
    frame = frame[ed | police].copy()
    frame["source"] = np.where(ed[ed | police], "ed", "police")
    when = pd.to_datetime(frame["occurred_at"], utc=True)
    local = when.dt.tz_convert(ZoneInfo(time_zone))
    frame["occurred_at"] = local
    frame["weekday"] = [WEEKDAYS[d] if d == d else None for d in local.dt.day_of_week]
    frame["band"] = [HOUR_BANDS[int(h) // BAND_HOURS] if h == h else None for h in local.dt.hour]
    frame["month"] = [t.strftime("%Y-%m") if t is not pd.NaT else None for t in local]
    attributes = _attribute_dicts(frame["attributes"])
    for name in ("weapon", "weapon_category", "location_category", "location_description",
                 "location_type", "assailants", "relationship"):  # fmt: skip
        frame[name] = [a.get(name) for a in attributes]
    frame["area"] = frame[area_column]
    if "lat" not in frame.columns:
        frame["lat"] = None
        frame["lon"] = None
    return Violence(frame.reset_index(drop=True), area_column)


def _present(values: pd.Series) -> np.ndarray:
    return np.array(
        [v is not None and v == v and str(v).strip().lower() not in MISSING_WORDS for v in values],
        dtype=bool,
    )


def by_place(violence: Violence) -> pd.DataFrame:
    """Per area: ``ed`` and ``police`` counts (places neither source saw are absent)."""
    rows = violence.rows[violence.rows["area"].notna()]
    table = pd.crosstab(rows["area"], rows["source"])
    for source in ("ed", "police"):
        if source not in table.columns:
            table[source] = 0
    table = table[["ed", "police"]].astype(int).reset_index()
    table.columns.name = None
    return table.sort_values("area", ignore_index=True)


def by_time_of_week(violence: Violence, source: str | None = None) -> pd.DataFrame:
    """Per weekday x three-hour band (local time): ``ed`` and ``police`` counts, every one of
    the 56 cells present (zeros included)."""
    rows = violence.rows[violence.rows["weekday"].notna()]
    grid = pd.MultiIndex.from_product([WEEKDAYS, HOUR_BANDS], names=["weekday", "band"])
    out = pd.DataFrame(index=grid)
    for name in ("ed", "police"):
        part = rows[rows["source"] == name]
        out[name] = part.groupby(["weekday", "band"]).size().reindex(grid, fill_value=0)
    return out.astype(int).reset_index()


def hidden_violence(violence: Violence, min_ed: int = MIN_ED_FOR_RANKING) -> pd.DataFrame:
    """Places EDs see and police do not, most hidden first.

    With ``E`` the ED count and ``P`` the police count of a place, and ``r = ΣE / ΣP`` the
    city-wide ratio of ED to police violence, ``expected_ed = r · P`` is the ED count the
    place's police count predicts, and ``hidden = E − expected_ed`` the ED violence beyond it
    (``r`` is 1 when police recorded nothing anywhere). Places with fewer than ``min_ed`` ED
    assaults are not ranked (``rank`` empty): a ratio of two small counts says nothing.
    ``ratio = (E + 0.5) / (P + 0.5)`` is shown for reading, not ranked on.

    Columns: area, ed, police, expected_ed, hidden, ratio, rank (1 = most hidden).
    """
    table = by_place(violence)
    total_ed, total_police = int(table["ed"].sum()), int(table["police"].sum())
    r = total_ed / total_police if total_police else 1.0
    table["expected_ed"] = (r * table["police"]).round(3)
    table["hidden"] = (table["ed"] - r * table["police"]).round(3)
    table["ratio"] = ((table["ed"] + 0.5) / (table["police"] + 0.5)).round(3)
    table = table.sort_values(
        ["hidden", "ed", "area"], ascending=[False, False, True], ignore_index=True
    )
    table["rank"] = pd.array([pd.NA] * len(table), dtype="Int64")
    eligible = table["ed"] >= min_ed
    table.loc[eligible, "rank"] = np.arange(1, int(eligible.sum()) + 1)
    return table


def completeness(violence: Violence) -> pd.DataFrame:
    """Per month (local month of the assault) of ED rows: ``rows`` and, per ISTV field, the
    share of rows where it is recorded (``None`` and "unknown"-like text count as missing).

    Precise location is a location description or coordinates (lat and lon)."""
    ed = violence.rows[violence.rows["source"] == "ed"]
    columns = ["month", "rows", *(name for name, _ in ISTV_FIELDS)]
    if ed.empty:
        return pd.DataFrame(columns=columns)
    flags = pd.DataFrame(
        {
            "month": ed["month"].to_numpy(),
            "assault_time": ed["occurred_at"].notna().to_numpy(),
            "precise_location": _present(ed["location_description"])
            | (ed["lat"].notna() & ed["lon"].notna()).to_numpy(),
            "weapon": _present(ed["weapon"]) | _present(ed["weapon_category"]),
            "assailants": _present(ed["assailants"]),
            "relationship": _present(ed["relationship"]),
        }
    )
    grouped = flags.groupby("month", dropna=False)
    out = grouped.mean().round(4)
    out.insert(0, "rows", grouped.size())
    return out.reset_index()[columns]


def _suppress(section: pd.DataFrame, k: int) -> pd.DataFrame:
    """Primary suppression of counts below ``k``, then secondary: when exactly one cell of a
    section is hidden, the next smallest is hidden too, so the section's published total cannot
    give it back."""
    section = section.sort_values(["count", "item"], ascending=[False, True], ignore_index=True)
    hidden = (section["count"] > 0) & (section["count"] < k)
    if int(hidden.sum()) == 1 and len(section) > 1:
        visible = section.index[~hidden & (section["count"] > 0)]
        if len(visible):
            hidden.loc[visible[-1]] = True
    section["suppressed"] = hidden
    section["count"] = section["count"].astype("Int64").mask(hidden)
    # Published counts largest first; hidden ones after them in name order, so their order
    # does not rank what is hidden.
    shown, withheld = section[~hidden], section[hidden].sort_values("item")
    return pd.concat([shown, withheld], ignore_index=True)


def monthly_summary(
    violence: Violence, month: str, *, min_cell: int = DEFAULT_MIN_CELL, top: int = 10
) -> pd.DataFrame:
    """The anonymised monthly summary a Cardiff Model ED shares with the community safety
    partnership: ED assaults of ``month`` (YYYY-MM, local) by place, location type, time of
    week and weapon, the ``top`` largest of each, every count below ``min_cell`` suppressed.

    Columns: section (total, place, location, time_of_week, weapon), item, count (empty when
    suppressed), suppressed. Zero cells are not listed."""
    if min_cell < 1:
        raise CardiffError(f"min_cell must be >= 1, got {min_cell}")
    ed = violence.rows[(violence.rows["source"] == "ed") & (violence.rows["month"] == month)]
    sections: list[pd.DataFrame] = []
    total = len(ed)
    sections.append(
        _suppress(
            pd.DataFrame({"item": ["ED assault attendances"], "count": [total]}), min_cell
        ).assign(section="total")
    )
    weapon = [
        w if w is not None else c for w, c in zip(ed["weapon"], ed["weapon_category"], strict=True)
    ]
    time_of_week = [
        f"{d} {b}" if d is not None else None
        for d, b in zip(ed["weekday"], ed["band"], strict=True)
    ]
    for name, values in (
        ("place", list(ed["area"])),
        ("location", list(ed["location_category"])),
        ("time_of_week", time_of_week),
        ("weapon", weapon),
    ):
        labels = ["(not recorded)" if v is None or v != v else str(v) for v in values]
        counts = pd.Series(labels, dtype=object).value_counts()
        part = pd.DataFrame({"item": counts.index.astype(str), "count": counts.to_numpy()})
        part = _suppress(part, min_cell).head(top)
        sections.append(part.assign(section=name))
    out = pd.concat(sections, ignore_index=True)
    return out[["section", "item", "count", "suppressed"]]
