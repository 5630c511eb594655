"""Safe Harbor coarsening and the identifier-column screen."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from wellbeat.privacy.safe_harbor import (
    RESTRICTED_ZIP3,
    IdentifierKind,
    age_on,
    column_words,
    identifier_kinds,
    safe_age,
    safe_age_band,
    safe_birth_year,
    safe_year,
    safe_zip3,
)


def test_zip3_keeps_populous_areas_and_zeroes_the_17_restricted_ones() -> None:
    assert len(RESTRICTED_ZIP3) == 17
    assert safe_zip3("60614-1234") == "606"
    assert safe_zip3("03601") == "000"  # 036 is restricted
    assert safe_zip3("89301") == "000"
    assert safe_zip3("12") is None
    assert safe_zip3(None) is None


def test_dates_become_years_and_ages_over_89_collapse() -> None:
    assert safe_year(date(2024, 3, 9)) == 2024
    assert safe_year(datetime(2023, 12, 31, 23, 59)) == 2023
    assert safe_age(89) == "89"
    assert safe_age(90) == "90+"
    assert safe_age(104) == "90+"
    assert safe_age_band(92) == "90+"
    assert safe_age_band(37) == "35-39"
    with pytest.raises(ValueError, match="age must be >= 0"):
        safe_age(-1)


def test_birth_year_is_hidden_when_it_reveals_an_age_over_89() -> None:
    at = date(2024, 6, 1)
    assert age_on(date(1934, 6, 2), at) == 89
    assert safe_birth_year(date(1934, 6, 2), at) == "1934"
    assert safe_birth_year(date(1934, 6, 1), at) == "90+"
    assert safe_birth_year(None, at) is None
    with pytest.raises(ValueError, match="before the date of birth"):
        age_on(date(2025, 1, 1), at)


def test_column_words_split_camel_case_and_separators() -> None:
    assert column_words("PatientDOB") == ["patient", "dob"]
    assert column_words("first_name") == ["first", "name"]
    assert column_words("IPAddress") == ["ip", "address"]


def test_identifier_screen_finds_a_typical_cad_and_ed_extract() -> None:
    columns = [
        "CallNumber", "FirstName", "LastName", "BirthDate", "Gender", "SSN", "Phone",
        "StreetAddress", "Zip", "Latitude", "CallReceived", "ChiefComplaint", "MRN",
        "MedicaidID", "EMail", "VIN", "LicensePlate", "IPAddress", "PatientID", "Dx1",
        "NarcanDoses", "facility_name", "FaxNo", "MugshotImage", "WebsiteURL",
    ]  # fmt: skip
    found = identifier_kinds(columns)
    assert found[IdentifierKind.NAMES] == ["FirstName", "LastName"]
    assert found[IdentifierKind.DATES] == ["BirthDate", "CallReceived"]
    assert found[IdentifierKind.GEOGRAPHY] == ["StreetAddress", "Zip", "Latitude"]
    assert found[IdentifierKind.IP_ADDRESS] == ["IPAddress"]
    assert found[IdentifierKind.VEHICLE] == ["VIN", "LicensePlate"]
    assert IdentifierKind.LICENSE not in found
    assert found[IdentifierKind.SSN] == ["SSN"]
    assert found[IdentifierKind.MEDICAL_RECORD] == ["MRN"]
    assert found[IdentifierKind.HEALTH_PLAN] == ["MedicaidID"]
    assert found[IdentifierKind.OTHER_UNIQUE] == ["PatientID"]
    flagged = {c for cols in found.values() for c in cols}
    for harmless in ("CallNumber", "Gender", "ChiefComplaint", "Dx1", "NarcanDoses",
                     "facility_name"):  # fmt: skip
        assert harmless not in flagged
    assert list(found) == [k for k in IdentifierKind if k in found]


def test_there_are_18_identifier_kinds() -> None:
    assert len(IdentifierKind) == 18
