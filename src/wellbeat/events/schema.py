"""The canonical event: one schema for every sector (see docs/events.md).

Two shapes of the same event exist:

* ``BATCH_SCHEMA`` is what ``wellbeat prepare`` writes at the source and what travels to the
  hub. Scalars are strings (ISO 8601 timestamps, decimal numbers) so that a value the source
  could not convert still reaches ingest, where it is validated and, if bad, quarantined with
  its row number, field and reason instead of being dropped at the source unseen.
* ``EVENT_SCHEMA`` is the typed row in the hub's lake, after validation. Ingest adds one
  ``area_<layer>`` column per geography layer, the H3 cell and the batch id.
"""

from __future__ import annotations

import re
from enum import StrEnum

import pyarrow as pa

SCHEMA_VERSION = "1"
H3_RESOLUTION = 9
AREA_PREFIX = "area_"
OUTSIDE_AREA = "__outside__"
"""Area value for a point that falls in no area of a layer: kept and marked, never dropped."""


class Sector(StrEnum):
    POLICE = "police"
    FIRE_EMS = "fire_ems"
    EMERGENCY_DEPT = "emergency_dept"
    HOSPITAL = "hospital"
    PUBLIC_HEALTH = "public_health"
    MEDICAL_EXAMINER = "medical_examiner"
    BEHAVIORAL_HEALTH = "behavioral_health"
    COMMUNITY = "community"


class Kind(StrEnum):
    CALL_FOR_SERVICE = "call_for_service"
    INCIDENT = "incident"
    ARREST = "arrest"
    EMS_RESPONSE = "ems_response"
    ED_VISIT = "ed_visit"
    ASSAULT_ATTENDANCE = "assault_attendance"
    """An ED attendance for assault recorded to the Cardiff (ISTV, ISB 1594) minimum dataset."""
    HOSPITAL_ADMISSION = "hospital_admission"
    DEATH = "death"
    CRISIS_CONTACT = "crisis_contact"
    OUTREACH_CONTACT = "outreach_contact"
    STOP = "stop"
    """An officer-initiated stop: traffic, pedestrian, bicycle or field interview (``stop_type``),
    with its reason, outcome, searches, contraband and citation as attributes."""
    USE_OF_FORCE = "use_of_force"
    """One use of force on one subject: force type, resistance and injuries as attributes."""


class Sensitivity(StrEnum):
    PHI = "phi"
    PART2 = "part2"
    """Substance-use-disorder treatment records under 42 CFR Part 2."""
    CJI = "cji"
    JUVENILE = "juvenile"


class Syndrome(StrEnum):
    """Derived syndromes an event can carry; ``wellbeat.events.syndromes`` assigns them."""

    OVERDOSE = "overdose"
    OPIOID_OVERDOSE = "opioid_overdose"
    HEROIN_OVERDOSE = "heroin_overdose"
    FENTANYL_OVERDOSE = "fentanyl_overdose"
    STIMULANT_OVERDOSE = "stimulant_overdose"
    BENZODIAZEPINE_OVERDOSE = "benzodiazepine_overdose"
    ASSAULT_INJURY = "assault_injury"
    FIREARM_INJURY = "firearm_injury"
    SELF_HARM = "self_harm"
    SUICIDAL_IDEATION = "suicidal_ideation"
    MENTAL_HEALTH_CRISIS = "mental_health_crisis"
    ALCOHOL_INTOXICATION = "alcohol_intoxication"
    HOMELESSNESS = "homelessness"
    DOMESTIC_VIOLENCE = "domestic_violence"
    VIOLENT_CRIME = "violent_crime"
    """A NIBRS crime against persons (FBI NIBRS offense category "person")."""


SYNDROMES: tuple[str, ...] = tuple(s.value for s in Syndrome)


SEXES = ("female", "male", "other", "unknown")

