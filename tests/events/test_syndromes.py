"""Hand-written cases for every syndrome, including the traps of overdose surveillance."""

from __future__ import annotations

import math

import pytest

from wellbeat.events.schema import SYNDROMES
from wellbeat.events.syndromes import (
    apco_syndromes,
    classify,
    classify_many,
    code_syndromes,
    nemsis_opioid_overdose,
)

OD = "overdose"
OPIOID = ["opioid_overdose", OD]
HEROIN = ["heroin_overdose", *OPIOID]
FENTANYL = ["fentanyl_overdose", *OPIOID]
STIMULANT = [OD, "stimulant_overdose"]
BENZO = ["benzodiazepine_overdose", OD]

# (codes, chief complaint, expected syndromes, why)
CASES: list[tuple[list[str], str | None, list[str], str]] = [
    # --- ICD-10-CM drug poisoning: intent and encounter rules -------------------------------
    (["icd10cm:T40.1X1A"], None, HEROIN, "heroin, accidental, initial"),
    (["icd10cm:T401X1A"], None, HEROIN, "same code without the dot"),
    (["icd10cm:t40.1x1a"], None, HEROIN, "lower case"),
    (["icd10cm:T40.1X4A"], None, HEROIN, "undetermined intent counts"),
    (["icd10cm:T40.1X1"], None, HEROIN, "missing 7th character counts"),
    (["icd10cm:T40.1X1D"], None, [], "subsequent encounter excluded"),
    (["icd10cm:T40.1X1S"], None, [], "sequela excluded"),
    (["icd10cm:T40.2X5A"], None, [], "adverse effect is not an overdose"),
    (["icd10cm:T40.2X6A"], None, [], "underdosing is not an overdose"),
    (["icd10cm:T40.2X1A"], None, OPIOID, "other opioids"),
    (["icd10cm:T40.0X1A"], None, OPIOID, "opium"),
    (["icd10cm:T40.3X1A"], None, OPIOID, "methadone"),
    (["icd10cm:T40.601A"], None, OPIOID, "unspecified narcotics"),
    (["icd10cm:T40.691A"], None, OPIOID, "other narcotics"),
    (["icd10cm:T40.7X1A"], None, [OD], "cannabis is a drug but not an opioid"),
    (["icd10cm:T40.411A"], None, FENTANYL, "fentanyl (FY2021+)"),
    (["icd10cm:T40.414A"], None, FENTANYL, "fentanyl, undetermined"),
    (["icd10cm:T40.415A"], None, [], "fentanyl adverse effect"),
    (["icd10cm:T40.4X1A"], None, FENTANYL, "legacy synthetic narcotic code before Oct 2020"),
    (["icd10cm:T40.421A"], None, OPIOID, "tramadol is an opioid, not fentanyl"),
    (["icd10cm:T40.491A"], None, OPIOID, "other synthetic narcotics"),
    (["icd10cm:T40.5X1A"], None, STIMULANT, "cocaine"),
    (["icd10cm:T43.651A"], None, STIMULANT, "methamphetamine"),
    (["icd10cm:T43.621A"], None, STIMULANT, "amphetamines"),
    (["icd10cm:T43.655A"], None, [], "methamphetamine adverse effect"),
    (["icd10cm:T42.4X1A"], None, BENZO, "benzodiazepines"),
    (["icd10cm:T42.4X6A"], None, [], "benzodiazepine underdosing"),
    (["icd10cm:T39.1X1A"], None, [OD], "4-aminophenol (acetaminophen) is in T36-T50"),
    (["icd10cm:T50.901A"], None, [OD], "unspecified drugs"),
    (["icd10cm:T51.0X1A"], None, ["alcohol_intoxication"], "ethanol is T51, not T36-T50"),
    # 5th-character intent subcategories.
    (["icd10cm:T42.71XA"], None, [OD], "unspecified antiepileptic, accidental (5th char)"),
    (["icd10cm:T42.72XA"], None, [OD, "self_harm"], "5th char 2 is intentional self-harm"),
    (["icd10cm:T42.75XA"], None, [], "5th char 5 is an adverse effect"),
    (["icd10cm:T42.76XA"], None, [], "5th char 6 is underdosing"),
    (["icd10cm:T41.41XA"], None, [OD], "unspecified anaesthetic, accidental"),
    (["icd10cm:T41.45XA"], None, [], "anaesthetic adverse effect"),
    (["icd10cm:T36.91XA"], None, [OD], "unspecified systemic antibiotic"),
    (["icd10cm:T43.94XA"], None, [OD], "unspecified psychotropic, undetermined"),
    (["icd10cm:T49.96XA"], None, [], "topical agent underdosing"),
    (["icd10cm:T42.71XD"], None, [], "5th-char code, subsequent encounter"),
    # Intent 2 (self-harm) and 3 (assault).
    (["icd10cm:T40.1X2A"], None, [*HEROIN, "self_harm"], "intentional heroin overdose"),
    (["icd10cm:T40.2X3A"], None, [*OPIOID, "assault_injury"], "poisoning by assault"),
    (["icd10cm:T65.92XA"], None, ["self_harm"], "toxic effect, self-harm, not a drug overdose"),
    # Opioid intoxication codes.
    (["icd10cm:F11.120"], None, OPIOID, "opioid abuse with intoxication"),
    (["icd10cm:F11.220"], None, OPIOID, "opioid dependence with intoxication"),
    (["icd10cm:F11.929"], None, OPIOID, "opioid use with intoxication, unspecified"),
    (["icd10cm:F11.20"], None, [], "opioid dependence without intoxication"),
    (["icd10cm:F11.23"], None, [], "opioid withdrawal"),
    (["icd10cm:F11.10"], None, [], "opioid abuse, uncomplicated"),
    # Death records (ICD-10): underlying cause + drug mentions.
    (["icd10cm:X42", "icd10cm:T40.1"], None, HEROIN, "NCHS: accidental + heroin"),
    (["icd10cm:X44", "icd10cm:T40.4"], None, FENTANYL, "synthetic opioids on a death record"),
    (["icd10cm:Y14", "icd10cm:T40.5", "icd10cm:T43.6"], None, STIMULANT, "undetermined"),
    (["icd10cm:X62", "icd10cm:T42.4"], None, [*BENZO, "self_harm"], "suicide by drugs"),
    (["icd10cm:X41"], None, [OD], "underlying cause alone"),
    (["icd10cm:T40.1"], None, [], "drug mention without an underlying overdose cause"),
    # --- Injury, violence, mental health, social -------------------------------------------
    (["icd10cm:X99.1XXA"], None, ["assault_injury"], "assault by knife"),
    (["icd10cm:Y04.0XXA"], None, ["assault_injury"], "assault by unarmed fight"),
    (["icd10cm:Y04.0XXD"], None, [], "assault, subsequent encounter"),
    (["icd10cm:X93.XXXA"], None, ["assault_injury", "firearm_injury"], "assault by handgun"),
    (["icd10cm:W32.0XXA"], None, ["firearm_injury"], "accidental handgun discharge"),
    (["icd10cm:W34.00XS"], None, [], "firearm sequela"),
    (["icd10cm:X72.XXXA"], None, ["firearm_injury", "self_harm"], "self-harm by handgun"),
    (["icd10cm:Y22.XXXA"], None, ["firearm_injury"], "handgun, undetermined intent"),
    (["icd10cm:Y35.001A"], None, ["firearm_injury"], "legal intervention, firearm"),
    (["icd10cm:Y35.101A"], None, [], "legal intervention, explosives: not a firearm"),
    (["icd10cm:X78.9XXA"], None, ["self_harm"], "self-harm by sharp object"),
    (["icd10cm:T14.91XA"], None, ["self_harm"], "suicide attempt"),
    (["icd10cm:T14.91XD"], None, [], "suicide attempt, subsequent encounter"),
    (["icd10cm:R45.88"], None, ["self_harm"], "nonsuicidal self-harm"),
    (["icd10cm:R45.851"], None, ["suicidal_ideation"], "suicidal ideations"),
    (["icd10cm:F32.9"], None, ["mental_health_crisis"], "major depressive disorder"),
    (["icd10cm:F20.9"], None, ["mental_health_crisis"], "schizophrenia"),
    (["icd10cm:F43.10"], None, ["mental_health_crisis"], "PTSD"),
    (["icd10cm:F60.3"], None, ["mental_health_crisis"], "borderline personality disorder"),
    (["icd10cm:F10.129"], None, ["alcohol_intoxication"], "alcohol abuse with intoxication"),
    (["icd10cm:F10.220"], None, ["alcohol_intoxication"], "alcohol dependence, intoxication"),
    (["icd10cm:F10.20"], None, [], "alcohol dependence without intoxication"),
    (["icd10cm:F10.239"], None, [], "alcohol withdrawal"),
    (["icd10cm:Z59.02"], None, ["homelessness"], "unsheltered homelessness"),
    (["icd10cm:Z59.0"], None, ["homelessness"], "homelessness before FY2022"),
    (["icd10cm:Z59.811"], None, [], "housing instability is not homelessness"),
    (["icd10cm:T74.11XA"], None, ["assault_injury", "domestic_violence"], "adult physical abuse"),
    (["icd10cm:T76.31XA"], None, ["domestic_violence"], "suspected adult psychological abuse"),
    (["icd10cm:T74.21XA"], None, ["assault_injury"], "adult sexual abuse: perpetrator unknown"),
    (
        ["icd10cm:T74.21XA", "icd10cm:Y07.03"],
        None,
        ["assault_injury", "domestic_violence"],
        "adult sexual abuse by a male partner",
    ),
    (["icd10cm:T74.12XA"], None, ["assault_injury"], "child physical abuse"),
    (["icd10cm:T74.01XA"], None, [], "neglect is neither assault nor domestic violence"),
    (["icd10cm:Y07.12"], None, ["domestic_violence"], "perpetrator: mother"),
    (["icd10cm:Y07.50"], None, [], "perpetrator: non-family member"),
    # --- Police, CAD, EMS and SDOH codes ---------------------------------------------------
    (["nibrs:13A"], None, ["violent_crime"], "aggravated assault is a crime against persons"),
    (["nibrs:09A"], None, ["violent_crime"], "murder"),
    (["nibrs:120"], None, [], "robbery is a NIBRS crime against property"),
    (["nibrs:35A"], None, [], "drug violations are crimes against society"),
    (["nibrs:90E"], None, [], "group B drunkenness"),
    (["apco:EDP"], None, ["mental_health_crisis"], "emotionally disturbed person"),
    (["apco:SUICTHRT"], None, ["mental_health_crisis", "suicidal_ideation"], "suicide threat"),
    (["apco:OD"], None, [OD], "overdose call"),
    (["apco:dvna"], None, ["domestic_violence"], "lower-case call type"),
    (["apco:WELFARE"], None, [], "welfare check implies no syndrome"),
    (["apco:UNKNOWNTYPE"], None, [], "unknown call type"),
    (["nemsis:2301053"], None, [OD], "dispatch: overdose/poisoning/ingestion"),
    (["nemsis:2301059"], None, ["mental_health_crisis"], "dispatch: psychiatric"),
    (["nemsis:2301007"], None, ["assault_injury"], "dispatch: assault"),
    (["nemsis:2301075"], None, [], "dispatch: well person check"),
    (["sdoh:homelessness"], None, ["homelessness"], "Gravity category"),
    (["sdoh:intimate-partner-violence"], None, ["domestic_violence"], "Gravity IPV"),
    (["sdoh:food-insecurity"], None, [], "no syndrome for food insecurity"),
    (["rxnorm:7242", "local:X1", "istv:knife"], None, [], "namespaces with no syndromes"),
    # --- Chief complaint: overdose term AND drug term --------------------------------------
    ([], "heroin overdose", HEROIN, "overdose + heroin"),
    ([], "OD on fentanyl", FENTANYL, "OD + fentanyl"),
    ([], "pt found unresponsive, narcan given x2", OPIOID, "naloxone alone suffices"),
    ([], "took too many percocets", OPIOID, "took too many + opioid brand"),
    ([], "unresponsive after using dope", HEROIN, "dope is heroin slang"),
    ([], "cocaine ingestion", STIMULANT, "ingestion + cocaine"),
    ([], "meth intox", STIMULANT, "intoxication + meth"),
    ([], "smoked ice, now unresponsive", STIMULANT, "ice as methamphetamine"),
    ([], "xanax overdose", BENZO, "benzodiazepine brand"),
    ([], "speedball OD", [*HEROIN, "stimulant_overdose"], "heroin + cocaine"),
    ([], "ingested pills", [OD], "generic drug term"),
    ([], "overdose", [OD], "CDC All Drug v2: overdose alone includes"),
    ([], "O.D.", [OD], "dotted abbreviation"),
    ([], "heroin use, wants detox", [], "drug term without an overdose term"),
    ([], "poisoning", [], "poisoning term without a drug term"),
    ([], "slipped on ice, unresponsive", [], "ice on the ground is not a drug"),
    ([], "ETOH overdose", ["alcohol_intoxication"], "alcohol alone is not a drug overdose"),
    ([], "drug screen for work", [], "drug screen is not a drug term"),
    ([], "medication refill", [], "refill request"),
    ([], "poison ivy rash", [], "poison ivy"),
    ([], "eye pain OD", [], "OD as the right eye (oculus dexter)"),
    ([], "took 2 tylenol for headache", [], "a normal dose is not an overdose"),
    (
        [],
        "suicidal, took 20 tylenol",
        [OD, "self_harm", "suicidal_ideation"],
        "a handful of pills while suicidal",
    ),
    # Misspellings.
    ([], "heroine overdoes", HEROIN, "heroine, overdoes"),
    ([], "herion OD", HEROIN, "herion"),
    ([], "fentanil overdose", FENTANYL, "fentanil"),
    ([], "narcen given by EMS", OPIOID, "narcen"),
    ([], "overdsoe on oxycodne", OPIOID, "swapped letters and a dropped letter"),
    ([], "opiod overdose", OPIOID, "opiod"),
    ([], "xanex OD", BENZO, "xanex"),
    # Negations.
    ([], "denies overdose", [], "denies overdose"),
    ([], "no OD", [], "no OD"),
    ([], "not an overdose, fell", [], "not an overdose"),
    ([], "neg for ingestion of pills", [], "neg for ingestion"),
    ([], "denies heroin use or overdose", [], "negation covers the list"),
    ([], "no narcan given", [], "naloxone negated"),
    ([], "heroin overdose, denies SI", HEROIN, "negation after the term does not reach back"),
    ([], "denies SI but took 30 tylenol, now unresponsive", [OD], "terminator ends negation"),
    # Intentional overdose from the complaint.
    ([], "intentional overdose on xanax", [*BENZO, "self_harm"], "intent term + overdose"),
    ([], "suicide attempt by OD on pills", [OD, "self_harm"], "suicide attempt + overdose"),
    # Other syndromes from the complaint.
    ([], "GSW to leg", ["firearm_injury"], "gunshot wound"),
    ([], "got shot in the arm", ["firearm_injury"], "shot in"),
    ([], "flu shot in arm, sore", [], "a vaccination is not a shooting"),
    ([], "shot himself in the head", ["firearm_injury", "self_harm"], "self-inflicted GSW"),
    ([], "assaulted, facial lac", ["assault_injury"], "assault"),
    ([], "stabbed in abdomen", ["assault_injury"], "stabbing"),
    ([], "stabbed herself", ["self_harm"], "self-stabbing is not an assault"),
    ([], "assaulted by boyfriend", ["assault_injury", "domestic_violence"], "IPV"),
    ([], "domestic dispute, arm pain", ["domestic_violence"], "domestic"),
    ([], "cut wrists", ["self_harm"], "self-harm"),
    ([], "cut arm on glass", [], "an accidental laceration"),
    ([], "self-harm", ["self_harm"], "hyphenated"),
    ([], "SI w/ plan", ["suicidal_ideation"], "SI"),
    ([], "denies SI/HI", [], "SI negated"),
    ([], "wants to kill herself", ["suicidal_ideation"], "ideation phrase"),
    ([], "hearing voices, paranoid", ["mental_health_crisis"], "psychosis"),
    ([], "psych eval", ["mental_health_crisis"], "psych evaluation"),
    ([], "ETOH intox", ["alcohol_intoxication"], "ETOH"),
    ([], "drunk, fell", ["alcohol_intoxication"], "drunk"),
    ([], "alcohol withdrawal, shaky", [], "withdrawal is not intoxication"),
    ([], "denies ETOH", [], "alcohol negated"),
    ([], "homeless, requesting shelter", ["homelessness"], "homeless"),
    ([], "no fixed address, cough", ["homelessness"], "no fixed address is not a negation"),
    ([], "chest pain", [], "nothing syndromic"),
    ([], "", [], "empty complaint"),
    # --- Codes and complaint together: union ---------------------------------------------------
    (["icd10cm:T40.2X5A"], "heroin overdose", HEROIN, "complaint includes what a code excludes"),
    (["icd10cm:R45.851"], "denies SI", ["suicidal_ideation"], "a code is not negated by text"),
    (["apco:EDP", "nibrs:13B"], None, ["mental_health_crisis", "violent_crime"], "both"),
]


