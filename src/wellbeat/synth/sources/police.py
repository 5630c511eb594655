"""Millbrook Police Department (MPD): CAD calls for service (CSV), NIBRS incidents (Parquet),
officer-initiated stops (CSV) and use of force (CSV).

CAD call types are MPD's own short codes, mapped by the profile to APCO common incident types
(APCO ANS 2.103.1). Only EDP, SUICTHRT, WELFARE, INTOX, OD, PERDOWN, DISORD, DVNA and TRESPASS
come from the reference list in docs; the other APCO targets are our best reading [verify].
"""

from __future__ import annotations

import numpy as np

from wellbeat.synth import stops as stop_model
from wellbeat.synth.episodes import HOTSPOT
from wellbeat.synth.names import STREET_SUFFIXES, STREETS
from wellbeat.synth.population import HOMELESS_ADDRESS, IdentityNoise
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
    profile,
    record_numbers,
    recorded,
    seconds,
    weighted,
    year_of,
    zero_pad,
)

AGENCY = "MPD"
AGENCY_NAME = "Millbrook Police Department"

CAD_TO_APCO = {
    "ODPOI": "OD",
    "PERDWN": "PERDOWN",
    "PSYCH": "EDP",
    "SUIC": "SUICTHRT",
    "WELFCK": "WELFARE",
    "INTOX": "INTOX",
    "ASLT": "ASSAULT",
    "SHOTS": "SHOTS",
    "DV": "DVNA",
    "THEFT": "THEFT",
    "BURG": "BURGLARY",
    "STVEH": "VEHTHEFT",
    "VAND": "VANDAL",
    "NOISE": "NOISE",
    "TRAFFIC": "TRAFFIC",
    "ALARM": "ALARM",
    "DISTRB": "DISORD",
    "TRESP": "TRESPASS",
    "NARC": "DRUGS",
    "SUSP": "SUSP",
}
_CALL_TYPES = tuple(CAD_TO_APCO)
_PRIORITY = {
    "ODPOI": "1", "PERDWN": "1", "SUIC": "1", "ASLT": "1", "SHOTS": "1", "DV": "1",
    "PSYCH": "2", "WELFCK": "2", "INTOX": "2", "BURG": "2", "DISTRB": "2", "STVEH": "2",
}  # fmt: skip
_CALL_DESCRIPTIONS = {
    "ODPOI": ("MALE NOT BREATHING, POSS OD", "FEMALE UNRESP IN BATHROOM, FRIEND GAVE NARCAN",
              "SUBJ TURNING BLUE, RP DOING CPR"),
    "PERDWN": ("SUBJ DOWN ON SIDEWALK, UNK IF BREATHING", "PERSON PASSED OUT IN VEH"),
    "PSYCH": ("SUBJ YELLING AT CARS, ACTING ERRATIC", "SON OFF HIS MEDS, BREAKING THINGS",
              "SUBJ TALKING TO SELF, PARANOID, NEG WEAPONS"),
    "SUIC": ("RP STATES FRIEND TEXTED HE WANTS TO KILL HIMSELF",
             "SUBJ ON BRIDGE THREATENING TO JUMP", "SUBJ STATES SUICIDAL, NO WEAPONS SEEN"),
    "WELFCK": ("FAMILY UNABLE TO REACH SUBJ X3 DAYS", "ELDERLY SUBJ WANDERING, CONFUSED"),
    "INTOX": ("DRUNK SUBJ PASSED OUT IN DOORWAY", "INTOX MALE IN TRAFFIC, DENIES DRUGS"),
    "ASLT": ("FIGHT IN PROGRESS, 2 MALES", "VICT STATES WAS JUMPED, BLEEDING FROM HEAD"),
    "SHOTS": ("MULT SHOTS HEARD", "SUBJ SHOT IN LEG, SUSP FLED ON FOOT"),
    "DV": ("FEMALE SCREAMING, PARTNER HITTING HER", "DOMESTIC IN PROGRESS, CHILDREN PRESENT"),
    "THEFT": ("BIKE STOLEN FROM PORCH", "SHOPLIFTER DETAINED BY SECURITY"),
    "BURG": ("RESIDENCE BROKEN INTO WHILE AT WORK", "BACK DOOR KICKED IN"),
    "STVEH": ("VEH STOLEN FROM DRIVEWAY OVERNIGHT",),
    "VAND": ("GRAFFITI ON GARAGE", "CAR WINDOWS SMASHED"),
    "NOISE": ("LOUD PARTY NEXT DOOR", "MUSIC FROM VEH"),
    "TRAFFIC": ("NON INJURY ACCIDENT", "VEH BLOCKING LANE"),
    "ALARM": ("AUDIBLE ALARM, COMMERCIAL",),
    "DISTRB": ("SUBJS ARGUING LOUDLY IN LOT", "DISTURBANCE AT BAR"),
    "TRESP": ("SUBJ REFUSING TO LEAVE STORE", "SUBJ SLEEPING IN STAIRWELL"),
    "NARC": ("HAND TO HAND SALES ON CORNER",),
    "SUSP": ("SUSP PERSON LOOKING IN CAR WINDOWS",),
}  # fmt: skip

