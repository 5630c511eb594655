"""What happens in the city: kinds of episode, their rhythms and who records them.

An *episode* is one thing that happens to one person (an overdose, a mental-health crisis, an
assault, a theft, a fall...). Each episode may leave records at several agencies: a 911 call
in police CAD, an EMS run, an ED visit, a medical-examiner case, a crisis-team contact. The
probabilities of each path are here, in one place; the agency modules only format.

Rates are per day for the ``small`` city (about 480,000 residents) and scale with ``--scale``.
Seasonal, day-of-week and hour-of-day shapes follow the broad patterns in the surveillance
literature (violence and intoxication peak on weekend nights and in summer; overdoses in the
afternoon and evening; medical calls in daytime and winter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _hours(peaks: tuple[tuple[float, float, float], ...], floor: float) -> tuple[float, ...]:
    """24 hourly weights: a floor plus circular Gaussian bumps (centre hour, width, height)."""
    hours = np.arange(24)
    weight = np.full(24, floor)
    for centre, width, height in peaks:
        distance = np.minimum(np.abs(hours - centre), 24 - np.abs(hours - centre))
        weight += height * np.exp(-(distance**2) / (2 * width**2))
    return tuple(float(w) for w in weight / weight.sum())


DAYTIME = _hours(((14.0, 4.0, 1.0),), 0.08)
EVENING = _hours(((18.0, 4.5, 1.0),), 0.15)
NIGHT = _hours(((0.5, 2.5, 1.0), (20.0, 2.0, 0.3)), 0.05)
OFFICE = _hours(((12.0, 2.5, 1.0),), 0.0005)
FLAT = _hours((), 1.0)

WEEKDAYS = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
WEEKEND_NIGHTS = (0.8, 0.75, 0.8, 0.95, 1.25, 1.55, 1.1)
OFFICE_DAYS = (1.3, 1.3, 1.3, 1.3, 1.3, 0.25, 0.05)
BUSY_WEEKDAYS = (1.08, 1.04, 1.02, 1.0, 1.06, 0.95, 0.85)
"""Day-of-week factors, Monday first; each set is normalised to mean 1 when used."""

NO_NALOXONE, IMPROVED, UNCHANGED, WORSE = 0, 1, 2, 3


@dataclass(frozen=True)
class Subtype:
    """One variety of an episode and how each agency codes it."""

    key: str
    weight: float
    cad_type: str = ""
    """The police CAD call type (MPD's local code); "" when police never attend."""
    icd: tuple[str, ...] = ()
    """ICD-10-CM codes a clinician assigns (EMS impressions, ED diagnoses), primary first."""
    complaints: tuple[str, ...] = ()
    """Chief complaints as triage nurses type them: abbreviations, misspellings, negations."""
    dispatch: str = ""
    """EMS dispatch reason (MFR's local wording)."""
    nibrs: tuple[str, ...] = ()
    p_report: float = 0.0
    """Probability that an attended call becomes a NIBRS incident report."""
    crisis_problem: str = ""
    p_fatal: float = 0.0
    cause: tuple[str, ...] = ()
    """ICD-10 cause-of-death codes: underlying cause first, then contributing T-codes."""
    manner: str = ""
    method: str = ""
    """Cardiff (ISTV) assault method, SMH's local code."""
    opioid: bool = False
    stop_type: str = ""
    """For an officer-initiated stop: traffic, pedestrian or field_interview."""


@dataclass(frozen=True)
class Scenario:
    """A kind of episode: its rate, rhythm, who it happens to and the paths it takes."""

    key: str
    daily_rate: float
    hours: tuple[float, ...]
    days: tuple[float, ...]
    seasonal_amplitude: float
    seasonal_peak_day: int
    deprivation_effect: float
    """Log rate ratio between the most and least deprived neighbourhoods."""
    concentration: float
    """How strongly episodes concentrate on the same people (0 none, 1 as vulnerable)."""
    p_home: float
    p_police: float = 0.0
    p_ems: float = 0.0
    p_transport: float = 0.0
    p_walk_in: float = 0.0
    p_crisis_team: float = 0.0
    p_sud_followup: float = 0.0
    p_outreach_followup: float = 0.0
    subtypes: tuple[Subtype, ...] = field(default_factory=tuple)


OVERDOSE = Scenario(
    "overdose", 3.5, EVENING, BUSY_WEEKDAYS, 0.15, 200, 2.2, 1.0, 0.45,
    p_police=0.75, p_ems=0.9, p_transport=0.65, p_walk_in=0.12,
    p_sud_followup=0.2, p_outreach_followup=0.12,
    subtypes=(
        Subtype(
            "fentanyl", 0.45, "ODPOI", ("T40.411A",),
            ("overdose", "OD fentanyl", "pt found unresponsive, narcan given by EMS",
             "possible overdoes", "fentynal OD", "od on fent per friend",
             "unresponsive, pinpoint pupils"),
            "Overdose/Poisoning", p_fatal=0.035, cause=("X42", "T40.4"), manner="Accident",
            opioid=True,
        ),
        Subtype(
            "heroin", 0.2, "ODPOI", ("T40.1X1A",),
            ("heroin overdose", "herion OD", "OD - heroin", "overdose, narcan x2 pta"),
            "Overdose/Poisoning", p_fatal=0.03, cause=("X42", "T40.1"), manner="Accident",
            opioid=True,
        ),
        Subtype(
            "opioid_pills", 0.1, "ODPOI", ("T40.2X1A",),
            ("took too many percocet", "opiate overdose", "pills OD", "oxy overdose"),
            "Overdose/Poisoning", p_fatal=0.02, cause=("X42", "T40.2"), manner="Accident",
            opioid=True,
        ),
        Subtype(
            "cocaine", 0.1, "ODPOI", ("T40.5X1A",),
            ("cocaine overdose", "chest pain after cocaine use", "OD crack", "coke OD"),
            "Overdose/Poisoning", p_fatal=0.01, cause=("X42", "T40.5"), manner="Accident",
        ),
        Subtype(
            "methamphetamine", 0.15, "PERDWN", ("T43.651A",),
            ("meth overdose", "agitated, used meth", "methamphetamine intox",
             "tweaking, paranoid", "meth OD denies opiates"),
            "Overdose/Poisoning", p_fatal=0.01, cause=("X41", "T43.6"), manner="Accident",
        ),
    ),
)  # fmt: skip

CRISIS = Scenario(
    "crisis", 6.0, EVENING, WEEKDAYS, 0.06, 120, 1.4, 0.9, 0.7,
    p_police=0.7, p_ems=0.25, p_transport=0.6, p_walk_in=0.12, p_crisis_team=0.55,
    p_sud_followup=0.02,
    subtypes=(
        Subtype(
            "suicidal_ideation", 0.35, "SUIC", ("R45.851",),
            ("SI", "suicidal thoughts", "suicidal ideation w/ plan", "pt states wants to die",
             "SI, denies HI", "depresion, SI"),
            "Psychiatric/Suicide Attempt", crisis_problem="SI",
        ),
        Subtype(
            "psychosis", 0.25, "PSYCH", ("F29",),
            ("hearing voices", "paranoid, psychotic", "bizzare behavior", "off meds, agitated",
             "psych eval"),
            "Psychiatric/Suicide Attempt", crisis_problem="PSYCHOSIS",
        ),
        Subtype(
            "welfare", 0.2, "WELFCK", ("R45.89",),
            ("welfare check", "family concerned, not eating", "confused, wandering"),
            "Well Person Check", crisis_problem="WELFARE",
        ),
        Subtype(
            "self_harm", 0.1, "SUIC", ("T14.91XA",),
            ("self inflicted laceration", "cut wrists", "suicide attempt",
             "intentional ingestion tylenol, denies other drugs"),
            "Psychiatric/Suicide Attempt", crisis_problem="SELFHARM",
        ),
        Subtype(
            "anxiety", 0.1, "PSYCH", ("F41.9",),
            ("anxiety", "panic attack", "anxiety, denies overdose", "agitation, anxious"),
            "Psychiatric/Suicide Attempt", crisis_problem="ANXIETY",
        ),
    ),
)  # fmt: skip

ASSAULT = Scenario(
    "assault", 2.2, NIGHT, WEEKEND_NIGHTS, 0.18, 195, 1.6, 0.5, 0.25,
    p_police=0.45, p_ems=0.3, p_transport=0.7, p_walk_in=0.55,
    subtypes=(
        Subtype(
            "unarmed", 0.42, "ASLT", ("S00.83XA", "Y04.0XXA"),
            ("assaulted", "punched in face", "jumped, facial swelling", "assualt",
             "fight, head injury, denies LOC"),
            "Assault", nibrs=("13B",), p_report=0.7, method="FIST",
        ),
        Subtype(
            "knife", 0.14, "ASLT", ("S01.81XA", "X99.1XXA"),
            ("stab wound", "stabbed L arm", "laceration from knife, assault"),
            "Stab/Gunshot Wound", nibrs=("13A",), p_report=0.85, p_fatal=0.01,
            cause=("X99",), manner="Homicide", method="KNIFE",
        ),
        Subtype(
            "blunt", 0.14, "ASLT", ("S06.0X0A", "Y00.XXXA"),
            ("hit with bat", "struck w/ object, head lac", "assault w/ pipe"),
            "Assault", nibrs=("13A",), p_report=0.75, method="BLUNT",
        ),
        Subtype(
            "glass", 0.1, "ASLT", ("S01.81XA", "X99.0XXA"),
            ("glassed at bar", "hit w bottle, facial lac", "assault with glass"),
            "Assault", nibrs=("13A",), p_report=0.6, method="GLASS",
        ),
        Subtype(
            "firearm", 0.07, "SHOTS", ("X95.9XXA",),
            ("GSW", "gunshot wound leg", "shot x1"),
            "Stab/Gunshot Wound", nibrs=("13A",), p_report=0.95, p_fatal=0.08,
            cause=("X95",), manner="Homicide", method="FIREARM",
        ),
        Subtype(
            "domestic", 0.13, "DV", ("T74.11XA", "Y04.0XXA"),
            ("assaulted by partner", "DV, facial bruising", "domestic assault, denies LOC"),
            "Assault", nibrs=("13B",), p_report=0.8, method="FIST",
        ),
    ),
)  # fmt: skip

POLICE = Scenario(
    "police", 30.0, DAYTIME, BUSY_WEEKDAYS, 0.08, 200, 0.7, 0.2, 0.5,
    p_police=1.0, p_ems=0.01, p_transport=0.5,
    subtypes=(
        Subtype("theft", 0.16, "THEFT", nibrs=("23H",), p_report=0.5),
        Subtype("burglary", 0.06, "BURG", nibrs=("220",), p_report=0.85),
        Subtype("vehicle_theft", 0.05, "STVEH", nibrs=("240",), p_report=0.9),
        Subtype("vandalism", 0.08, "VAND", nibrs=("290",), p_report=0.6),
        Subtype("noise", 0.12, "NOISE"),
        Subtype("traffic", 0.18, "TRAFFIC"),
        Subtype("alarm", 0.1, "ALARM"),
        Subtype("disturbance", 0.1, "DISTRB", nibrs=("90C",), p_report=0.1),
        Subtype("trespass", 0.05, "TRESP", nibrs=("90J",), p_report=0.3),
        Subtype("drugs", 0.04, "NARC", nibrs=("35A", "35B"), p_report=0.85),
        Subtype("suspicious", 0.06, "SUSP"),
    ),
)  # fmt: skip

MEDICAL = Scenario(
    "medical", 14.0, DAYTIME, BUSY_WEEKDAYS, 0.12, 20, 0.5, 0.3, 0.75,
    p_ems=0.55, p_transport=0.75, p_walk_in=0.5,
    subtypes=(
        Subtype("chest_pain", 0.2, icd=("R07.9",),
                complaints=("chest pain", "CP radiating to L arm", "chest tightness, denies SOB"),
                dispatch="Chest Pain"),
        Subtype("fall", 0.2, icd=("W19.XXXA",),
                complaints=("fall", "fell at home, hip pain", "mechanical fall"), dispatch="Falls"),
        Subtype("breathing", 0.15, icd=("R06.02",),
                complaints=("SOB", "shortness of breath", "dificulty breathing, hx copd"),
                dispatch="Breathing Problem"),
        Subtype("sick", 0.15, icd=("R53.83",),
                complaints=("fever", "weakness", "general malaise"), dispatch="Sick Person"),
        Subtype("diabetic", 0.08, icd=("E11.649",),
                complaints=("low blood sugar", "hypoglycemia", "diabetic, glucose 40"),
                dispatch="Diabetic Problem"),
        Subtype("traffic_injury", 0.12, icd=("V89.2XXA",),
                complaints=("MVC", "MVA, neck pain", "car accident, restrained driver"),
                dispatch="Traffic Accident"),
        Subtype("abdominal", 0.1, icd=("R10.9",),
                complaints=("abd pain", "abdominal pain x2 days", "n/v/d"),
                dispatch="Abdominal Pain"),
    ),
)  # fmt: skip

INTOXICATION = Scenario(
    "intoxication", 2.5, NIGHT, WEEKEND_NIGHTS, 0.1, 190, 1.2, 0.8, 0.3,
    p_police=0.5, p_ems=0.5, p_transport=0.6, p_walk_in=0.15,
    subtypes=(
        Subtype("alcohol", 0.85, "INTOX", ("F10.129",),
                ("ETOH", "intoxicated", "drunk, fell", "etoh intox, denies drug use",
                 "ETOH, denies overdose"), "Intoxicated Person"),
        Subtype("drugs", 0.15, "INTOX", ("F19.129",),
                ("high on something", "intoxicated, denies overdose", "altered, ?drugs"),
                "Intoxicated Person"),
    ),
)  # fmt: skip

OUTREACH = Scenario(
    "outreach", 3.0, OFFICE, OFFICE_DAYS, 0.05, 180, 2.5, 0.9, 0.2,
    subtypes=(
        Subtype("naloxone_kit", 0.4),
        Subtype("test_strips", 0.25),
        Subtype("referral", 0.35),
    ),
)  # fmt: skip

OTHER_DEATH = Scenario(
    "other_death", 0.35, FLAT, WEEKDAYS, 0.1, 15, 0.4, 0.0, 0.8,
    p_police=0.4, p_ems=0.6,
    subtypes=(
        Subtype("natural", 0.6, "PERDWN", ("I46.9",), dispatch="Cardiac Arrest/Death",
                p_fatal=1.0, cause=("I25.1",), manner="Natural"),
        Subtype("fall", 0.12, "PERDWN", ("W19.XXXA",), dispatch="Falls",
                p_fatal=1.0, cause=("W19",), manner="Accident"),
        Subtype("suicide", 0.15, "SUIC", ("T71.162A",), dispatch="Psychiatric/Suicide Attempt",
                p_fatal=1.0, cause=("X70",), manner="Suicide"),
        Subtype("traffic", 0.08, "TRAFFIC", ("V89.2XXA",), dispatch="Traffic Accident",
                p_fatal=1.0, cause=("V89.2",), manner="Accident"),
        Subtype("undetermined", 0.05, "PERDWN", ("R99",), dispatch="Cardiac Arrest/Death",
                p_fatal=1.0, cause=("R99",), manner="Undetermined"),
    ),
)  # fmt: skip

STOP_HOURS = _hours(((22.0, 3.0, 1.0), (16.0, 3.0, 0.6)), 0.15)
"""Officer-initiated stops peak in the late evening, with an afternoon traffic shoulder."""

STOP = Scenario(
    "stop", 12.0, STOP_HOURS, WEEKEND_NIGHTS, 0.05, 200, 0.9, 0.3, 0.0,
    subtypes=(
        Subtype("traffic", 0.7, stop_type="traffic"),
        Subtype("pedestrian", 0.22, stop_type="pedestrian"),
        Subtype("field_interview", 0.08, stop_type="field_interview"),
    ),
)  # fmt: skip
"""Officer-initiated stops: no call brings them, so no other agency records them; MPD's stop
and use-of-force extracts do (``sources/police.py``, which also draws searches and force)."""

SCENARIOS: tuple[Scenario, ...] = (
    OVERDOSE, CRISIS, ASSAULT, POLICE, MEDICAL, INTOXICATION, OUTREACH, OTHER_DEATH,
)  # fmt: skip
"""What happens to people and brings calls, runs and visits: drawn together, chunk by chunk."""
OFFICER_INITIATED: tuple[Scenario, ...] = (STOP,)
"""Drawn from a stream of their own after the others, so adding one changes no other record."""
ALL_SCENARIOS: tuple[Scenario, ...] = SCENARIOS + OFFICER_INITIATED
SCENARIO_INDEX = {s.key: i for i, s in enumerate(ALL_SCENARIOS)}

SUBTYPES: tuple[Subtype, ...] = tuple(t for s in ALL_SCENARIOS for t in s.subtypes)
"""Every subtype of every scenario; episodes store a position in this tuple."""
SUBTYPE_SCENARIO = np.array([i for i, s in enumerate(ALL_SCENARIOS) for _ in s.subtypes])
SUBTYPE_OFFSET = np.concatenate(([0], np.cumsum([len(s.subtypes) for s in ALL_SCENARIOS])))


def subtype_column(attribute: str) -> np.ndarray:
    """One attribute of every subtype as an array, for vectorised lookup by subtype index.

    Tuple attributes (codes, complaints) become an object array of tuples.
    """
    values = [getattr(t, attribute) for t in SUBTYPES]
    if values and isinstance(values[0], tuple):
        result = np.empty(len(values), dtype=object)
        result[:] = values
        return result
    return np.array(values)


def subtype_index(scenario: str, subtype: str) -> int:
    """Position in SUBTYPES of ``scenario``'s subtype ``subtype``."""
    s = SCENARIO_INDEX[scenario]
    keys = [t.key for t in SCENARIOS[s].subtypes]
    return int(SUBTYPE_OFFSET[s]) + keys.index(subtype)
