"""Cardiff Model ED assault records (NHS ISTV, ISB 1594), shared for violence prevention.

Every row is an assault attendance: ``assault_injury``. The free-text or local-code weapon and
location are grouped into the ISB 1594 categories as ``weapon_category`` and
``location_category`` attributes, so partners can count "knife assaults in licensed premises"
without the text leaving the hospital. A firearm adds ``firearm_injury``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import Kind, Sector, Sensitivity, Syndrome
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    add_to_lists,
    attribute,
    constant_lists,
    lists_where,
    with_attributes,
    with_classified_syndromes,
    with_sensitivity,
)

# Groupings of the ISB 1594 "assault weapon or body part" and "assault location type" items,
# matched case-insensitively on whole words, first match wins. Source: NHS Digital, ISB 1594
# Information Sharing to Tackle Violence Minimum Dataset, data items and their national codes.
WEAPON_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("firearm", r"\b(fire ?arms?|guns?|gunshot|shot|pistol|rifle|shotgun)\b"),
    ("knife_sharp", r"\b(knife|knives|blade|stab\w*|sharp|machete|screwdriver|scissors)\b"),
    ("glass_bottle", r"\b(glass\w*|bottles?)\b"),
    ("blunt_object", r"\b(blunt|bat|baseball|stick|club|hammer|bar|brick|stone|pole|object)\b"),
    ("body_part", r"\b(body|fists?|punch\w*|kick\w*|feet|foot|hands?|head ?butt\w*|elbow|knee)\b"),
)
LOCATION_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("licensed_premises", r"\b(pub|bar|club|nightclub|night club|licensed|inn|tavern)\b"),
    ("home", r"\b(home|house|flat|apartment|residence|dwelling|own home)\b"),
    ("public_transport", r"\b(bus|train|station|tram|taxi|transport|subway|metro)\b"),
    ("education", r"\b(school|college|university|campus)\b"),
    ("workplace", r"\b(work|workplace|office|shop|store|hospital)\b"),
    ("street_public", r"\b(street|road|park|outside|public|alley|car park|parking|square)\b"),
)
OTHER = "other"


def categorise(values: pa.Array, categories: tuple[tuple[str, str], ...]) -> pa.Array:
    """The first category whose pattern matches each value; ``other`` when none; null stays."""
    result = pa.nulls(len(values), pa.string())
    for name, pattern in categories:
        hit = pc.fill_null(pc.match_substring_regex(values, pattern, ignore_case=True), False)
        result = pc.if_else(pc.and_(hit, pc.is_null(result)), name, result)
    return pc.if_else(pc.and_(pc.is_valid(values), pc.is_null(result)), OTHER, result)


def _first_present(
    rows: SourceRows, attributes: tuple[str, ...], texts: tuple[str, ...]
) -> pa.Array:
    found = pa.nulls(rows.events.num_rows, pa.string())
    for name in attributes:
        found = pc.coalesce(found, attribute(rows.events, name))
    for name in texts:
        if name in rows.text:
            found = pc.coalesce(found, rows.text[name])
    return found


def derive(rows: SourceRows) -> pa.Table:
    """``assault_injury`` (and ``firearm_injury``), ``phi``, weapon and location categories."""
    weapon = categorise(
        _first_present(rows, ("weapon", "assault_method"), ("assault_method", "weapon")),
        WEAPON_CATEGORIES,
    )
    location = categorise(
        _first_present(rows, ("location_type",), ("location_description", "location_type")),
        LOCATION_CATEGORIES,
    )
    events = with_classified_syndromes(rows)
    firearm = pc.fill_null(pc.equal(weapon, "firearm"), False).to_numpy(zero_copy_only=False)
    events = add_to_lists(
        events,
        "syndromes",
        constant_lists(events.num_rows, (Syndrome.ASSAULT_INJURY.value,)),
        lists_where(np.asarray(firearm), Syndrome.FIREARM_INJURY.value),
    )
    events = with_attributes(events, {"weapon_category": weapon, "location_category": location})
    return with_sensitivity(events, Sensitivity.PHI.value)


CONNECTOR = Connector(
    name="cardiff_assault",
    description="Cardiff Model ED assault attendances (ISTV minimum dataset, ISB 1594)",
    derive=derive,
    sector=Sector.EMERGENCY_DEPT.value,
    kind=Kind.ASSAULT_ATTENDANCE.value,
)
