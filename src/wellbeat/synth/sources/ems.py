"""Millbrook Fire & Rescue (MFR): EMS patient care reports, NEMSIS-like, as NDJSON.

Timestamps are ISO 8601 with the zone offset (as NEMSIS dateTime values are). Impressions are
ICD-10-CM; dispatch reasons are MFR's wording, mapped to NEMSIS eDispatch.01 codes; medications
are names mapped to RxNorm; naloxone response uses NEMSIS eMedications.07 codes (9916001
Improved, 9916003 Unchanged, 9916005 Worse).
"""

from __future__ import annotations

import numpy as np

from wellbeat.synth.population import IdentityNoise
from wellbeat.synth.scenarios import IMPROVED, UNCHANGED, WORSE, subtype_column
from wellbeat.synth.sources.base import (
    RenderContext,
    Rendered,
    Source,
    age_at,
    blank_to_null,
    chronological,
    code_map,
    format_dates,
    iso_with_offset,
    join,
    minutes,
    observed,
    pick,
    profile,
    record_numbers,
    weighted,
    year_of,
    zero_pad,
)

AGENCY = "MFR"
AGENCY_NAME = "Millbrook Fire & Rescue"

DISPATCH_TO_NEMSIS = {
    "Abdominal Pain": "2301001",
    "Assault": "2301007",
    "Breathing Problem": "2301013",
    "Cardiac Arrest/Death": "2301019",
    "Chest Pain": "2301021",
    "Diabetic Problem": "2301027",
    "Falls": "2301033",
    "Overdose/Poisoning": "2301053",
    "Psychiatric/Suicide Attempt": "2301059",
    "Sick Person": "2301061",
    "Stab/Gunshot Wound": "2301063",
    "Traffic Accident": "2301069",
    "Well Person Check": "2301075",
    "Intoxicated Person": "2301079",
    "Unknown Problem": "2301079",
}
"""MFR's dispatch wording -> NEMSIS v3 eDispatch.01 (Complaint Reported by Dispatch)."""
MEDICATION_TO_RXNORM = {"Naloxone": "7242", "Oxygen": "7806", "Dextrose": "4850"}
RESPONSE_TO_NEMSIS = {"Improved": "9916001", "Unchanged": "9916003", "Worse": "9916005"}
_GENDER = {"female": "Female", "male": "Male", "unknown": "Unknown (Unable to Determine)"}

EMS_NOISE = IdentityNoise(
    missing_name=0.05, missing_dob=0.08, missing_ssn=0.6, missing_phone=0.3,
    missing_address=0.15, nickname=0.1, typo=0.05, dob_error=0.04,
)  # fmt: skip

_DISPATCH = subtype_column("dispatch")
_ICD = subtype_column("icd")
_OPIOID = subtype_column("opioid").astype(bool)
_KEY = subtype_column("key")


