"""HSDS 3.0: the synthetic directory and our documents validate against the official schemas
(per-object and compiled), the official examples import, and export after import is lossless."""

from __future__ import annotations

import copy
import gzip
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from wellbeat.care import hsds
from wellbeat.care.hsds import (
    HsdsError,
    ServiceSpec,
    ServiceUpdate,
    WeeklyHours,
    new_service_document,
    read_directory,
    service_from_hsds,
    synthetic_directory,
    update_service_document,
    write_directory,
)
from wellbeat.care.needs import needs

from .builders import service_doc

FIXTURES = Path(__file__).parent / "fixtures"


@cache
def compiled_service_validator() -> Draft202012Validator:
    """The official compiled (fully nested) HSDS 3.0 service schema, as published."""
    with gzip.open(FIXTURES / "hsds-3.0-compiled-service.json.gz", "rt", encoding="utf-8") as f:
        schema = json.load(f)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def compiled_errors(document: Any) -> list[str]:
    return [e.message for e in compiled_service_validator().iter_errors(document)]


def test_synthetic_directory_validates_against_the_official_compiled_schema() -> None:
    documents = synthetic_directory()
    assert len(documents) == 14
    for document in documents:
        assert compiled_errors(document) == [], document["name"]
        assert hsds.validate_object("service", document) == []


def test_synthetic_directory_round_trip_is_byte_identical() -> None:
    text = Path(hsds.__file__).parent.joinpath("data", hsds.SYNTHETIC_DIRECTORY).read_text("utf-8")
    assert write_directory(read_directory(text)) == text


def test_synthetic_directory_carries_wellbeat_facts_as_hsds_attributes() -> None:
    services = {s["name"]: service_from_hsds(s) for s in synthetic_directory()}
    detox = services["Withdrawal management (detox)"]
    assert detox.agency == "NBH"
    assert detox.part2_program and detox.takes_referrals
    assert detox.first_contact_hours == 24
    assert detox.needs == ("substance-use",)
    shelter = services["Emergency night shelter"]
    assert shelter.agency is None and not shelter.takes_referrals
    assert set(shelter.needs) == {"food-insecurity", "homelessness"}
    assert ("es", "spanish") in services["Housing navigation"].languages


def test_official_full_example_imports_with_a_warning_for_impossible_coordinates() -> None:
    text = (FIXTURES / "service_full.json").read_text("utf-8")
    [document] = read_directory(f"[{text}]", "service_full.json")
    service = service_from_hsds(document)
    assert service.name == "Community Counselling"
    assert service.languages == (("ur", "urdu"),)
    assert not service.places[0].has_point
    assert any("not WGS84" in w for w in service.warnings)
    assert not service.takes_referrals  # no hub agency runs it


def test_official_paginated_list_example_imports_its_contents() -> None:
    text = (FIXTURES / "service_list.json").read_text("utf-8")
    documents = read_directory(text, "service_list.json")
    assert [d["name"] for d in documents] == ["Community Counselling"]


def test_invalid_directory_errors_name_the_service_and_the_field() -> None:
    good = service_doc("Counselling")
    bad = copy.deepcopy(good)
    bad["id"] = "not-a-uuid"
    bad["status"] = "open"
    del bad["name"]
    with pytest.raises(HsdsError) as caught:
        read_directory(json.dumps([good, bad, good]), "upload.json")
    message = str(caught.value)
    assert message.startswith("upload.json: not valid HSDS 3.0")
    wheres = {p.where for p in caught.value.problems}
    assert {"[1].id", "[1].status", "[1]", "[2].id"} <= wheres
    assert "'name' is a required property" in message
    assert "is also the id of service [0]" in message


def test_nested_errors_carry_the_full_json_path() -> None:
    bad = service_doc("Counselling")
    bad["service_at_locations"][0]["location"]["location_type"] = "imaginary"
    problems = hsds.validate_directory([bad])
    assert [p.where for p in problems] == ["[0].service_at_locations[0].location.location_type"]