CAD_NOISE = IdentityNoise(
    missing_name=0.45, missing_first=0.05, missing_dob=0.6, missing_ssn=1.0, missing_phone=0.7,
    missing_address=1.0, nickname=0.15, typo=0.06, dob_error=0.04,
)  # fmt: skip
NIBRS_NOISE = IdentityNoise(
    missing_name=0.08, missing_dob=0.15, missing_ssn=1.0, missing_phone=0.35,
    missing_address=0.1, nickname=0.1, typo=0.04, dob_error=0.03,
)  # fmt: skip

_CAD_TYPE = subtype_column("cad_type")
_NIBRS = np.array([";".join(codes) for codes in subtype_column("nibrs")], dtype=object)
_METHOD = subtype_column("method")
_SEX = {"female": "F", "male": "M", "unknown": "U"}


def _block_addresses(n: int, rng: np.random.Generator) -> np.ndarray:
    block = (rng.integers(1, 40, n) * 100).astype(str)
    street = np.asarray(STREETS)[rng.integers(0, len(STREETS), n)]
    suffix = np.asarray(STREET_SUFFIXES)[rng.integers(0, len(STREET_SUFFIXES), n)]
    return np.char.upper(
        np.char.add(np.char.add(np.char.add(block, " BLOCK "), street), np.char.add(" ", suffix))
    )