def _render(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions = np.flatnonzero(ep.ems)
    positions, notified = chronological(
        ctx, positions, ep.time[positions] + minutes(rng, 1, 6, len(positions))
    )
    n = len(positions)
    subtype = ep.subtype[positions]
    number = record_numbers(ctx, n)
    pcr = join("MFR", (year_of(notified) % 100).astype(str), "-", zero_pad(number, 7))
    person = ep.person[positions]
    who = observed(ctx, EMS_NOISE, person)

    dispatch = np.where(_DISPATCH[subtype] == "", "Unknown Problem", _DISPATCH[subtype])
    icd = _ICD[subtype]
    primary = np.array([codes[0] if codes else "R69" for codes in icd])
    secondary = np.array([codes[1] if len(codes) > 1 else "" for codes in icd])
    generic_opioid = _OPIOID[subtype] & (rng.random(n) < 0.25)
    primary = np.where(generic_opioid, "F11.920", primary)

    doses = ep.naloxone_doses[positions].astype(np.int64)
    response_code = ep.naloxone_response[positions]
    response = np.full(n, "", dtype=object)
    response[response_code == IMPROVED] = "Improved"
    response[response_code == UNCHANGED] = "Unchanged"
    response[response_code == WORSE] = "Worse"
    medication = np.where(doses > 0, "Naloxone", "")
    oxygen = np.isin(_KEY[subtype], ["breathing", "chest_pain"]) | (doses > 0) & (
        rng.random(n) < 0.5
    )
    medication = np.where(
        oxygen, np.where(medication == "", "Oxygen", "Naloxone|Oxygen"), medication
    )
    medication = np.where(_KEY[subtype] == "diabetic", "Dextrose", medication)

    fatal = ep.fatal[positions]
    transported = ep.transported[positions]
    disposition = np.where(
        fatal,
        "Dead at Scene",
        np.where(
            transported,
            "Transported",
            weighted(rng, ["Refused Care", "Treated and Released"], [0.6, 0.4], n),
        ),
    )
    destination = np.where(transported, np.where(ep.ed_site[positions] == 0, "SMH", "CGH"), "")
    narrative = join(
        pick(
            [(
                "Pt found supine, agonal resp. ", "Pt found responsive, AOx3. ",
                "Pt combative on arrival, PD on scene. ", "Pt sitting on curb, states he is fine. ",
            )], np.zeros(n, np.int64), rng,
        ),
        np.where(doses > 0, join("Narcan ", doses.astype(str), "x 4mg IN. "), ""),
        np.where(response == "Improved", "Pt became responsive. ", ""),
        np.where(disposition == "Refused Care", "Pt refused transport, denies overdose. ", ""),
        np.where(who.first != "", join("Pt ID'd as ", who.first, " ", who.last, "."), ""),
    )  # fmt: skip
    return Rendered(
        columns={
            "PcrNumber": pcr,
            "UnitNotified": iso_with_offset(notified),
            "PcrCompleted": iso_with_offset(notified + minutes(rng, 40, 240, n)),
            "DispatchReason": dispatch,
            "PrimaryImpression": primary,
            "SecondaryImpression": blank_to_null(secondary),
            "MedicationsGiven": blank_to_null(medication),
            "NaloxoneDoses": doses,
            "NaloxoneResponse": blank_to_null(response.astype(str)),
            "PatientLastName": blank_to_null(who.last),
            "PatientFirstName": blank_to_null(who.first),
            "PatientDOB": blank_to_null(
                format_dates(who.dob, "%Y-%m-%d").to_numpy(zero_copy_only=False)
            ),
            "PatientGender": code_map(who.sex, _GENDER),
            "PatientAge": age_at(ctx.people.dob[person], notified),
            "PatientSSN": blank_to_null(who.ssn),
            "PatientPhone": blank_to_null(who.phone),
            "PatientHomeAddress": blank_to_null(who.address),
            "PatientZip": who.zip,
            "SceneLatitude": ep.lat[positions],
            "SceneLongitude": ep.lon[positions],
            "Disposition": disposition,
            "Transported": np.where(transported, "Yes", "No"),
            "Destination": blank_to_null(destination),
            "Narrative": narrative,
        },
        episode=positions,
        event_id=np.asarray(pcr.to_numpy(zero_copy_only=False)).astype(str),
        occurred=notified,
    )


RUNS = Source(
    agency=AGENCY,
    name="runs",
    connector="ems_run",
    format="ndjson",
    description="EMS patient care reports (NEMSIS-like) from the ePCR system",
    noise=EMS_NOISE,
    profile=profile(
        name="mfr-ems-runs",
        connector="ems_run",
        agency=AGENCY,
        sector="fire_ems",
        kind="ems_response",
        format="ndjson",
        fields={
            "event_id": {"column": "PcrNumber"},
            "occurred_at": {"column": "UnitNotified"},
            "reported_at": {"column": "PcrCompleted"},
            "lat": {"column": "SceneLatitude"},
            "lon": {"column": "SceneLongitude"},
            "sex": {
                "column": "PatientGender",
                "map": {
                    "Female": "female",
                    "Male": "male",
                    "Unknown (Unable to Determine)": "unknown",
                },
            },
            "age_band": {"column": "PatientAge"},
        },
        codes=[
            {"column": "DispatchReason", "namespace": "nemsis", "map": DISPATCH_TO_NEMSIS},
            {"column": "PrimaryImpression", "namespace": "icd10cm"},
            {"column": "SecondaryImpression", "namespace": "icd10cm"},
            {
                "column": "MedicationsGiven",
                "namespace": "rxnorm",
                "map": MEDICATION_TO_RXNORM,
                "split": "|",
            },
        ],
        attributes={
            "naloxone_doses": {"column": "NaloxoneDoses"},
            "naloxone_response": {"column": "NaloxoneResponse", "map": RESPONSE_TO_NEMSIS},
            "disposition": {"column": "Disposition"},
            "transported": {"column": "Transported", "map": {"Yes": "true", "No": "false"}},
            "fatal": {
                "column": "Disposition",
                "map": {
                    "Dead at Scene": "true",
                    "Transported": "false",
                    "Refused Care": "false",
                    "Treated and Released": "false",
                },
            },
            "destination": {"column": "Destination"},
        },
        identity={
            "first_name": "PatientFirstName",
            "last_name": "PatientLastName",
            "dob": "PatientDOB",
            "dob_format": "%Y-%m-%d",
            "sex": "PatientGender",
            "ssn": "PatientSSN",
            "phone": "PatientPhone",
            "address": "PatientHomeAddress",
            "zip": "PatientZip",
        },
        keep_text={"narrative": "Narrative"},
        sensitivity=["phi"],
    ),
    render=_render,
)