def test_not_json_reports_line_and_column() -> None:
    with pytest.raises(HsdsError, match=r"broken.json: .*line 2, column"):
        read_directory('[\n{"id": }]', "broken.json")


def test_a_directory_must_be_an_array() -> None:
    with pytest.raises(HsdsError, match="expected a JSON array"):
        read_directory('{"id": "x"}', "one.json")


def test_provider_update_keeps_the_document_valid_and_records_provenance() -> None:
    original = service_doc("Counselling", first_contact_hours=48)
    at = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
    updated = update_service_document(
        original,
        ServiceUpdate(accepting_referrals=False, first_contact_hours=24),
        "bhc_admin",
        at,
    )
    assert compiled_errors(updated) == []
    view = service_from_hsds(updated)
    assert not view.accepting_referrals and view.first_contact_hours == 24
    assert view.last_modified == at
    assert updated["assured_date"] == "2025-07-01"
    changes = {m["field_name"]: m for m in updated["metadata"]}
    assert changes["accepting-referrals"]["previous_value"] == "true"
    assert changes["accepting-referrals"]["replacement_value"] == "false"
    assert changes["first-contact-hours"]["updated_by"] == "bhc_admin"
    assert original["attributes"] != updated["attributes"]  # the input was not modified in place
    assert service_from_hsds(original).accepting_referrals


def test_confirming_an_entry_without_changes_is_recorded_as_verified() -> None:
    at = datetime(2025, 7, 1, tzinfo=UTC)
    updated = update_service_document(service_doc("Counselling"), ServiceUpdate(), "bhc_admin", at)
    [entry] = updated["metadata"]
    assert entry["last_action_type"] == "verified"
    assert service_from_hsds(updated).last_modified == at


def test_update_rejects_values_outside_the_specification() -> None:
    with pytest.raises(ValueError, match="field 'status'"):
        update_service_document(
            service_doc("X"), ServiceUpdate(status="open"), "u", datetime.now(UTC)
        )


_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)
_hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@settings(max_examples=40, deadline=None)
@given(
    name=_names,
    org=_names,
    agency=st.one_of(st.none(), st.from_regex(r"[A-Z]{3}", fullmatch=True)),
    chosen=st.lists(st.sampled_from(sorted(needs())), unique=True, max_size=4),
    lat=st.floats(-89, 89),
    lon=st.floats(-179, 179),
    days=st.lists(
        st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1, unique=True
    ),
    opens=_hhmm,
    closes=_hhmm,
    accepting=st.booleans(),
    hours=st.one_of(st.none(), st.integers(1, 1440)),
    part2=st.booleans(),
)
def test_any_service_we_build_is_valid_hsds_and_reads_back_the_same(
    name: str,
    org: str,
    agency: str | None,
    chosen: list[str],
    lat: float,
    lon: float,
    days: list[str],
    opens: str,
    closes: str,
    accepting: bool,
    hours: int | None,
    part2: bool,
) -> None:
    spec = ServiceSpec(
        name=name,
        description="d",
        organization_name=org,
        organization_description="o",
        agency=agency,
        needs=tuple(chosen),
        place_name="site",
        latitude=lat,
        longitude=lon,
        address_1="1 Main St",
        city="Millbrook",
        state="IA",
        postal_code="50309",
        hours=(WeeklyHours(tuple(days), opens, closes),),
        accepting_referrals=accepting,
        first_contact_hours=hours,
        part2_program=part2,
    )
    document = new_service_document(spec)
    assert compiled_errors(document) == []
    view = service_from_hsds(document)
    assert (view.name, view.organization_name, view.agency) == (name, org, agency)
    assert set(view.needs) == set(chosen)
    assert view.places[0].latitude == lat and view.places[0].longitude == lon
    assert (view.accepting_referrals, view.first_contact_hours, view.part2_program) == (
        accepting,
        hours,
        part2,
    )
    assert read_directory(write_directory([document])) == [document]
