"""Office of the Medical Examiner (OME): death investigations with ICD-10 cause-of-death codes.

Causes are ICD-10 mortality codes as death certificates carry them: the underlying cause
(X42 accidental narcotic poisoning, X95 assault by firearm, I25.1 atherosclerotic heart
disease...) and contributing T-codes (T40.4 synthetic opioids). The profile files them under
the ``icd10cm`` namespace, the only ICD-10 namespace in events.schema.
"""

from __future__ import annotations

import numpy as np

from wellbeat.synth.population import IdentityNoise
from wellbeat.synth.scenarios import subtype_column
from wellbeat.synth.sources.base import (
    RenderContext,
    Rendered,
    Source,
    age_at,
    chronological,
    code_map,
    format_dates,
    format_times,
    join,
    minutes,
    observed,
    pick,
    positions_in,
    profile,
    record_numbers,
    recorded,
    weighted,
    year_of,
    zero_pad,
)

AGENCY = "OME"
AGENCY_NAME = "Office of the Medical Examiner"

ME_NOISE = IdentityNoise(
    missing_name=0.02, missing_first=0.0, missing_dob=0.03, missing_ssn=0.15,
    missing_phone=0.95, missing_address=0.08, nickname=0.0, typo=0.02, dob_error=0.01,
)  # fmt: skip
_SEX = {"female": "Female", "male": "Male", "unknown": "Unknown"}
_UNDERLYING = np.array([c[0] if c else "R99" for c in subtype_column("cause")])
_CONTRIBUTING = np.array([";".join(c[1:]) for c in subtype_column("cause")])
_MANNER = subtype_column("manner")
_KEY = subtype_column("key")
_CAUSE_TEXT = {
    "fentanyl": ("Acute fentanyl toxicity", "Fentanyl and methamphetamine toxicity"),
    "heroin": ("Acute heroin toxicity", "Combined heroin and fentanyl toxicity"),
    "opioid_pills": ("Oxycodone toxicity",),
    "cocaine": ("Cocaine toxicity",),
    "methamphetamine": ("Methamphetamine toxicity",),
    "knife": ("Stab wound of chest",),
    "firearm": ("Gunshot wound of torso", "Gunshot wound of head"),
    "natural": ("Atherosclerotic cardiovascular disease", "Hypertensive heart disease"),
    "fall": ("Blunt head trauma due to fall",),
    "suicide": ("Hanging",),
    "traffic": ("Multiple blunt force injuries, motor vehicle collision",),
    "undetermined": ("Undetermined",),
}
_KEYS = tuple(_CAUSE_TEXT)


def _render(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions = np.flatnonzero(ep.fatal)
    positions, died = chronological(
        ctx, positions, ep.time[positions] + minutes(rng, 0, 90, len(positions))
    )
    n = len(positions)
    case = join("ME", (year_of(died) % 100).astype(str), "-", zero_pad(record_numbers(ctx, n), 5))
    person = ep.person[positions]
    who = observed(ctx, ME_NOISE, person)
    subtype = ep.subtype[positions]
    underlying = _UNDERLYING[subtype]
    contributing = _CONTRIBUTING[subtype]
    polysubstance = (contributing == "T40.4") & (rng.random(n) < 0.3)
    contributing = np.where(polysubstance, "T40.4;T43.6", contributing)
    cause_text = pick(
        [*(_CAUSE_TEXT[k] for k in _KEYS), ("Pending investigation",)],
        positions_in(_KEY[subtype], _KEYS),
        rng,
    )
    place = np.where(
        ep.at_home[positions],
        "Decedent's home",
        weighted(
            rng, ["Street", "Other residence", "Vehicle", "Business", "Park"], [4, 3, 1, 1, 1], n
        ),
    )
    unidentified = who.last == ""
    return Rendered(
        columns={
            "CaseNumber": case,
            "DeathDateTime": format_times(died, "%m/%d/%Y %H:%M"),
            "ReportedDateTime": format_times(
                recorded(ctx, died + minutes(rng, 120, 72 * 60, n)), "%m/%d/%Y %H:%M"
            ),
            "DecedentLast": np.where(unidentified, "UNKNOWN", who.last),
            "DecedentFirst": np.where(unidentified, "UNKNOWN", who.first),
            "DOB": format_dates(who.dob, "%m/%d/%Y"),
            "Age": age_at(ctx.people.dob[person], died),
            "Sex": code_map(who.sex, _SEX),
            "SSN": who.ssn,
            "ResidenceAddress": who.address,
            "ResidenceZip": who.zip,
            "InjuryLatitude": ep.lat[positions],
            "InjuryLongitude": ep.lon[positions],
            "DeathPlaceType": place,
            "MannerOfDeath": _MANNER[subtype],
            "UnderlyingCause": underlying,
            "ContributingCauses": contributing,
            "CauseOfDeathText": cause_text,
            "Narrative": join(
                "Decedent ",
                who.first,
                " ",
                who.last,
                " found by ",
                weighted(rng, ["family", "roommate", "passerby", "police"], [3, 2, 2, 1], n),
                np.where(
                    ep.naloxone_doses[positions] > 0, "; naloxone given by EMS without response", ""
                ),
                ".",
            ),
        },
        episode=positions,
        event_id=np.asarray(case.to_numpy(zero_copy_only=False)).astype(str),
        occurred=died,
    )


DEATHS = Source(
    agency=AGENCY,
    name="deaths",
    connector="medical_examiner",
    format="csv",
    description="deaths investigated by the medical examiner, with cause-of-death codes",
    noise=ME_NOISE,
    profile=profile(
        name="ome-deaths",
        connector="medical_examiner",
        agency=AGENCY,
        sector="medical_examiner",
        kind="death",
        format="csv",
        fields={
            "event_id": {"column": "CaseNumber"},
            "occurred_at": {"column": "DeathDateTime", "format": "%m/%d/%Y %H:%M"},
            "reported_at": {"column": "ReportedDateTime", "format": "%m/%d/%Y %H:%M"},
            "lat": {"column": "InjuryLatitude"},
            "lon": {"column": "InjuryLongitude"},
            "sex": {
                "column": "Sex",
                "map": {"Male": "male", "Female": "female", "Unknown": "unknown"},
            },
            "age_band": {"column": "Age"},
        },
        codes=[
            {"column": "UnderlyingCause", "namespace": "icd10cm"},
            {"column": "ContributingCauses", "namespace": "icd10cm", "split": ";"},
        ],
        attributes={
            "manner": {"column": "MannerOfDeath"},
            "death_place_type": {"column": "DeathPlaceType"},
        },
        identity={
            "first_name": "DecedentFirst",
            "last_name": "DecedentLast",
            "dob": "DOB",
            "dob_format": "%m/%d/%Y",
            "sex": "Sex",
            "ssn": "SSN",
            "address": "ResidenceAddress",
            "zip": "ResidenceZip",
        },
        keep_text={"cause_of_death": "CauseOfDeathText"},
        sensitivity=["phi"],
    ),
    render=_render,
)
