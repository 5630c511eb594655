"""The two emergency departments and St. Mary's Cardiff Model assault records.

St. Mary's (SMH) sends an NSSP-style syndromic CSV (semicolon-separated discharge diagnoses);
County General (CGH) sends a Parquet export from its EHR with one column per diagnosis. SMH's
reception staff also complete the Cardiff ISTV minimum dataset (ISB 1594) for assault
attendances: arrival and assault date/time, method/weapon, location type and description.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.synth.episodes import CGH, HOTSPOT, SMH
from wellbeat.synth.names import STREET_SUFFIXES, STREETS, VENUES
from wellbeat.synth.population import IdentityNoise
from wellbeat.synth.scenarios import SCENARIO_INDEX, subtype_column
from wellbeat.synth.sources.base import (
    RenderContext,
    Rendered,
    Source,
    age_at,
    blank_to_null,
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
    zero_pad,
)

SMH_CODE, SMH_NAME = "SMH", "St. Mary's Hospital"
CGH_CODE, CGH_NAME = "CGH", "County General Hospital"

ED_NOISE = IdentityNoise(
    missing_name=0.01, missing_first=0.005, missing_dob=0.01, missing_ssn=0.55,
    missing_phone=0.12, missing_address=0.06, nickname=0.05, typo=0.03, dob_error=0.02,
)  # fmt: skip
CARDIFF_NOISE = IdentityNoise(
    missing_name=0.02, missing_dob=0.05, missing_ssn=1.0, missing_phone=1.0,
    missing_address=1.0, nickname=0.08, typo=0.04, dob_error=0.03,
)  # fmt: skip

_CODE = tuple(
    np.array([codes[i] if len(codes) > i else "" for codes in subtype_column("icd")])
    for i in range(2)
)
_COMPLAINTS = subtype_column("complaints")
_KEY = subtype_column("key")
_OPIOID = subtype_column("opioid").astype(bool)
_METHOD = subtype_column("method")
_SEX = {"female": "F", "male": "M", "unknown": "U"}
_SEX_DIGIT = {"female": "2", "male": "1", "unknown": "9"}
_TRIAGE = (
    "pt states symptoms started today",
    "pt denies drug use",
    "pt reports etoh tonight, denies other ingestion",
    "hx of depression, denies SI",
    "brought by friend",
    "pt poor historian",
    "denies overdose, states just tired",
)


def _visits(ctx: RenderContext, site: int) -> tuple[np.ndarray, np.ndarray]:
    ep = ctx.episodes
    positions = np.flatnonzero(ep.ed & (ep.ed_site == site))
    return chronological(ctx, positions, ep.ed_arrival[positions])


def _diagnoses(ctx: RenderContext, positions: np.ndarray) -> np.ndarray:
    """Discharge diagnoses per visit, one column per position ("" when absent).

    The episode's own codes come first, then common co-diagnoses: opioid dependence after an
    opioid overdose, alcohol after an assault, depression after a crisis.
    """
    ep = ctx.episodes
    rng = ctx.rng
    subtype = ep.subtype[positions]
    n = len(positions)
    scenario = ep.scenario[positions]
    first = np.where(_CODE[0][subtype] == "", "R69", _CODE[0][subtype])
    columns = np.stack(
        [
            first,
            _CODE[1][subtype],
            np.where(_OPIOID[subtype] & (rng.random(n) < 0.4), "F11.20", ""),
            np.where(
                (scenario == SCENARIO_INDEX["assault"]) & (rng.random(n) < 0.2), "F10.129", ""
            ),
            np.where((scenario == SCENARIO_INDEX["crisis"]) & (rng.random(n) < 0.3), "F32.9", ""),
        ],
        axis=1,
    ).astype(str)
    # Present codes first, in order: a stable sort on "is empty" per row.
    order = np.argsort(columns == "", axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)


def _joined(diagnoses: np.ndarray, separator: str) -> pa.Array:
    parts: list[np.ndarray | str] = [diagnoses[:, 0]]
    for i in range(1, diagnoses.shape[1]):
        parts.append(np.where(diagnoses[:, i] == "", "", np.char.add(separator, diagnoses[:, i])))
    return join(*parts)


def _complaints(ctx: RenderContext, positions: np.ndarray) -> np.ndarray:
    complaint = pick(list(_COMPLAINTS), ctx.episodes.subtype[positions].astype(np.int64), ctx.rng)
    return np.where(complaint == "", "eval", complaint)


def _disposition(ctx: RenderContext, n: int) -> np.ndarray:
    return weighted(ctx.rng, ["01", "09", "02", "07", "20"], [0.72, 0.2, 0.03, 0.04, 0.01], n)


def _render_smh_ed(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions, arrived = _visits(ctx, SMH)
    n = len(positions)
    visit = join("SMH", zero_pad(record_numbers(ctx, n), 9))
    person = ep.person[positions]
    who = observed(ctx, ED_NOISE, person)
    diagnoses = _joined(_diagnoses(ctx, positions), ";")
    triage = pick([_TRIAGE], np.zeros(n, np.int64), rng)
    return Rendered(
        columns={
            "Visit_ID": visit,
            "MRN": join("M", zero_pad(person * 7 + 1000003, 9)),
            "Arrived_Date_Time": format_times(arrived, "%Y-%m-%d %H:%M:%S"),
            "Message_Date_Time": format_times(
                recorded(ctx, arrived + minutes(rng, 30, 36 * 60, n)), "%Y-%m-%d %H:%M:%S"
            ),
            "Chief_Complaint_Text": _complaints(ctx, positions),
            "Discharge_Diagnosis": diagnoses,
            "Patient_Last_Name": who.last,
            "Patient_First_Name": who.first,
            "Birth_Date": format_dates(who.dob, "%Y%m%d"),
            "Sex": code_map(who.sex, _SEX),
            "Age": age_at(ctx.people.dob[person], arrived),
            "Patient_Address": who.address,
            "Patient_Zip": who.zip,
            "Patient_Phone": who.phone,
            "SSN": who.ssn,
            "Arrival_Mode": np.where(ep.transported[positions], "EMS", "Walk-in"),
            "Discharge_Disposition": _disposition(ctx, n),
            "Triage_Notes": join(who.first, " ", who.last, ": ", triage),
            "Event_Lat": ep.lat[positions],
            "Event_Lon": ep.lon[positions],
        },
        episode=positions,
        event_id=np.asarray(visit.to_numpy(zero_copy_only=False)).astype(str),
        occurred=arrived,
    )


def _render_cgh_ed(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions, arrived = _visits(ctx, CGH)
    n = len(positions)
    encounter = join("E", zero_pad(record_numbers(ctx, n) + 40_000_000, 9))
    person = ep.person[positions]
    who = observed(ctx, ED_NOISE, person)
    diagnoses = _diagnoses(ctx, positions)
    dx = [blank_to_null(diagnoses[:, i]) for i in range(3)]
    registered = recorded(ctx, arrived + minutes(rng, 2, 30, n))
    return Rendered(
        columns={
            "ENC_ID": encounter,
            "ARRIVAL_TS": pc.utf8_upper(format_times(arrived, "%d-%b-%Y %H:%M")),
            "REG_TS": pc.utf8_upper(format_times(registered, "%d-%b-%Y %H:%M")),
            "CC": np.char.upper(_complaints(ctx, positions).astype(str)),
            "DX1": dx[0],
            "DX2": dx[1],
            "DX3": dx[2],
            "PT_LAST_NAME": blank_to_null(np.char.upper(who.last.astype(str))),
            "PT_FIRST_NAME": blank_to_null(np.char.upper(who.first.astype(str))),
            "PT_DOB": blank_to_null(
                format_dates(who.dob, "%m/%d/%Y").to_numpy(zero_copy_only=False)
            ),
            "PT_SEX": code_map(who.sex, _SEX_DIGIT),
            "AGE_YRS": age_at(ctx.people.dob[person], arrived).astype(np.int32),
            "PT_SSN": blank_to_null(who.ssn),
            "PT_PHONE": blank_to_null(who.phone),
            "PT_ADDR1": blank_to_null(who.address),
            "PT_ZIP": who.zip,
            "ARRIVAL_MODE": np.where(ep.transported[positions], "AMBULANCE", "PRIVATE VEHICLE"),
            "DISCH_DISP": _disposition(ctx, n),
            "NURSE_NOTE": pick([_TRIAGE], np.zeros(n, np.int64), rng),
            "LAT": ep.lat[positions],
            "LON": ep.lon[positions],
        },
        episode=positions,
        event_id=np.asarray(encounter.to_numpy(zero_copy_only=False)).astype(str),
        occurred=arrived,
    )


_CARDIFF_WEAPON = {
    "FIST": "body_part",
    "FOOT": "body_part",
    "KNIFE": "knife",
    "GLASS": "glass",
    "BLUNT": "blunt_object",
    "FIREARM": "firearm",
    "OTHER": "other",
}
_METHOD_DETAIL = {
    "FIST": ("punched", "punched several times in face"),
    "FOOT": ("kicked while on ground", "kicked in ribs"),
    "KNIFE": ("stabbed with kitchen knife", "slashed with blade"),
    "GLASS": ("hit with pint glass", "broken bottle to face"),
    "BLUNT": ("hit with baseball bat", "struck with pipe"),
    "FIREARM": ("shot", "gunshot"),
    "OTHER": ("pushed down stairs",),
}
CARDIFF_FORMAT = "%m/%d/%Y %I:%M %p"


def _render_cardiff(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions = np.flatnonzero(ep.cardiff)
    positions, arrived = chronological(ctx, positions, ep.ed_arrival[positions])
    n = len(positions)
    reference = join("CAR-", zero_pad(record_numbers(ctx, n), 6))
    person = ep.person[positions]
    who = observed(ctx, CARDIFF_NOISE, person)
    subtype = ep.subtype[positions]
    hotspot = ep.planted[positions] == HOTSPOT
    domestic = _KEY[subtype] == "domestic"
    at_home = ep.at_home[positions]

    method = _METHOD[subtype].astype(object)
    kicked = (method == "FIST") & (rng.random(n) < 0.3)
    method[kicked] = "FOOT"
    method = method.astype(str)
    detail = pick(
        [_METHOD_DETAIL[m] for m in _CARDIFF_WEAPON],
        positions_in(method, list(_CARDIFF_WEAPON)),
        rng,
    )

    location = weighted(
        rng,
        ["STREET", "BAR_CLUB", "WORK", "PARK", "TRANSPORT", "OTHER"],
        [0.45, 0.15, 0.08, 0.1, 0.07, 0.15],
        n,
    )
    location = np.where(hotspot, weighted(rng, ["BAR_CLUB", "STREET"], [0.6, 0.4], n), location)
    location = np.where(domestic | at_home, "HOME", location)
    venue = np.asarray(VENUES)[rng.integers(0, len(VENUES), n)]
    street = np.char.add(
        np.char.add(np.asarray(STREETS)[rng.integers(0, len(STREETS), n)], " "),
        np.asarray(STREET_SUFFIXES)[rng.integers(0, len(STREET_SUFFIXES), n)],
    )
    description = np.select(
        [location == "BAR_CLUB", location == "STREET", location == "HOME"],
        [
            np.char.add(np.where(rng.random(n) < 0.5, "inside ", "outside "), venue),
            np.char.add("on ", street),
            np.where(domestic, "home, partner present", "at home"),
        ],
        default=np.char.add("near ", street),
    )
    relationship = weighted(
        rng, ["STRANGER", "ACQUAINTANCE", "FAMILY", "OTHER"], [0.5, 0.3, 0.1, 0.1], n
    )
    relationship = np.where(
        hotspot, weighted(rng, ["STRANGER", "ACQUAINTANCE", "DOOR_STAFF"], [0.6, 0.25, 0.15], n),
        relationship,
    )  # fmt: skip
    relationship = np.where(
        domestic, weighted(rng, ["PARTNER", "EX_PARTNER"], [0.7, 0.3], n), relationship
    )
    assault_time = format_times(ep.time[positions], CARDIFF_FORMAT).to_numpy(zero_copy_only=False)
    # Reception sometimes cannot get the assault time: the row reaches ingest and is quarantined.
    unknown_time = rng.random(n) < 0.02
    assault_time = np.where(unknown_time, "", assault_time.astype(str))
    return Rendered(
        columns={
            "AttendanceRef": reference,
            "ArrivalDateTime": format_times(arrived, CARDIFF_FORMAT),
            "AssaultDateTime": assault_time,
            "AssaultMethod": method,
            "MethodDetail": detail,
            "LocationType": location,
            "LocationDescription": description,
            "Assailants": weighted(rng, ["1", "2", "3+"], [0.7, 0.2, 0.1], n),
            "Relationship": relationship,
            "PatientSurname": who.last,
            "PatientForename": who.first,
            "DOB": format_dates(who.dob, "%Y-%m-%d"),
            "Gender": code_map(who.sex, _SEX),
            "AgeYears": age_at(ctx.people.dob[person], arrived),
            "Latitude": ep.lat[positions],
            "Longitude": ep.lon[positions],
        },
        episode=positions,
        event_id=np.asarray(reference.to_numpy(zero_copy_only=False)).astype(str),
        occurred=ep.time[positions],
        defects={
            "AssaultDateTime blank (assault time unknown)": np.asarray(
                reference.to_numpy(zero_copy_only=False)
            )[unknown_time].astype(str)
        },
    )


SMH_ED = Source(
    agency=SMH_CODE,
    name="ed",
    connector="ed_syndromic",
    format="csv",
    description="ED visits for syndromic surveillance (NSSP-style feed)",
    noise=ED_NOISE,
    profile=profile(
        name="smh-ed-syndromic",
        connector="ed_syndromic",
        agency=SMH_CODE,
        sector="emergency_dept",
        kind="ed_visit",
        format="csv",
        sensitivity=["phi"],
        fields={
            "event_id": {"column": "Visit_ID"},
            "occurred_at": {"column": "Arrived_Date_Time", "format": "%Y-%m-%d %H:%M:%S"},
            "reported_at": {"column": "Message_Date_Time", "format": "%Y-%m-%d %H:%M:%S"},
            "lat": {"column": "Event_Lat"},
            "lon": {"column": "Event_Lon"},
            "sex": {"column": "Sex", "map": {"M": "male", "F": "female", "U": "unknown"}},
            "age_band": {"column": "Age"},
        },
        codes=[{"column": "Discharge_Diagnosis", "namespace": "icd10cm", "split": ";"}],
        attributes={
            "disposition": {"column": "Discharge_Disposition"},
            "arrival_mode": {"column": "Arrival_Mode"},
        },
        identity={
            "first_name": "Patient_First_Name",
            "last_name": "Patient_Last_Name",
            "dob": "Birth_Date",
            "dob_format": "%Y%m%d",
            "sex": "Sex",
            "ssn": "SSN",
            "phone": "Patient_Phone",
            "address": "Patient_Address",
            "zip": "Patient_Zip",
        },
        keep_text={"chief_complaint": "Chief_Complaint_Text"},
    ),
    render=_render_smh_ed,
)

CGH_ED = Source(
    agency=CGH_CODE,
    name="ed",
    connector="ed_syndromic",
    format="parquet",
    description="ED encounters exported from the EHR for syndromic surveillance",
    noise=ED_NOISE,
    profile=profile(
        name="cgh-ed-syndromic",
        connector="ed_syndromic",
        agency=CGH_CODE,
        sector="emergency_dept",
        kind="ed_visit",
        format="parquet",
        sensitivity=["phi"],
        fields={
            "event_id": {"column": "ENC_ID"},
            "occurred_at": {"column": "ARRIVAL_TS", "format": "%d-%b-%Y %H:%M"},
            "reported_at": {"column": "REG_TS", "format": "%d-%b-%Y %H:%M"},
            "lat": {"column": "LAT"},
            "lon": {"column": "LON"},
            "sex": {"column": "PT_SEX", "map": {"1": "male", "2": "female", "9": "unknown"}},
            "age_band": {"column": "AGE_YRS"},
        },
        codes=[
            {"column": "DX1", "namespace": "icd10cm"},
            {"column": "DX2", "namespace": "icd10cm"},
            {"column": "DX3", "namespace": "icd10cm"},
        ],
        attributes={
            "disposition": {"column": "DISCH_DISP"},
            "arrival_mode": {"column": "ARRIVAL_MODE"},
        },
        identity={
            "first_name": "PT_FIRST_NAME",
            "last_name": "PT_LAST_NAME",
            "dob": "PT_DOB",
            "dob_format": "%m/%d/%Y",
            "sex": "PT_SEX",
            "ssn": "PT_SSN",
            "phone": "PT_PHONE",
            "address": "PT_ADDR1",
            "zip": "PT_ZIP",
        },
        keep_text={"chief_complaint": "CC"},
    ),
    render=_render_cgh_ed,
)

SMH_CARDIFF = Source(
    agency=SMH_CODE,
    name="cardiff",
    connector="cardiff_assault",
    format="csv",
    description="Cardiff Model (ISTV) assault attendances collected at ED reception",
    noise=CARDIFF_NOISE,
    profile=profile(
        name="smh-cardiff-istv",
        connector="cardiff_assault",
        agency=SMH_CODE,
        sector="emergency_dept",
        kind="assault_attendance",
        format="csv",
        fields={
            "event_id": {"column": "AttendanceRef"},
            "occurred_at": {"column": "AssaultDateTime", "format": CARDIFF_FORMAT},
            "reported_at": {"column": "ArrivalDateTime", "format": CARDIFF_FORMAT},
            "lat": {"column": "Latitude"},
            "lon": {"column": "Longitude"},
            "sex": {"column": "Gender", "map": {"M": "male", "F": "female", "U": "unknown"}},
            "age_band": {"column": "AgeYears"},
        },
        codes=[{"column": "AssaultMethod", "namespace": "istv"}],
        attributes={
            "weapon": {"column": "AssaultMethod", "map": _CARDIFF_WEAPON},
            "location_type": {"column": "LocationType"},
            "assailants": {"column": "Assailants"},
            "relationship": {"column": "Relationship"},
        },
        identity={
            "first_name": "PatientForename",
            "last_name": "PatientSurname",
            "dob": "DOB",
            "dob_format": "%Y-%m-%d",
            "sex": "Gender",
        },
        keep_text={"location_description": {"column": "LocationDescription", "share": True}},
        sensitivity=["phi"],
    ),
    render=_render_cardiff,
)
