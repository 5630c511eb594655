"""The code-set files: contents a user relies on, their sources, and errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from wellbeat.events import codesets
from wellbeat.events.codesets import (
    NIBRS_CATEGORIES,
    CodeSetError,
    apco_call_type,
    apco_call_types,
    code_set_sources,
    icd10cm_rules,
    nemsis_dispatch_reasons,
    nemsis_medication_responses,
    nemsis_opioid_case_definition,
    nibrs_category,
    nibrs_offenses,
    sdoh_categories,
    sdoh_category_for_z_code,
)
from wellbeat.events.schema import SYNDROMES

DOCS = Path(__file__).resolve().parents[2] / "docs"

# Standards reference, section 4.
NIBRS_REFERENCE = {
    "person": "09A 09B 09C 100 11A 11B 11C 11D 13A 13B 13C 36A 36B 64A 64B",
    "property": "120 200 210 220 23A 23B 23C 23D 23E 23F 23G 23H 240 250 "
    "26A 26B 26C 26D 26E 26F 26G 270 280 290 510",
    "society": "35A 35B 39A 39B 39C 39D 370 40A 40B 40C 520 720",
    "group_b": "90A 90B 90C 90D 90E 90F 90G 90H 90J 90Z",
}


@pytest.mark.parametrize("category", NIBRS_CATEGORIES)
def test_nibrs_offenses_match_the_reference(category: str) -> None:
    expected = set(NIBRS_REFERENCE[category].split())
    assert {o.code for o in nibrs_offenses().values() if o.category == category} == expected


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("13A", "person"),
        ("nibrs:13a", "person"),
        (" NIBRS:23C ", "property"),
        ("35A", "society"),
        ("90J", "group_b"),
        ("999", None),
        ("", None),
    ],
)
def test_nibrs_category(code: str, category: str | None) -> None:
    assert nibrs_category(code) == category


def test_apco_call_types_cover_the_reference_list() -> None:
    required = [
        "EDP",
        "SUICTHRT",
        "SUICIDE",
        "WELFARE",
        "INTOX",
        "OD",
        "PERDOWN",
        "PERUNCON",
        "DISORD",
        "DVNA",
        "PHANDLE",
        "TRESPASS",
        "NOISE",
        "CITASST",
        "SHOTS",
        "ASSAULT",
        "ROBBERY",
        "THEFT",
        "BURGLARY",
        "TRAFFIC",
    ]
    assert set(required) <= set(apco_call_types())
    edp = apco_call_type("apco:edp")
    assert edp is not None and edp.behavioral_health and edp.civilian_eligible
    theft = apco_call_type("THEFT")
    assert theft is not None and not theft.behavioral_health and theft.syndromes == ()
    assert apco_call_type("NOPE") is None


def test_nemsis_lists_hold_the_reference_codes() -> None:
    reasons = nemsis_dispatch_reasons()
    assert reasons["2301053"].name == "Overdose/Poisoning/Ingestion"
    assert reasons["2301059"].name.startswith("Psychiatric")
    for code in ("2301075", "2301085", "2301077", "2301079", "2301007"):
        assert code in reasons
    assert dict(nemsis_medication_responses()) == {
        "9916001": "Improved",
        "9916003": "Unchanged",
        "9916005": "Worse",
    }
    definition = nemsis_opioid_case_definition()
    assert definition.naloxone_rxnorm == {"7242", "203192", "197117"}
    assert definition.naloxone_response == "9916001"


def test_sdoh_categories_are_the_gravity_list_with_z_codes() -> None:
    categories = sdoh_categories()
    assert len(categories) == 19
    assert categories["homelessness"].z_codes == ("Z59.0",)
    assert categories["homelessness"].syndrome == "homelessness"
    assert categories["veteran-status"].z_codes == ()
    found = sdoh_category_for_z_code("Z59.02")
    assert found is not None and found.code == "homelessness"
    found = sdoh_category_for_z_code("icd10cm:Z59.811")
    assert found is not None and found.code == "housing-instability"
    found = sdoh_category_for_z_code("Z5912")
    assert found is not None and found.code == "utility-insecurity"  # longest prefix wins
    assert sdoh_category_for_z_code("J06.9") is None


def test_icd_rules_name_known_syndromes_and_the_fifth_character_list() -> None:
    rules = icd10cm_rules()
    assert {"T369", "T379", "T399", "T414", "T427", "T439", "T459", "T479", "T499"} <= (
        rules.intent_fifth_character
    )
    for rule in (*rules.rules, *rules.underlying_causes, *rules.drug_mentions):
        assert set(rule.syndromes) <= set(SYNDROMES)


def test_every_code_set_names_its_source_and_version() -> None:
    sources = code_set_sources()
    assert len(sources) == 7
    for entry in sources:
        assert entry.source, entry.file
        assert entry.version, entry.file


def test_every_code_set_and_syndrome_is_documented() -> None:
    codesets_doc = (DOCS / "codesets.md").read_text()
    events_doc = (DOCS / "events.md").read_text()
    for entry in code_set_sources():
        assert entry.file in codesets_doc, entry.file
    for syndrome in SYNDROMES:
        assert f"`{syndrome}`" in events_doc, syndrome


# --- Errors for malformed files --------------------------------------------------------------


def _replace_file(monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> None:
    real = codesets._text
    monkeypatch.setattr(codesets, "_text", lambda n: text if n == name else real(n))


def test_bad_nibrs_category_names_file_line_and_field(monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_file(
        monkeypatch,
        "nibrs_offenses.csv",
        "# Source: x\ncode,name,category\n13A,Aggravated assault,person\n13B,Simple,violent\n",
    )
    with pytest.raises(CodeSetError, match=r"nibrs_offenses.csv, line 4, field 'category'"):
        nibrs_offenses.__wrapped__()


def test_unknown_syndrome_in_apco_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_file(
        monkeypatch,
        "apco_call_types.csv",
        "code,name,syndromes,behavioral_health,civilian_eligible\nEDP,EDP,madness,true,true\n",
    )
    with pytest.raises(CodeSetError, match=r"line 2, field 'syndromes'.*'madness'"):
        apco_call_types.__wrapped__()


def test_wrong_csv_header_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_file(monkeypatch, "sdoh_categories.csv", "# c\ncode,name\nx,y\n")
    with pytest.raises(CodeSetError, match=r"sdoh_categories.csv, line 2: header"):
        sdoh_categories.__wrapped__()


def test_yaml_boolean_words_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_file(
        monkeypatch,
        "chief_complaint.yaml",
        "source: s\nversion: v\nnegation: {cues: [no], window: 3, terminators: [but]}\n"
        "categories: {drug: {words: [pills]}}\n",
    )
    with pytest.raises(CodeSetError, match=r"negation.cues.*quote YAML words"):
        codesets.complaint_lexicon.__wrapped__()


def test_bad_icd_range_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_file(
        monkeypatch,
        "icd10cm.yaml",
        "source: s\nversion: v\nintent_fifth_character: []\n"
        "rules: [{name: r, codes: [T36-T5], syndromes: [overdose]}]\n"
        "mortality: {underlying_causes: [], drug_mentions: []}\n",
    )
    with pytest.raises(CodeSetError, match=r"rules\[0\].codes: 'T36-T5'.*equal-length"):
        icd10cm_rules.__wrapped__()


def test_missing_source_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    _replace_file(monkeypatch, "nemsis.yaml", "version: v\n")
    with pytest.raises(CodeSetError, match=r"nemsis.yaml: top-level field 'source'"):
        codesets._read_yaml("nemsis.yaml")
