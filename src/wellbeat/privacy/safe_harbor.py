"""HIPAA Safe Harbor de-identification helpers (45 CFR 164.514(b)(2)).

Safe Harbor removes 18 kinds of identifier. These helpers do the coarsening the rule allows
(3-digit ZIP except in sparsely populated ZIP3 areas, years instead of dates, "90+" for ages
over 89) and flag columns whose names suggest one of the 18 kinds, so a mapping profile or an
export can be checked before anything leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from wellbeat.events.schema import age_band

RESTRICTED_ZIP3: Final = frozenset(
    {
        "036", "059", "063", "102", "203", "556", "692", "790", "821",
        "823", "830", "831", "878", "879", "884", "890", "893",
    }
)  # fmt: skip
"""ZIP3 areas of 20,000 people or fewer (2000 Census), published as "000"
(HHS, "Guidance Regarding Methods for De-identification of PHI", 2012, section 2.4)."""

ZIP3_SUPPRESSED: Final = "000"
TOP_AGE: Final = "90+"
"""Ages over 89 and dates that reveal them collapse into one category (164.514(b)(2)(i)(C))."""


def safe_zip3(zip_code: str | None) -> str | None:
    """First three digits of a ZIP code, or "000" where the ZIP3 area is restricted.

    None when the value has fewer than three digits (nothing safe to publish).
    """
    if zip_code is None:
        return None
    digits = re.sub(r"\D", "", zip_code)
    if len(digits) < 3:
        return None
    zip3 = digits[:3]
    return ZIP3_SUPPRESSED if zip3 in RESTRICTED_ZIP3 else zip3


def safe_year(value: date | datetime | None) -> int | None:
    """Only the year of a date: every other date element is an identifier under Safe Harbor."""
    return None if value is None else value.year


def safe_age(age: int | None) -> str | None:
    """Age in whole years as text, with every age over 89 reported as "90+"."""
    if age is None:
        return None
    if age < 0:
        raise ValueError(f"age must be >= 0, got {age}")
    return TOP_AGE if age > 89 else str(age)


def safe_age_band(age: int | None) -> str | None:
    """The event schema's five-year band for an age ("90+" at the top)."""
    return None if age is None else age_band(age)


def age_on(dob: date, at: date) -> int:
    """Age in completed years on ``at`` for someone born on ``dob``."""
    if at < dob:
        raise ValueError(f"date {at.isoformat()} is before the date of birth {dob.isoformat()}")
    return at.year - dob.year - ((at.month, at.day) < (dob.month, dob.day))


def safe_birth_year(dob: date | None, at: date) -> str | None:
    """Birth year, or "90+" when the person is over 89 on ``at`` (the year would reveal it)."""
    if dob is None:
        return None
    return TOP_AGE if age_on(dob, at) > 89 else str(dob.year)


class IdentifierKind(StrEnum):
    """The 18 Safe Harbor identifier kinds, in the order of 164.514(b)(2)(i)(A)-(R)."""

    NAMES = "names"
    GEOGRAPHY = "geography"
    DATES = "dates"
    PHONE = "phone"
    FAX = "fax"
    EMAIL = "email"
    SSN = "ssn"
    MEDICAL_RECORD = "medical_record_number"
    HEALTH_PLAN = "health_plan_number"
    ACCOUNT = "account_number"
    LICENSE = "certificate_or_license_number"
    VEHICLE = "vehicle_identifier"
    DEVICE = "device_identifier"
    URL = "url"
    IP_ADDRESS = "ip_address"
    BIOMETRIC = "biometric"
    PHOTO = "photo"
    OTHER_UNIQUE = "other_unique_identifier"


@dataclass(frozen=True)
class _Pattern:
    words: frozenset[str] = frozenset()
    """Any one of these words in the column name."""
    compact: tuple[str, ...] = ()
    """Any of these inside the name with separators removed ("dateofbirth")."""
    pairs: tuple[tuple[str, str], ...] = ()
    """Both words of a pair in the name ("first" and "name")."""
    unless: frozenset[str] = frozenset()
    """Words that mean another kind ("ip" in "IPAddress" is not a street address)."""


_PERSON_WORDS = ("patient", "person", "client", "caller", "victim", "subject", "suspect")