@pytest.mark.parametrize(
    ("codes", "complaint", "expected", "why"), CASES, ids=[c[3] for c in CASES]
)
def test_classify(codes: list[str], complaint: str | None, expected: list[str], why: str) -> None:
    assert classify(codes, complaint) == sorted(set(expected)), why


def test_every_syndrome_has_a_positive_case() -> None:
    covered = {s for _, _, expected, _ in CASES for s in expected}
    assert covered == set(SYNDROMES)


def test_code_without_namespace_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"'T40.1X1A' has no namespace.*icd10cm"):
        classify(["T40.1X1A"])


def test_icd10_namespace_alias_and_code_syndromes() -> None:
    assert classify(["icd10:X42", "icd10:T40.1"]) == sorted(HEROIN)
    assert code_syndromes("icd10cm:T40.1X1A") == sorted(HEROIN)
    assert code_syndromes("icd10cm:T40.1") == []


def test_classify_many_matches_classify_and_gives_independent_lists() -> None:
    codes = [["icd10cm:T40.1X1A"], ["apco:EDP"], ["icd10cm:T40.1X1A"], [], None]
    complaints = [None, "SI", None, "xanax OD", math.nan]
    result = classify_many(codes, complaints)  # type: ignore[arg-type]
    assert result == [
        sorted(HEROIN),
        ["mental_health_crisis", "suicidal_ideation"],
        sorted(HEROIN),
        sorted(BENZO),
        [],
    ]
    result[0].append("changed")
    assert result[2] == sorted(HEROIN)


