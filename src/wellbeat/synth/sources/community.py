"""County Health Department outreach (generic CSV) and Northside Behavioral Health.

The health department's harm-reduction team logs outreach contacts: naloxone kits, fentanyl
test strips, referrals, and post-overdose follow-up visits. Northside runs the mobile crisis
team (and, in the programme districts, the co-responder clinicians) and a 42 CFR Part 2
substance-use treatment programme whose post-overdose follow-ups are a separate extract with
``part2`` sensitivity: a profile marks every row of its extract, so Part 2 records travel in
their own extract rather than as a per-row flag.
"""

from __future__ import annotations

import numpy as np

from wellbeat.synth.population import IdentityNoise
from wellbeat.synth.scenarios import SCENARIO_INDEX, subtype_column
from wellbeat.synth.sources.base import (
    RenderContext,
    Rendered,
    Source,
    blank_to_null,
    chronological,
    code_map,
    format_dates,
    format_times,
    join,
    minutes,
    observed,
    pick,
    profile,
    record_numbers,
    recorded,
    seconds,
    weighted,
    zero_pad,
)

CHD = "CHD"
CHD_NAME = "County Health Department"
NBH = "NBH"
NBH_NAME = "Northside Behavioral Health"

OUTREACH_NOISE = IdentityNoise(
    missing_name=0.1, missing_first=0.0, missing_dob=0.5, missing_ssn=1.0, missing_phone=0.6,
    missing_address=0.7, nickname=0.3, typo=0.07, dob_error=0.05,
)  # fmt: skip
CRISIS_NOISE = IdentityNoise(
    missing_name=0.04, missing_dob=0.1, missing_ssn=0.9, missing_phone=0.2,
    missing_address=0.2, nickname=0.12, typo=0.04, dob_error=0.03,
)  # fmt: skip
SUD_NOISE = IdentityNoise(
    missing_name=0.0, missing_first=0.0, missing_dob=0.02, missing_ssn=0.3, missing_phone=0.1,
    missing_address=0.1, nickname=0.05, typo=0.02, dob_error=0.01,
)  # fmt: skip

_KEY = subtype_column("key")
_ICD = np.array([codes[0] if codes else "" for codes in subtype_column("icd")])
_PROBLEM = subtype_column("crisis_problem")
_OPIOID = subtype_column("opioid").astype(bool)
_SEX = {"female": "F", "male": "M", "unknown": "U"}
_OUTREACH = SCENARIO_INDEX["outreach"]


