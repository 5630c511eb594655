"""Mapping profiles: a typed model, and errors that say file, line, key path and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from wellbeat.ingest.profile import ProfileError, load_profile, parse_profile

MINIMAL = """\
profile: metro-pd-cad
connector: generic
agency: MPD
sector: police
kind: call_for_service
fields:
  event_id: {column: CallNumber}
  occurred_at: {column: CallReceived, format: "%m/%d/%Y %H:%M:%S"}
"""


def test_full_profile_from_the_contract_parses_into_a_typed_model() -> None:
    text = """\
profile: metro-pd-cad
connector: generic
agency: MPD
sector: police
kind: call_for_service
format: csv
timezone: America/Chicago
fields:
  event_id: {column: CallNumber}
  occurred_at: {column: CallReceived, format: "%m/%d/%Y %H:%M:%S"}
  reported_at: {column: EntryTime}
  lat: {column: Latitude}
  lon: {column: Longitude}
  sex: {column: Gender, map: {M: male, F: female, U: unknown}}
  age_band: {column: Age}
  kind: {column: RecType, map: {CFS: call_for_service, ARR: arrest}}
codes:
  - {column: CallType, namespace: apco, map: {PSYCH: EDP, OD: OD}}
  - {column: Offenses, namespace: nibrs, split: ";"}
attributes:
  fatal: {column: Died, map: {Y: "true", N: "false", Yes: "true"}}
identity:
  first_name: FirstName
  dob: BirthDate
  dob_format: "%Y-%m-%d"
  sex: Gender
keep_text:
  chief_complaint: ChiefComplaint
  narrative: {column: Narrative, share: true}
sensitivity: [phi, cji]
"""
    profile = parse_profile(text, "cad.yaml")
    assert profile.name == "metro-pd-cad"
    assert profile.timezone == "America/Chicago"
    assert profile.fields["occurred_at"].format == "%m/%d/%Y %H:%M:%S"
    assert profile.fields["sex"].map == {"M": "male", "F": "female", "U": "unknown"}
    assert profile.age_band is not None and profile.age_band.column == "Age"
    assert [(c.namespace, c.split) for c in profile.codes] == [("apco", None), ("nibrs", ";")]
    # YAML 1.1 would turn the key "Yes" into a boolean; the agency's code must stay as written.
    assert profile.attributes["fatal"].map == {"Y": "true", "N": "false", "Yes": "true"}
    assert profile.identity.columns() == {
        "first_name": "FirstName",
        "dob": "BirthDate",
        "sex": "Gender",
    }
    assert profile.keep_text["chief_complaint"].share is False
    assert profile.keep_text["narrative"].share is True
    assert profile.sensitivity == ("phi", "cji")
    assert profile.extract_format("anything.txt") == "csv"


def test_age_band_from_dob_and_defaults_from_the_connector() -> None:
    text = """\
profile: county-ems
connector: ems_run
agency: CEMS
fields:
  occurred_at: {column: Dispatched}
  age_band: {from_dob: DOB, at: occurred_at, format: "%m/%d/%Y"}
"""
    profile = parse_profile(text, "ems.yaml")
    assert profile.sector == "fire_ems"
    assert profile.kind == "ems_response"
    assert profile.timezone == "UTC"
    assert profile.age_from_dob is not None
    assert (profile.age_from_dob.column, profile.age_from_dob.format) == ("DOB", "%m/%d/%Y")


def _error(text: str) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "p.yaml")
    return caught.value


def test_missing_column_key_names_file_line_and_key_path() -> None:
    error = _error(MINIMAL.replace('{column: CallReceived, format: "%m/%d/%Y %H:%M:%S"}', "{}"))
    assert error.file == "p.yaml"
    assert error.line == 8
    assert error.field == "fields.occurred_at.column"
    assert str(error).startswith("p.yaml:8: fields.occurred_at.column: expected ")


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (("sector: police", "sector: polis"), "sector", "one of police, fire_ems"),
        (("kind: call_for_service", "kind: callz"), "kind", "one of call_for_service"),
        (("connector: generic", "connector: cad"), "connector", "one of cardiff_assault"),
        (("  event_id:", "  eventid:"), "fields.eventid", "a canonical field"),
        (("agency: MPD", "agency: MPD\ncolour: blue"), "colour", "one of the keys profile"),
        (("agency: MPD", "agency: MPD\ntimezone: Mars/Olympus"), "timezone", "an IANA time zone"),
        (("agency: MPD", "agency: MPD\nsensitivity: [secret]"), "sensitivity.0", "one of phi"),
        (
            ("agency: MPD", "agency: MPD\ncodes:\n  - {column: X, namespace: icd9}"),
            "codes.0.namespace",
            "one of nibrs, icd10cm",
        ),
        (
            ("agency: MPD", "agency: MPD\nidentity: {surname: Last}"),
            "identity.surname",
            "one of the keys first_name",
        ),
        (
            ("agency: MPD", "agency: MPD\nkeep_text: {cc: {column: CC, share: maybe}}"),
            "keep_text.cc.share",
            "true or false",
        ),
    ],
)
def test_bad_values_are_rejected_with_what_was_expected(
    change: tuple[str, str], field: str, expected: str
) -> None:
    error = _error(MINIMAL.replace(*change))
    assert error.field == field
    assert expected in error.expected
    assert error.line is not None


def test_occurred_at_is_required() -> None:
    error = _error(
        MINIMAL.replace('  occurred_at: {column: CallReceived, format: "%m/%d/%Y %H:%M:%S"}\n', "")
    )
    assert error.field == "fields.occurred_at"


def test_generic_connector_needs_a_sector() -> None:
    error = _error(MINIMAL.replace("sector: police\n", ""))
    assert error.field == "sector"


def test_duplicate_keys_are_an_error_not_a_silent_override() -> None:
    error = _error(MINIMAL + "agency: OTHER\n")
    assert error.field == "agency"
    assert error.line == 9


def test_yaml_syntax_error_names_the_line() -> None:
    error = _error(MINIMAL + "fields: [unclosed\n")
    assert error.field == "(YAML syntax)"
    assert error.line is not None


def test_identity_column_may_not_be_copied_into_the_batch() -> None:
    text = MINIMAL + "attributes:\n  who: {column: LastName}\nidentity:\n  last_name: LastName\n"
    error = _error(text)
    assert error.field == "attributes.who.column"
    assert "identity.last_name" in error.expected


def test_identity_sex_column_may_also_feed_the_sex_field() -> None:
    text = MINIMAL + "  sex: {column: Gender}\nidentity:\n  sex: Gender\n"
    profile = parse_profile(text, "p.yaml")
    assert profile.fields["sex"].column == "Gender"


def test_columns_missing_from_the_extract_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "cad.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    profile = load_profile(path)
    with pytest.raises(ProfileError) as caught:
        profile.check_columns(["CallNumber", "Received"], "extract.csv")
    message = str(caught.value)
    assert f"{path}:8:" in message
    assert "profile field 'fields.occurred_at.column'" in message
    assert "(columns: CallNumber, Received)" in message
    assert "'CallReceived'" in message


def test_unreadable_profile_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(caught.value)