_PATTERNS: Final[dict[IdentifierKind, _Pattern]] = {
    IdentifierKind.NAMES: _Pattern(
        words=frozenset({"surname", "fname", "lname", "mname", "forename", "fullname", "alias"}),
        compact=("firstname", "lastname", "middlename", "givenname", "familyname", "maidenname"),
        pairs=tuple(("name", w) for w in ("first", "last", "middle", "given", "family", "maiden",
                                         "full", *_PERSON_WORDS)),
    ),
    IdentifierKind.GEOGRAPHY: _Pattern(
        words=frozenset({"address", "addr", "street", "city", "county", "precinct", "zip",
                         "zipcode", "postcode", "postal", "lat", "latitude", "lon", "lng",
                         "longitude", "geocode", "tract", "census", "xcoord", "ycoord", "h3",
                         "geohash", "beat", "block", "neighborhood", "neighbourhood"}),
        compact=("streetaddress", "zipcode", "postalcode"),
        unless=frozenset({"ip", "email", "mac", "web"}),
    ),
    IdentifierKind.DATES: _Pattern(
        words=frozenset({"date", "dob", "dod", "birth", "birthdate", "birthday", "dt", "datetime",
                         "timestamp", "time", "admit", "admitted", "admission", "discharge",
                         "discharged", "death", "died", "at", "age", "received", "reported",
                         "occurred", "arrived", "arrival", "onset"}),
        compact=("dateofbirth", "birthdate", "dateofdeath"),
    ),
    IdentifierKind.PHONE: _Pattern(
        words=frozenset({"phone", "telephone", "tel", "mobile", "cellphone"}),
        compact=("phonenumber", "cellphone", "contactnumber"),
    ),
    IdentifierKind.FAX: _Pattern(words=frozenset({"fax", "facsimile"})),
    IdentifierKind.EMAIL: _Pattern(words=frozenset({"email"}), compact=("email",)),
    IdentifierKind.SSN: _Pattern(
        words=frozenset({"ssn", "ssn4", "socsec"}), compact=("socialsecurity",)
    ),
    IdentifierKind.MEDICAL_RECORD: _Pattern(
        words=frozenset({"mrn", "chart"}), compact=("medicalrecord", "medrec", "patientnumber"),
    ),
    IdentifierKind.HEALTH_PLAN: _Pattern(
        words=frozenset({"beneficiary", "medicaid", "medicare", "insurance", "insurer",
                         "subscriber", "payer", "policy"}),
        compact=("memberid", "healthplan", "insuranceid"),
    ),
    IdentifierKind.ACCOUNT: _Pattern(words=frozenset({"account", "acct"}), compact=("accountno",)),
    IdentifierKind.LICENSE: _Pattern(
        words=frozenset({"license", "licence", "certificate", "permit", "dl"}),
        compact=("driverslicense", "licensenumber"),
        unless=frozenset({"plate"}),
    ),
    IdentifierKind.VEHICLE: _Pattern(
        words=frozenset({"vin", "plate", "vehicle"}), compact=("licenseplate", "tagnumber"),
    ),
    IdentifierKind.DEVICE: _Pattern(
        words=frozenset({"device", "serial", "imei", "udid", "mac"}),
        compact=("serialnumber", "deviceid", "macaddress"),
    ),
    IdentifierKind.URL: _Pattern(words=frozenset({"url", "uri", "website", "homepage"})),
    IdentifierKind.IP_ADDRESS: _Pattern(
        words=frozenset({"ip", "ipv4", "ipv6"}), compact=("ipaddress",)
    ),
    IdentifierKind.BIOMETRIC: _Pattern(
        words=frozenset({"biometric", "fingerprint", "fingerprints", "retina", "iris",
                         "voiceprint", "dna"}),
    ),
    IdentifierKind.PHOTO: _Pattern(
        words=frozenset({"photo", "photograph", "picture", "image", "mugshot", "face"}),
    ),
    IdentifierKind.OTHER_UNIQUE: _Pattern(
        compact=("personid", "patientid", "clientid", "subjectid", "bookingnumber",
                 "inmatenumber", "bookingid", "inmateid", "fbinumber", "sidnumber"),
    ),
}  # fmt: skip


def column_words(column: str) -> list[str]:
    """Lower-case words of a column name: "PatientDOB" -> ["patient", "dob"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def identifier_kinds(columns: Iterable[str]) -> dict[IdentifierKind, list[str]]:
    """Which of the 18 identifier kinds the column names appear to hold, kind -> columns.

    A name-based screen: it finds "FirstName", "patient_dob" or "Zip" but cannot see a name
    typed into a free-text column, so it complements, never replaces, reading the data.
    """
    found: dict[IdentifierKind, list[str]] = {}
    for column in columns:
        words = set(column_words(column))
        compact = "".join(column_words(column))
        for kind, pattern in _PATTERNS.items():
            if words & pattern.unless:
                continue
            if (
                words & pattern.words
                or any(part in compact for part in pattern.compact)
                or any(a in words and b in words for a, b in pattern.pairs)
                or (kind is IdentifierKind.NAMES and words == {"name"})
            ):
                found.setdefault(kind, []).append(column)
    return {kind: found[kind] for kind in IdentifierKind if kind in found}