def test_classify_many_computes_each_distinct_row_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import wellbeat.events.syndromes as module

    calls: list[tuple[tuple[str, ...], str | None]] = []
    real = module.classify

    def counting(codes: tuple[str, ...], complaint: str | None = None) -> list[str]:
        calls.append((tuple(codes), complaint))
        return real(codes, complaint)

    monkeypatch.setattr(module, "classify", counting)
    rows = [["icd10cm:F11.120"], ["nibrs:13A"]] * 500
    complaints: list[str | None] = [None, "assault"] * 500
    result = module.classify_many(rows, complaints)
    assert len(result) == 1000
    assert sorted(calls) == [(("icd10cm:F11.120",), None), (("nibrs:13A",), "assault")]


def test_classify_many_rejects_mismatched_lengths_and_bad_complaints() -> None:
    with pytest.raises(ValueError, match="2 code lists but 1 complaints"):
        classify_many([[], []], [None])
    with pytest.raises(TypeError, match="complaint #1 is int"):
        classify_many([[], []], [None, 7])  # type: ignore[list-item]


# --- NEMSIS opioid overdose case definition ------------------------------------------------

NEMSIS_CASES: list[tuple[list[str], list[str], list[str], bool, str]] = [
    (["T40.1X1A"], [], [], True, "heroin poisoning impression"),
    (["icd10cm:T401X1A"], [], [], True, "namespaced, no dot"),
    (["F11.20"], [], [], True, "any F11 code (the definition's own rule)"),
    (["T40.2X1A"], [], [], True, "other opioids"),
    (["T40.411A"], [], [], True, "fentanyl"),
    (["T40.601A"], [], [], True, "unspecified narcotics"),
    (["T40.2X5A"], [], [], False, "adverse effect"),
    (["T40.1X1D"], [], [], False, "subsequent encounter"),
    (["T40.5X1A"], [], [], False, "cocaine is not an opioid"),
    (["R41.82"], ["7242"], ["9916001"], True, "naloxone with improvement"),
    (["R41.82"], ["203192"], ["Improved"], True, "response given by name"),
    (["R41.82"], ["rxnorm:197117"], ["nemsis:9916001"], True, "namespaced values"),
    (["R41.82"], ["7242"], ["9916003"], False, "naloxone but unchanged"),
    (["R41.82"], ["7242"], ["9916005"], False, "naloxone but worse"),
    ([], ["4337", "7242"], ["9916001", "9916003"], False, "improvement was for another drug"),
    ([], ["4337", "7242"], ["9916003", "9916001"], True, "second dose improved"),
    ([], [], [], False, "nothing recorded"),
]


