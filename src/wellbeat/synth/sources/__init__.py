"""The agencies of the synthetic city and the extracts each one exports."""

from __future__ import annotations

from wellbeat.synth.sources import community, ems, examiner, hospital, police
from wellbeat.synth.sources.base import Source

AGENCIES: dict[str, tuple[str, str]] = {
    police.AGENCY: (police.AGENCY_NAME, "police"),
    ems.AGENCY: (ems.AGENCY_NAME, "fire_ems"),
    hospital.SMH_CODE: (hospital.SMH_NAME, "emergency_dept"),
    hospital.CGH_CODE: (hospital.CGH_NAME, "emergency_dept"),
    community.CHD: (community.CHD_NAME, "public_health"),
    examiner.AGENCY: (examiner.AGENCY_NAME, "medical_examiner"),
    community.NBH: (community.NBH_NAME, "behavioral_health"),
}
"""Agency code -> (name, sector), in city.json order."""

SOURCES: tuple[Source, ...] = (
    police.CAD,
    police.NIBRS,
    ems.RUNS,
    hospital.SMH_ED,
    hospital.SMH_CARDIFF,
    hospital.CGH_ED,
    community.OUTREACH,
    examiner.DEATHS,
    community.CRISIS,
    community.SUD_FOLLOWUP,
    police.STOPS,
    police.FORCE,
)
"""Every source. Each renders from a random stream of its own numbered by its place here, so new
sources are added at the end (the others then write exactly what they wrote before)."""