def _office_hours(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A time between 09:00 and 17:00 on each of ``days``."""
    n = len(days)
    return days.astype("datetime64[D]").astype("datetime64[s]") + seconds(
        rng.integers(9 * 3600, 17 * 3600, n)
    )


def _render_outreach(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    contact = np.flatnonzero(ep.scenario == _OUTREACH)
    followup = np.flatnonzero(ep.outreach_followup)
    later = ep.time[followup].astype("datetime64[D]") + rng.integers(1, 6, len(followup))
    positions = np.concatenate([contact, followup])
    is_followup = np.concatenate([np.zeros(len(contact), bool), np.ones(len(followup), bool)])
    times = np.concatenate([ep.time[contact], _office_hours(later, rng)])
    order_key = positions * 2 + is_followup
    order_key, when = chronological(ctx, order_key, times)
    positions, is_followup = order_key // 2, order_key % 2 == 1
    n = len(positions)
    number = join("OR-", zero_pad(record_numbers(ctx, n), 6))
    person = ep.person[positions]
    who = observed(ctx, OUTREACH_NOISE, person)
    key = _KEY[ep.subtype[positions]]
    contact_type = np.select(
        [is_followup, key == "naloxone_kit", key == "test_strips"],
        ["POST_OD_FOLLOWUP", "NALOXONE_KIT", "FTS"],
        default="REFERRAL",
    )
    kits = np.where(
        np.isin(contact_type, ["NALOXONE_KIT", "POST_OD_FOLLOWUP"]),
        rng.integers(1, 4, n),
        (rng.random(n) < 0.3).astype(np.int64),
    )
    strips = np.where(contact_type == "FTS", rng.integers(5, 21, n), 0)
    referral = np.where(
        contact_type == "REFERRAL",
        weighted(rng, ["HOUSING", "FOOD", "MOUD", "MENTAL_HEALTH"], [3, 2, 3, 2], n),
        "",
    )
    unsheltered = ctx.people.unsheltered[person]
    need = np.where(unsheltered, "HOMELESS", np.where(referral == "FOOD", "FOOD", ""))
    housing = np.where(unsheltered, "UNSH", weighted(rng, ["HOUSED", "SHEL", "UNK"], [7, 1, 2], n))
    lon = np.where(is_followup, ctx.people.home_lon[person], ep.lon[positions])
    lat = np.where(is_followup, ctx.people.home_lat[person], ep.lat[positions])
    notes = pick(
        [(
            "client reports friend OD'd last week", "denies current use, took kit for brother",
            "gave kits + FTS, discussed not using alone", "follow up after OD, client doing ok",
            "client asked about detox beds",
        )], np.zeros(n, np.int64), rng,
    )  # fmt: skip
    return Rendered(
        columns={
            "ContactID": number,
            "ContactDateTime": format_times(when, "%Y-%m-%d %I:%M %p"),
            "EnteredDate": format_times(
                recorded(ctx, when + minutes(rng, 10, 72 * 60, n)), "%Y-%m-%d"
            ),
            "ContactType": contact_type,
            "KitsDistributed": kits,
            "FTSDistributed": strips,
            "ReferralTo": referral,
            "HousingStatus": housing,
            "SDOHNeed": need,
            "Site": weighted(rng, ["VAN-1", "VAN-2", "OFFICE", "STREET"], [3, 3, 2, 2], n),
            "ClientFirst": who.first,
            "ClientLast": who.last,
            "ClientDOB": format_dates(who.dob, "%m/%d/%Y"),
            "ClientPhone": who.phone,
            "Gender": code_map(who.sex, _SEX),
            "Lat": lat,
            "Lon": lon,
            "Notes": notes,
        },
        episode=positions,
        event_id=np.asarray(number.to_numpy(zero_copy_only=False)).astype(str),
        occurred=when,
    )


def _render_crisis(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions = np.flatnonzero(ep.crisis_team)
    start = ep.time[positions] + minutes(rng, 20, 150, len(positions))
    positions, start = chronological(ctx, positions, start)
    n = len(positions)
    number = join("NBH-C-", zero_pad(record_numbers(ctx, n), 6))
    person = ep.person[positions]
    who = observed(ctx, CRISIS_NOISE, person)
    subtype = ep.subtype[positions]
    coresponder = ep.coresponder[positions]
    team = np.where(coresponder, "CORESP", weighted(rng, ["MCT-1", "MCT-2"], [1, 1], n))
    referral = np.where(
        ep.police[positions],
        weighted(rng, ["PD", "911"], [3, 1], n),
        weighted(rng, ["988", "SELF", "FAMILY"], [4, 2, 3], n),
    )
    disposition = weighted(
        rng, ["STABILIZED_IN_PLACE", "REFERRED", "VOLUNTARY_ADMIT", "NO_CONTACT"], [5, 3, 1, 0.5], n
    )
    disposition = np.where(ep.ed[positions], "TRANSPORT_ED", disposition)
    problem = np.where(_PROBLEM[subtype] == "", "OTHER", _PROBLEM[subtype])
    note = pick(
        [(
            "client reports hearing voices, denies SI/HI", "safety plan completed with client",
            "client tearful, states recent job loss", "family at scene, client calmer after talk",
            "client declined services, denies intent to harm self",
        )], np.zeros(n, np.int64), rng,
    )  # fmt: skip
    return Rendered(
        columns={
            "contact_id": number,
            "contact_start": format_times(start, "%Y-%m-%dT%H:%M"),
            "documented_at": format_times(
                recorded(ctx, start + minutes(rng, 30, 24 * 60, n)), "%Y-%m-%dT%H:%M"
            ),
            "referral_source": referral,
            "presenting_problem": problem,
            "dx_code": blank_to_null(_ICD[subtype]),
            "team": team,
            "client_last": blank_to_null(who.last),
            "client_first": blank_to_null(who.first),
            "client_dob": blank_to_null(
                format_dates(who.dob, "%m/%d/%Y").to_numpy(zero_copy_only=False)
            ),
            "client_gender": code_map(who.sex, _SEX),
            "client_phone": blank_to_null(who.phone),
            "client_address": blank_to_null(who.address),
            "client_zip": who.zip,
            "lat": ep.lat[positions],
            "lon": ep.lon[positions],
            "disposition": disposition,
            "note": join(note, np.where(coresponder, " (co-responder w/ MPD)", "")),
        },
        episode=positions,
        event_id=np.asarray(number.to_numpy(zero_copy_only=False)).astype(str),
        occurred=start,
    )


CLINIC_LON, CLINIC_LAT = -93.6321, 41.5987
"""Northside's clinic, where clients not seen at home come for follow-up."""


def _render_sud(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions = np.flatnonzero(ep.sud_followup)
    days = ep.time[positions].astype("datetime64[D]") + rng.integers(1, 11, len(positions))
    positions, when = chronological(ctx, positions, _office_hours(days, rng))
    n = len(positions)
    number = join("SUD", zero_pad(record_numbers(ctx, n), 7))
    person = ep.person[positions]
    who = observed(ctx, SUD_NOISE, person)
    subtype = ep.subtype[positions]
    opioid = _OPIOID[subtype]
    diagnosis = np.where(
        opioid, "F11.20", weighted(rng, ["F10.20", "F15.20", "F14.20"], [3, 2, 1], n)
    )
    service = weighted(rng, ["PEER_FOLLOWUP", "ASSESSMENT", "MOUD_INDUCTION"], [6, 2.5, 1.5], n)
    home_visit = rng.random(n) < 0.6
    return Rendered(
        columns={
            "EncounterID": number,
            "ServiceDateTime": format_times(when, "%m/%d/%Y %H:%M"),
            "SignedAt": format_times(
                recorded(ctx, when + minutes(rng, 15, 48 * 60, n)), "%m/%d/%Y %H:%M"
            ),
            "ServiceType": service,
            "Program": np.where(opioid, weighted(rng, ["BRIDGE", "OTP"], [2, 1], n), "BRIDGE"),
            "Diagnosis": diagnosis,
            "ClientLast": who.last,
            "ClientFirst": who.first,
            "DOB": format_dates(who.dob, "%Y-%m-%d"),
            "Sex": code_map(who.sex, _SEX),
            "SSN": who.ssn,
            "Phone": who.phone,
            "Address": who.address,
            "Zip": who.zip,
            "Lat": np.where(home_visit, ctx.people.home_lat[person], CLINIC_LAT),
            "Lon": np.where(home_visit, ctx.people.home_lon[person], CLINIC_LON),
            "Outcome": weighted(rng, ["ENGAGED", "DECLINED", "UNREACHABLE"], [5.5, 2, 2.5], n),
            "ProgressNote": join(
                "Peer met ",
                who.first,
                np.where(home_visit, " at home", " at clinic"),
                "; discussed MOUD options, client ",
                weighted(rng, ["agrees to intake", "declines at this time"], [1, 1], n),
                ".",
            ),
        },
        episode=positions,
        event_id=np.asarray(number.to_numpy(zero_copy_only=False)).astype(str),
        occurred=when,
    )


OUTREACH = Source(
    agency=CHD,
    name="outreach",
    connector="generic",
    format="csv",
    description="harm-reduction outreach contacts (naloxone, test strips, referrals, follow-ups)",
    noise=OUTREACH_NOISE,
    profile=profile(
        name="chd-outreach",
        connector="generic",
        agency=CHD,
        sector="public_health",
        kind="outreach_contact",
        format="csv",
        fields={
            "event_id": {"column": "ContactID"},
            "occurred_at": {"column": "ContactDateTime", "format": "%Y-%m-%d %I:%M %p"},
            "reported_at": {"column": "EnteredDate", "format": "%Y-%m-%d"},
            "lat": {"column": "Lat"},
            "lon": {"column": "Lon"},
            "sex": {"column": "Gender", "map": {"M": "male", "F": "female", "U": "unknown"}},
            "age_band": {"from_dob": "ClientDOB", "at": "occurred_at", "format": "%m/%d/%Y"},
        },
        codes=[
            {"column": "ContactType", "namespace": "local"},
            {
                "column": "SDOHNeed",
                "namespace": "sdoh",
                "map": {"HOMELESS": "homelessness", "FOOD": "food-insecurity"},
            },
        ],
        attributes={
            "naloxone_kits": {"column": "KitsDistributed"},
            "test_strips": {"column": "FTSDistributed"},
            "referral": {"column": "ReferralTo"},
            "housing_status": {"column": "HousingStatus"},
            "site": {"column": "Site"},
        },
        identity={
            "first_name": "ClientFirst",
            "last_name": "ClientLast",
            "dob": "ClientDOB",
            "dob_format": "%m/%d/%Y",
            "sex": "Gender",
            "phone": "ClientPhone",
        },
        sensitivity=["phi"],
    ),
    render=_render_outreach,
)

CRISIS = Source(
    agency=NBH,
    name="crisis",
    connector="generic",
    format="ndjson",
    description="mobile crisis team and co-responder contacts",
    noise=CRISIS_NOISE,
    profile=profile(
        name="nbh-crisis",
        connector="generic",
        agency=NBH,
        sector="behavioral_health",
        kind="crisis_contact",
        format="ndjson",
        fields={
            "event_id": {"column": "contact_id"},
            "occurred_at": {"column": "contact_start"},
            "reported_at": {"column": "documented_at"},
            "lat": {"column": "lat"},
            "lon": {"column": "lon"},
            "sex": {
                "column": "client_gender",
                "map": {"M": "male", "F": "female", "U": "unknown"},
            },
            "age_band": {"from_dob": "client_dob", "at": "occurred_at", "format": "%m/%d/%Y"},
        },
        codes=[
            {"column": "presenting_problem", "namespace": "local"},
            {"column": "dx_code", "namespace": "icd10cm"},
        ],
        attributes={
            "team": {"column": "team"},
            "co_responder": {
                "column": "team",
                "map": {"CORESP": "true", "MCT-1": "false", "MCT-2": "false"},
            },
            "referral_source": {"column": "referral_source"},
            "disposition": {"column": "disposition"},
        },
        identity={
            "first_name": "client_first",
            "last_name": "client_last",
            "dob": "client_dob",
            "dob_format": "%m/%d/%Y",
            "sex": "client_gender",
            "phone": "client_phone",
            "address": "client_address",
            "zip": "client_zip",
        },
        keep_text={"note": "note"},
        sensitivity=["phi"],
    ),
    render=_render_crisis,
)

SUD_FOLLOWUP = Source(
    agency=NBH,
    name="sud_followup",
    connector="generic",
    format="csv",
    description="post-overdose follow-ups by the Part 2 substance-use treatment programme",
    noise=SUD_NOISE,
    profile=profile(
        name="nbh-sud-followup",
        connector="generic",
        agency=NBH,
        sector="behavioral_health",
        kind="outreach_contact",
        format="csv",
        fields={
            "event_id": {"column": "EncounterID"},
            "occurred_at": {"column": "ServiceDateTime", "format": "%m/%d/%Y %H:%M"},
            "reported_at": {"column": "SignedAt", "format": "%m/%d/%Y %H:%M"},
            "lat": {"column": "Lat"},
            "lon": {"column": "Lon"},
            "sex": {"column": "Sex", "map": {"M": "male", "F": "female", "U": "unknown"}},
            "age_band": {"from_dob": "DOB", "at": "occurred_at", "format": "%Y-%m-%d"},
        },
        codes=[
            {"column": "Diagnosis", "namespace": "icd10cm"},
            {"column": "ServiceType", "namespace": "local"},
        ],
        attributes={
            "program": {"column": "Program"},
            "service_type": {"column": "ServiceType"},
            "outcome": {"column": "Outcome"},
        },
        identity={
            "first_name": "ClientFirst",
            "last_name": "ClientLast",
            "dob": "DOB",
            "dob_format": "%Y-%m-%d",
            "sex": "Sex",
            "ssn": "SSN",
            "phone": "Phone",
            "address": "Address",
            "zip": "Zip",
        },
        sensitivity=["phi", "part2"],
    ),
    render=_render_sud,
)