SEX_SYNONYMS: dict[str, str] = {
    "m": "male",
    "male": "male",
    "man": "male",
    "f": "female",
    "female": "female",
    "woman": "female",
    "o": "other",
    "other": "other",
    "x": "other",
    "nonbinary": "other",
    "non binary": "other",
    "u": "unknown",
    "unk": "unknown",
    "unknown": "unknown",
    "not recorded": "unknown",
    "not applicable": "unknown",
}
"""The one list of spellings sources use for sex, each to a value of ``SEXES``. Keys are in
the form ``sex_key`` gives: lower case, each run of other characters one space. Used by
``wellbeat prepare`` (a spelling not here is left for validation to refuse) and by the person
pseudonym (where "unknown" is no sex recorded)."""

_NOT_SEX_KEY = re.compile(r"[^a-z0-9]+")


def sex_key(text: str) -> str:
    """``text`` as a ``SEX_SYNONYMS`` key: "Non-Binary " -> "non binary"."""
    return _NOT_SEX_KEY.sub(" ", text.lower()).strip()


AGE_BANDS = (*(f"{lo}-{lo + 4}" for lo in range(0, 90, 5)), "90+")
CODE_NAMESPACES = ("nibrs", "icd10cm", "icd10", "nemsis", "apco", "sdoh", "local", "rxnorm", "istv")
"""Code namespaces: icd10cm for clinical diagnoses; icd10 (WHO) for causes of death."""


def age_band(age: int) -> str:
    """Five-year band for an age in whole years; ages over 89 collapse to "90+" (Safe Harbor)."""
    if age < 0:
        raise ValueError(f"age must be >= 0, got {age}")
    if age >= 90:
        return "90+"
    lo = (age // 5) * 5
    return f"{lo}-{lo + 4}"


def area_column(layer: str) -> str:
    """Lake column holding the area id of each event in geography layer ``layer``."""
    return f"{AREA_PREFIX}{layer}"


_STRINGS = pa.list_(pa.string())
_ATTRIBUTES = pa.map_(pa.string(), pa.string())
_UTC = pa.timestamp("us", tz="UTC")

BATCH_SCHEMA = pa.schema(
    [
        pa.field("row_number", pa.int64(), nullable=False),  # 1-based line in the source extract
        pa.field("event_id", pa.string()),
        pa.field("agency", pa.string()),
        pa.field("sector", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("occurred_at", pa.string()),
        pa.field("reported_at", pa.string()),
        pa.field("lat", pa.string()),
        pa.field("lon", pa.string()),
        pa.field("codes", _STRINGS),
        pa.field("syndromes", _STRINGS),
        pa.field("person_token", pa.string()),
        pa.field("linkage_code", pa.binary()),
        pa.field("age_band", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("attributes", _ATTRIBUTES),
        pa.field("sensitivity", _STRINGS),
    ],
    metadata={"wellbeat_schema": f"batch/{SCHEMA_VERSION}"},
)

EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("agency", pa.string(), nullable=False),
        pa.field("sector", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("occurred_at", _UTC, nullable=False),
        pa.field("reported_at", _UTC),
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
        pa.field("h3", pa.string()),
        pa.field("codes", _STRINGS),
        pa.field("syndromes", _STRINGS),
        pa.field("person_token", pa.string()),
        pa.field("linkage_code", pa.binary()),
        pa.field("age_band", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("attributes", _ATTRIBUTES),
        pa.field("sensitivity", _STRINGS),
        pa.field("batch_id", pa.string(), nullable=False),
    ],
    metadata={"wellbeat_schema": f"event/{SCHEMA_VERSION}"},
)
"""The lake row without its area columns; ``lake_schema(layers)`` adds them."""


LOCAL_DAY = "local_day"
"""Lake column: the event's local calendar day (``occurred_at`` in the hub's time zone, or its
area's zone), derived at ingest. Every period is cut from it; timestamps stay UTC."""


def lake_schema(layers: list[str]) -> pa.Schema:
    """EVENT_SCHEMA plus one ``area_<layer>`` string column per geography layer, in order,
    then the derived ``local_day``."""
    schema = EVENT_SCHEMA
    for i, layer in enumerate(layers):
        schema = schema.insert(8 + i, pa.field(area_column(layer), pa.string()))
    return schema.insert(8 + len(layers), pa.field(LOCAL_DAY, pa.date32()))
