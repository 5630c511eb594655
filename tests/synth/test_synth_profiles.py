"""Every profile follows docs/profiles.md and fits its extract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from wellbeat.events.schema import CODE_NAMESPACES, SEXES, Kind, Sector
from wellbeat.ingest.profile import load_profile

from .conftest import BuiltCity
from .test_synth_build import SOURCES

DOC_KEYS = [
    "profile", "connector", "agency", "sector", "kind", "format", "timezone", "fields", "codes",
    "attributes", "identity", "keep_text", "sensitivity",
]  # fmt: skip
CONNECTORS = {
    "police_cad", "nibrs_incident", "ems_run", "ed_syndromic", "medical_examiner",
    "cardiff_assault", "police_stop", "use_of_force", "generic",
}  # fmt: skip
IDENTITY_PARTS = {"first_name", "last_name", "dob", "sex", "ssn", "phone", "address", "zip"}

SOURCE_IDS = [f"{a}/{s}" for a, s in SOURCES]


def _profile(tiny: BuiltCity, key: str) -> tuple[dict[str, Any], list[str], Path]:
    agency, source = key.split("/")
    info = tiny.city.source(agency, source)
    data = yaml.safe_load(info.profile.read_text())
    columns = list(tiny.extract(agency, source).columns)
    return data, columns, info.profile


@pytest.mark.parametrize("key", SOURCE_IDS)
def test_profile_has_exactly_the_documented_keys(tiny: BuiltCity, key: str) -> None:
    data, _, _ = _profile(tiny, key)
    assert list(data) == DOC_KEYS
    assert data["connector"] in CONNECTORS
    assert data["sector"] in {s.value for s in Sector}
    assert data["kind"] in {k.value for k in Kind}
    assert data["agency"] == key.split("/")[0]
    assert data["timezone"] == "America/Chicago"
    assert set(data["identity"]) - {"dob_format"} <= IDENTITY_PARTS


@pytest.mark.parametrize("key", SOURCE_IDS)
def test_every_column_a_profile_names_exists_in_its_extract(tiny: BuiltCity, key: str) -> None:
    data, columns, path = _profile(tiny, key)
    named: list[str] = []
    for name, spec in data["fields"].items():
        named.append(
            spec["from_dob"] if name == "age_band" and "from_dob" in spec else spec["column"]
        )
    named += [c["column"] for c in data["codes"]]
    named += [a["column"] for a in data["attributes"].values()]
    named += [v for k, v in data["identity"].items() if k != "dob_format"]
    named += [t if isinstance(t, str) else t["column"] for t in data["keep_text"].values()]
    missing = sorted(set(named) - set(columns))
    assert not missing, f"{path}: columns {missing} not in extract columns {columns}"
    for code in data["codes"]:
        assert code["namespace"] in CODE_NAMESPACES


@pytest.mark.parametrize("key", SOURCE_IDS)
def test_the_prepare_parser_accepts_every_profile(tiny: BuiltCity, key: str) -> None:
    _, columns, path = _profile(tiny, key)
    profile = load_profile(path)
    profile.check_columns(columns, path)
    assert profile.connector == SOURCES[tuple(key.split("/"))][0]  # type: ignore[index]


@pytest.mark.parametrize("key", SOURCE_IDS)
def test_sex_codes_in_every_extract_are_mapped_to_canonical_values(
    tiny: BuiltCity, key: str
) -> None:
    data, _, _ = _profile(tiny, key)
    sex = data["fields"]["sex"]
    values = set(tiny.extract(*key.split("/"))[sex["column"]]) - {""}
    assert values <= set(sex["map"]), f"{key}: unmapped sex codes {values - set(sex['map'])}"
    assert set(sex["map"].values()) <= set(SEXES)


def test_cad_call_types_all_map_to_apco(tiny: BuiltCity) -> None:
    data, _, _ = _profile(tiny, "MPD/cad")
    (calls,) = data["codes"]
    used = set(tiny.extract("MPD", "cad")["CallType"])
    assert {"PSYCH", "ODPOI", "WELFCK"} <= used
    assert used <= set(calls["map"])
    assert calls["map"]["PSYCH"] == "EDP" and calls["map"]["ODPOI"] == "OD"


def test_ems_naloxone_response_and_dispatch_map_to_nemsis(tiny: BuiltCity) -> None:
    data, _, _ = _profile(tiny, "MFR/runs")
    runs = tiny.extract("MFR", "runs")
    response = data["attributes"]["naloxone_response"]["map"]
    assert response["Improved"] == "9916001"
    assert set(runs["NaloxoneResponse"]) - {""} <= set(response)
    dispatch = next(c for c in data["codes"] if c["namespace"] == "nemsis")["map"]
    assert dispatch["Overdose/Poisoning"] == "2301053"
    assert set(runs["DispatchReason"]) <= set(dispatch)


def test_part2_sensitivity_only_on_the_sud_programme(tiny: BuiltCity) -> None:
    part2 = [k for k in SOURCE_IDS if "part2" in _profile(tiny, k)[0]["sensitivity"]]
    assert part2 == ["NBH/sud_followup"]
    assert "cji" in _profile(tiny, "MPD/nibrs")[0]["sensitivity"]


@pytest.mark.parametrize("key", SOURCE_IDS)
def test_every_extract_has_identities_and_coordinates_inside_the_city(
    tiny: BuiltCity, key: str
) -> None:
    data, _, _ = _profile(tiny, key)
    assert {"first_name", "last_name", "dob", "sex"} <= set(data["identity"])
    extract = tiny.extract(*key.split("/"))
    named = extract[data["identity"]["last_name"]] != ""
    assert named.mean() > 0.4
    lat = extract[data["fields"]["lat"]["column"]].astype(float)
    lon = extract[data["fields"]["lon"]["column"]].astype(float)
    assert lat.between(41.5, 41.7).all() and lon.between(-93.76, -93.48).all()


@pytest.mark.parametrize("key", SOURCE_IDS)
def test_every_code_a_profile_maps_to_is_in_the_code_sets(tiny: BuiltCity, key: str) -> None:
    # The synthetic feeds are clean on purpose: the invalid-code monitor (docs/data-quality.md)
    # must not flag them (only the planted problems should show).
    from wellbeat.analytics.quality import code_is_valid

    data, _, _ = _profile(tiny, key)
    for rule in data["codes"]:
        targets = {f"{rule['namespace']}:{v}" for v in (rule.get("map") or {}).values()}
        assert not [t for t in sorted(targets) if not code_is_valid(t)], rule["column"]