@pytest.mark.parametrize(
    ("impressions", "medications", "responses", "expected", "why"),
    NEMSIS_CASES,
    ids=[c[4] for c in NEMSIS_CASES],
)
def test_nemsis_opioid_overdose(
    impressions: list[str], medications: list[str], responses: list[str], expected: bool, why: str
) -> None:
    assert nemsis_opioid_overdose(impressions, medications, responses) is expected, why


def test_nemsis_needs_one_response_per_medication() -> None:
    with pytest.raises(ValueError, match="2 medications but 1 responses"):
        nemsis_opioid_overdose([], ["7242", "7242"], ["9916001"])


# --- APCO ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call_type", "expected"),
    [
        ("EDP", ["mental_health_crisis"]),
        ("apco:SUICTHRT", ["mental_health_crisis", "suicidal_ideation"]),
        ("SUICIDE", ["mental_health_crisis", "self_harm"]),
        ("INTOX", ["alcohol_intoxication"]),
        ("OD", ["overdose"]),
        ("DVNA", ["domestic_violence"]),
        ("SHOOTING", ["firearm_injury", "violent_crime"]),
        ("WELFARE", []),
        ("NOISE", []),
        ("NOT-A-TYPE", []),
    ],
)
def test_apco_syndromes(call_type: str, expected: list[str]) -> None:
    assert apco_syndromes(call_type) == expected