def _render_cad(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions = np.flatnonzero(ep.police)
    call_at = ep.time[positions] + minutes(rng, 0, 4, len(positions))
    positions, received = chronological(ctx, positions, call_at)
    n = len(positions)
    number = record_numbers(ctx, n)
    call_number = join("C", (year_of(received) % 100).astype(str), "-", zero_pad(number, 7))
    person = ep.person[positions]
    who = observed(ctx, CAD_NOISE, person)
    call_type = _CAD_TYPE[ep.subtype[positions]]
    priority = code_map(call_type, {t: _PRIORITY.get(t, "3") for t in _CALL_TYPES})
    true_address = ctx.people.address[person]
    at_home = ep.at_home[positions] & (true_address != HOMELESS_ADDRESS)
    address = np.where(at_home, np.char.upper(true_address), _block_addresses(n, rng))

    disposition = weighted(rng, ["ADV", "GOA", "UTL", "RPT"], [0.5, 0.25, 0.1, 0.15], n)
    disposition = np.where(ep.nibrs[positions], "RPT", disposition)
    disposition = np.where(ep.crisis_team[positions], "MCT", disposition)
    disposition = np.where(ep.transported[positions], "TRN", disposition)
    arrest = np.isin(call_type, ["DV", "NARC", "ASLT"]) & (rng.random(n) < 0.3)
    disposition = np.where(arrest, "ARR", disposition)

    description = pick([_CALL_DESCRIPTIONS[t] for t in _CALL_TYPES], _type_index(call_type), rng)
    upper_last = np.char.upper(who.last.astype(str))
    upper_first = np.char.upper(who.first.astype(str))
    dob_text = format_dates(who.dob, "%m/%d/%Y")
    named = upper_last != ""
    narrative = join(
        description,
        np.where(named, join(". SUBJ ", upper_last, ", ", upper_first), ". NO SUBJ INFO"),
        np.where(named & ~np.isnat(who.dob), join(" DOB ", dob_text), ""),
        np.where(at_home, join(" AT RES ", address), ""),
    )
    caller = rng.integers(0, ctx.world.residents, n)
    anonymous = rng.random(n) < 0.3
    caller_name = np.where(
        anonymous,
        "",
        np.char.upper(
            np.char.add(np.char.add(ctx.people.last[caller], ", "), ctx.people.first[caller])
        ),
    )
    caller_phone = np.where(anonymous, "", ctx.people.phone[caller])
    return Rendered(
        columns={
            "CallNumber": call_number,
            "CallReceived": format_times(received, "%m/%d/%Y %H:%M:%S"),
            "EntryTime": format_times(
                received + seconds(rng.integers(5, 120, n)), "%m/%d/%Y %H:%M:%S"
            ),
            "Dispatched": format_times(received + minutes(rng, 1, 15, n), "%m/%d/%Y %H:%M:%S"),
            "CallType": call_type,
            "Priority": priority,
            "IncidentAddress": address,
            "Latitude": ep.lat[positions],
            "Longitude": ep.lon[positions],
            "CallerName": caller_name,
            "CallerPhone": caller_phone,
            "SubjectLast": upper_last,
            "SubjectFirst": upper_first,
            "SubjectDOB": dob_text,
            "SubjectSex": code_map(who.sex, _SEX),
            "CoResponder": np.where(ep.coresponder[positions], "Y", "N"),
            "Disposition": disposition,
            "Narrative": narrative,
        },
        episode=positions,
        event_id=np.asarray(call_number.to_numpy(zero_copy_only=False)).astype(str),
        occurred=received,
    )


def _type_index(call_type: np.ndarray) -> np.ndarray:
    order = np.argsort(_CALL_TYPES)
    return order[np.searchsorted(np.asarray(_CALL_TYPES), call_type, sorter=order)]


_WEAPON = {"FIST": "40", "KNIFE": "20", "BLUNT": "30", "GLASS": "90", "FIREARM": "11"}


def _render_nibrs(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions = np.flatnonzero(ep.nibrs)
    # NIBRS records the incident hour only.
    hour = ep.time[positions].astype("datetime64[h]").astype("datetime64[s]")
    positions, incident = chronological(ctx, positions, hour)
    n = len(positions)
    reported = recorded(ctx, incident + seconds(rng.integers(1, 5 * 24, n) * 3600))
    number = record_numbers(ctx, n)
    incident_number = join(year_of(reported).astype(str), "-", zero_pad(number, 6))
    person = ep.person[positions]
    who = observed(ctx, NIBRS_NOISE, person)
    offences = _NIBRS[ep.subtype[positions]].astype(str)
    drug_related = (rng.random(n) < 0.08) & (offences != "")
    offences = np.where(drug_related, np.char.add(offences, ";35A"), offences)
    method = _METHOD[ep.subtype[positions]]
    weapon = code_map(method, _WEAPON)
    weapon = np.where(method == "", "", weapon)
    location = np.where(
        ep.at_home[positions],
        "20",
        weighted(rng, ["13", "18", "03", "07", "50", "25"], [0.45, 0.15, 0.1, 0.1, 0.1, 0.1], n),
    )
    location = np.where(ep.planted[positions] == HOTSPOT, "03", location)
    true_age = age_at(ctx.people.dob[person], incident)
    narrative = join(
        "V ", np.char.upper(who.first.astype(str)), " ", np.char.upper(who.last.astype(str)),
        " REPORTS ", pick([(
            "SUSPECT UNKNOWN TO VICTIM.", "V STATES SUSP IS EX-BOYFRIEND.",
            "NO INJURIES, DENIES MEDICAL.", "V TRANSPORTED BY MFR.",
        )], np.zeros(n, np.int64), rng),
    )  # fmt: skip
    return Rendered(
        columns={
            "IncidentNumber": incident_number,
            "ReportDate": format_times(reported, "%Y-%m-%d"),
            "IncidentDateTime": format_times(incident, "%Y-%m-%dT%H:%M:%S"),
            "OffenseCodes": offences,
            "AttemptedCompleted": weighted(rng, ["C", "A"], [0.93, 0.07], n),
            "LocationType": location,
            "WeaponForce": blank_to_null(weapon),
            "OffenderSuspectedUsing": weighted(rng, ["N", "A", "D"], [0.7, 0.18, 0.12], n),
            "VictimLastName": blank_to_null(who.last),
            "VictimFirstName": blank_to_null(who.first),
            "VictimDOB": blank_to_null(
                format_dates(who.dob, "%Y%m%d").to_numpy(zero_copy_only=False)
            ),
            "VictimAge": true_age.astype(np.int32),
            "VictimSex": code_map(who.sex, _SEX),
            "VictimAddress": blank_to_null(who.address),
            "VictimPhone": blank_to_null(who.phone),
            "Latitude": ep.lat[positions],
            "Longitude": ep.lon[positions],
            "Narrative": narrative,
        },
        episode=positions,
        event_id=np.asarray(incident_number.to_numpy(zero_copy_only=False)).astype(str),
        occurred=incident,
    )


CAD = Source(
    agency=AGENCY,
    name="cad",
    connector="police_cad",
    format="csv",
    description="calls for service from the computer-aided dispatch system",
    noise=CAD_NOISE,
    profile=profile(
        name="mpd-cad",
        connector="police_cad",
        agency=AGENCY,
        sector="police",
        kind="call_for_service",
        format="csv",
        fields={
            "event_id": {"column": "CallNumber"},
            "occurred_at": {"column": "CallReceived", "format": "%m/%d/%Y %H:%M:%S"},
            "reported_at": {"column": "EntryTime", "format": "%m/%d/%Y %H:%M:%S"},
            "lat": {"column": "Latitude"},
            "lon": {"column": "Longitude"},
            "sex": {"column": "SubjectSex", "map": {"M": "male", "F": "female", "U": "unknown"}},
            "age_band": {"from_dob": "SubjectDOB", "at": "occurred_at", "format": "%m/%d/%Y"},
        },
        codes=[{"column": "CallType", "namespace": "apco", "map": CAD_TO_APCO}],
        attributes={
            "priority": {"column": "Priority"},
            "disposition": {"column": "Disposition"},
            "co_responder": {"column": "CoResponder", "map": {"Y": "true", "N": "false"}},
        },
        identity={
            "first_name": "SubjectFirst",
            "last_name": "SubjectLast",
            "dob": "SubjectDOB",
            "dob_format": "%m/%d/%Y",
            "sex": "SubjectSex",
        },
        keep_text={"narrative": "Narrative"},
    ),
    render=_render_cad,
)

NIBRS = Source(
    agency=AGENCY,
    name="nibrs",
    connector="nibrs_incident",
    format="parquet",
    description="NIBRS incident reports from the records management system",
    noise=NIBRS_NOISE,
    profile=profile(
        name="mpd-nibrs",
        connector="nibrs_incident",
        agency=AGENCY,
        sector="police",
        kind="incident",
        format="parquet",
        fields={
            "event_id": {"column": "IncidentNumber"},
            "occurred_at": {"column": "IncidentDateTime"},
            "reported_at": {"column": "ReportDate", "format": "%Y-%m-%d"},
            "lat": {"column": "Latitude"},
            "lon": {"column": "Longitude"},
            "sex": {"column": "VictimSex", "map": {"M": "male", "F": "female", "U": "unknown"}},
            "age_band": {"column": "VictimAge"},
        },
        codes=[{"column": "OffenseCodes", "namespace": "nibrs", "split": ";"}],
        attributes={
            "weapon": {"column": "WeaponForce"},
            "location_type": {"column": "LocationType"},
            "attempted": {"column": "AttemptedCompleted", "map": {"A": "true", "C": "false"}},
            "offender_using": {"column": "OffenderSuspectedUsing"},
        },
        identity={
            "first_name": "VictimFirstName",
            "last_name": "VictimLastName",
            "dob": "VictimDOB",
            "dob_format": "%Y%m%d",
            "sex": "VictimSex",
            "phone": "VictimPhone",
            "address": "VictimAddress",
        },
        sensitivity=["cji"],
    ),
    render=_render_nibrs,
)


STOP_NOISE = IdentityNoise(
    missing_name=0.3, missing_dob=0.35, missing_ssn=1.0, missing_phone=1.0,
    missing_address=1.0, nickname=0.1, typo=0.05, dob_error=0.03,
)  # fmt: skip
_STOP_TYPE = subtype_column("stop_type")
_STOP = SCENARIO_INDEX["stop"]
_TYPE_CODES = {"traffic": "TRAFFIC", "pedestrian": "PED", "field_interview": "FI"}
_REASON_TEXT = {
    "moving_violation": "Moving Violation", "equipment_violation": "Equipment Violation",
    "registration": "Expired Registration", "investigative": "Investigative",
    "suspicious_person": "Suspicious Person", "call_for_service": "Citizen / 911",
}  # fmt: skip
_DISPOSITION = {"arrest": "ARREST", "citation": "CITED", "warning": "WARNED"}
_RACE_TEXT = {
    "white": "White", "black": "Black", "hispanic": "Hispanic",
    "asian_pacific_islander": "Asian", "native_american": "Native American", "other": "Other",
}  # fmt: skip


def _stops(ctx: RenderContext) -> tuple[np.ndarray, np.ndarray, stop_model.Stops]:
    """The stop episodes of the chunk (in MPD's order), their times, and what happened."""
    ep = ctx.episodes
    positions, when = chronological(
        ctx, np.flatnonzero(ep.scenario == _STOP), ep.time[ep.scenario == _STOP]
    )
    person = ep.person[positions]
    deprivation = ctx.world.city.deprivation[ctx.people.home[person]]
    decided = stop_model.decide(
        ctx.world.seed, ep.id[positions], person, _STOP_TYPE[ep.subtype[positions]], deprivation
    )
    return positions, when, decided


def _yes_no(values: np.ndarray) -> np.ndarray:
    return np.where(values, "Y", "N")


def _render_stops(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    positions, when, stop = _stops(ctx)
    who = observed(ctx, STOP_NOISE, ep.person[positions])
    stop_id = join(
        "S", (year_of(when) % 100).astype(str), "-", zero_pad(ep.id[positions] % 10**7, 7)
    )
    searched = stop.person_searched | stop.vehicle_searched
    return Rendered(
        columns={
            "StopID": stop_id,
            "StopDateTime": format_times(when, "%Y-%m-%d %H:%M"),
            "StopType": code_map(stop.stop_type, _TYPE_CODES),
            "Reason": code_map(stop.reason, _REASON_TEXT),
            "Disposition": code_map(stop.outcome, _DISPOSITION),
            "PersonSearched": _yes_no(stop.person_searched),
            "VehicleSearched": np.where(
                stop.stop_type == "traffic", _yes_no(stop.vehicle_searched), ""
            ),
            "ContrabandFound": np.where(searched, _yes_no(stop.contraband), ""),
            "Race": code_map(stop.race, _RACE_TEXT),
            "SubjectSex": code_map(who.sex, _SEX),
            "SubjectLast": np.char.upper(who.last.astype(str)),
            "SubjectFirst": np.char.upper(who.first.astype(str)),
            "SubjectDOB": format_dates(who.dob, "%m/%d/%Y"),
            "Latitude": ep.lat[positions],
            "Longitude": ep.lon[positions],
        },
        episode=positions,
        event_id=np.asarray(stop_id.to_numpy(zero_copy_only=False)).astype(str),
        occurred=when,
    )


def _render_force(ctx: RenderContext) -> Rendered:
    ep = ctx.episodes
    rng = ctx.rng
    positions, when, stop = _stops(ctx)
    rows = np.repeat(np.arange(len(positions)), stop.force)
    positions, when = positions[rows], when[rows] + minutes(rng, 1, 20, len(rows))
    n = len(rows)
    number = record_numbers(ctx, n)
    force_id = join("F", (year_of(when) % 100).astype(str), "-", zero_pad(number, 6))
    case = join("S", (year_of(when) % 100).astype(str), "-", zero_pad(ep.id[positions] % 10**7, 7))
    who = observed(ctx, STOP_NOISE, ep.person[positions])
    force_type = weighted(
        rng, list(stop_model.FORCE_TYPES), list(stop_model.FORCE_TYPES.values()), n
    )
    injured = rng.random(n) < np.where(np.isin(force_type, ["Taser", "Baton"]), 0.45, 0.2)
    return Rendered(
        columns={
            "ForceID": force_id,
            "StopID": case,
            "ForceDateTime": format_times(when, "%Y-%m-%d %H:%M"),
            "ForceType": force_type,
            "Resistance": weighted(
                rng, list(stop_model.RESISTANCE), list(stop_model.RESISTANCE.values()), n
            ),
            "SubjectInjury": _yes_no(injured),
            "OfficerInjury": _yes_no(rng.random(n) < 0.06),
            "Race": code_map(stop.race[rows], _RACE_TEXT),
            "SubjectSex": code_map(who.sex, _SEX),
            "SubjectAge": age_at(ctx.people.dob[ep.person[positions]], when).astype(np.int32),
            "SubjectLast": np.char.upper(who.last.astype(str)),
            "SubjectFirst": np.char.upper(who.first.astype(str)),
            "SubjectDOB": format_dates(who.dob, "%m/%d/%Y"),
            "Latitude": ep.lat[positions],
            "Longitude": ep.lon[positions],
        },
        episode=positions,
        event_id=np.asarray(force_id.to_numpy(zero_copy_only=False)).astype(str),
        occurred=when,
    )


_IDENTITY = {
    "first_name": "SubjectFirst",
    "last_name": "SubjectLast",
    "dob": "SubjectDOB",
    "dob_format": "%m/%d/%Y",
    "sex": "SubjectSex",
}
_SEX_MAP = {"column": "SubjectSex", "map": {"M": "male", "F": "female", "U": "unknown"}}

STOPS = Source(
    agency=AGENCY,
    name="stops",
    connector="police_stop",
    format="csv",
    description="officer-initiated stops (traffic, pedestrian, field interviews) from the RMS",
    noise=STOP_NOISE,
    profile=profile(
        name="mpd-stops",
        connector="police_stop",
        agency=AGENCY,
        sector="police",
        kind="stop",
        format="csv",
        fields={
            "event_id": {"column": "StopID"},
            "occurred_at": {"column": "StopDateTime", "format": "%Y-%m-%d %H:%M"},
            "lat": {"column": "Latitude"},
            "lon": {"column": "Longitude"},
            "sex": _SEX_MAP,
            "age_band": {"from_dob": "SubjectDOB", "at": "occurred_at", "format": "%m/%d/%Y"},
        },
        attributes={
            "stop_type": {"column": "StopType"},
            "reason": {"column": "Reason"},
            "outcome": {"column": "Disposition"},
            "person_searched": {"column": "PersonSearched"},
            "vehicle_searched": {"column": "VehicleSearched"},
            "contraband_found": {"column": "ContrabandFound"},
            "race": {"column": "Race"},
        },
        identity=_IDENTITY,
        sensitivity=["cji"],
    ),
    render=_render_stops,
)

FORCE = Source(
    agency=AGENCY,
    name="use_of_force",
    connector="use_of_force",
    format="csv",
    description="use of force reports, one row per force type used on a subject",
    noise=STOP_NOISE,
    profile=profile(
        name="mpd-use-of-force",
        connector="use_of_force",
        agency=AGENCY,
        sector="police",
        kind="use_of_force",
        format="csv",
        fields={
            "event_id": {"column": "ForceID"},
            "occurred_at": {"column": "ForceDateTime", "format": "%Y-%m-%d %H:%M"},
            "lat": {"column": "Latitude"},
            "lon": {"column": "Longitude"},
            "sex": _SEX_MAP,
            "age_band": {"column": "SubjectAge"},
        },
        attributes={
            "stop_id": {"column": "StopID"},
            "force_type": {"column": "ForceType"},
            "resistance": {"column": "Resistance"},
            "subject_injury": {"column": "SubjectInjury"},
            "officer_injury": {"column": "OfficerInjury"},
            "race": {"column": "Race"},
        },
        identity=_IDENTITY,
        sensitivity=["cji"],
    ),
    render=_render_force,
)
