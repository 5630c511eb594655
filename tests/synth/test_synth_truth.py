"""The ground truth matches the raw extracts, and the planted signals are really in the data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from shapely.geometry import shape

from wellbeat.synth import build_city

from .conftest import BuiltCity
from .test_synth_build import SOURCES

ASSAULT_CODE = re.compile(r"\b(?:Y04|X99|Y00|X95|T74)")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> BuiltCity:
    """The demo-sized city, for checks that need more than a handful of events."""
    return BuiltCity(build_city(tmp_path_factory.mktemp("small-city"), 42, "small"), 0.0)


def _event_id_column(built: BuiltCity, agency: str, source: str) -> str:
    data = yaml.safe_load(built.city.source(agency, source).profile.read_text())
    column: str = data["fields"]["event_id"]["column"]
    return column


def _polygons(built: BuiltCity, layer: str) -> dict[str, shapely.Geometry]:
    return {f["properties"]["id"]: shape(f["geometry"]) for f in built.layer(layer)["features"]}


def _inside(
    built: BuiltCity, layer: str, ids: list[str], lon: pd.Series, lat: pd.Series
) -> np.ndarray:
    area = shapely.union_all([_polygons(built, layer)[i] for i in ids])
    return shapely.contains_xy(area, lon.astype(float).to_numpy(), lat.astype(float).to_numpy())


def test_events_csv_maps_every_extract_row_in_order(tiny: BuiltCity) -> None:
    events = tiny.events()
    people = set(tiny.people()["person_id"])
    for agency, source in SOURCES:
        rows = events[(events["agency"] == agency) & (events["source"] == source)]
        extract = tiny.extract(agency, source)
        assert len(rows) == len(extract) == tiny.city.source(agency, source).rows
        assert list(rows["event_id"]) == list(extract[_event_id_column(tiny, agency, source)])
        assert list(rows["source_row"].astype(int)) == list(range(1, len(extract) + 1))
    assert set(events["person_id"]) <= people
    assert events["occurred_at"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()


def test_extracts_carry_raw_identifiers_prepare_must_remove(tiny: BuiltCity) -> None:
    events = tiny.events()
    people = tiny.people().set_index("person_id")
    ed = tiny.extract("SMH", "ed")
    visits = events[(events["agency"] == "SMH") & (events["source"] == "ed")]
    assert list(visits["event_id"]) == list(ed["Visit_ID"])
    truth = people.loc[visits["person_id"]]
    assert (ed["SSN"].to_numpy() == truth["ssn"].to_numpy()).mean() > 0.3
    assert (ed["Patient_Phone"].to_numpy() == truth["phone"].to_numpy()).mean() > 0.6
    assert (ed["Patient_Last_Name"].to_numpy() == truth["last_name"].to_numpy()).mean() > 0.9
    runs = tiny.extract("MFR", "runs")
    assert runs["PatientSSN"].str.match(r"^\d{3}-\d\d-\d{4}$").sum() > 0.2 * len(runs)
    assert runs["PatientHomeAddress"].str.match(r"^\d+ \w").sum() > 0.5 * len(runs)
    cad = tiny.extract("MPD", "cad")
    assert (cad["CallerPhone"] != "").mean() > 0.5
    named = cad["SubjectLast"] != ""
    # Free text repeats the identifiers: prepare must drop narratives.
    assert cad.loc[named, "Narrative"].str.contains("SUBJ ").all()


def test_free_text_has_negations_and_misspellings(tiny: BuiltCity) -> None:
    complaints = pd.concat(
        [tiny.extract("SMH", "ed")["Chief_Complaint_Text"], tiny.extract("CGH", "ed")["CC"]]
    ).str.lower()
    assert complaints.str.contains("denies").any()
    assert complaints.str.contains("denies overdose").any()
    misspelled = {"overdoes", "fentynal", "herion", "assualt", "depresion", "bizzare", "dificulty"}
    assert any(complaints.str.contains(word).any() for word in misspelled)


def test_identity_noise_is_present_but_most_identities_survive(tiny: BuiltCity) -> None:
    events = tiny.events()
    people = tiny.people().set_index("person_id")
    ed = tiny.extract("SMH", "ed").assign(person_id=events.loc[
        (events["agency"] == "SMH") & (events["source"] == "ed"), "person_id"
    ].to_numpy())  # fmt: skip
    runs = tiny.extract("MFR", "runs").assign(person_id=events.loc[
        (events["agency"] == "MFR") & (events["source"] == "runs"), "person_id"
    ].to_numpy())  # fmt: skip
    first = pd.concat([ed["Patient_First_Name"], runs["PatientFirstName"]]).to_numpy()
    dob = pd.concat([ed["Birth_Date"], runs["PatientDOB"].str.replace("-", "")]).to_numpy()
    person = pd.concat([ed["person_id"], runs["person_id"]]).to_numpy()
    true_first = people.loc[person, "first_name"].to_numpy()
    true_dob = people.loc[person, "dob"].str.replace("-", "").to_numpy()

    present = first != ""
    assert (first[present] == true_first[present]).mean() > 0.8
    assert (first[present] != true_first[present]).sum() > 5  # nicknames and typos
    assert (first == "").sum() > 0
    given = dob != ""
    wrong = given & (dob != true_dob)
    assert (dob[given] == true_dob[given]).mean() > 0.9
    assert wrong.sum() > 0
    # A wrong DOB is a transposition: the same digits in another order.
    assert all(sorted(a) == sorted(b) for a, b in zip(dob[wrong], true_dob[wrong], strict=True))


def test_spike_areas_are_adjacent_and_dated(tiny: BuiltCity) -> None:
    polygons = _polygons(tiny, "neighbourhood")
    spikes = tiny.planted["spikes"]
    assert len(spikes) >= 3
    for spike in spikes:
        areas = spike["neighbourhoods"]
        assert 2 <= len(areas) <= 4
        assert 2 <= spike["days"] <= 4
        union = shapely.union_all([polygons[a] for a in areas])
        assert union.geom_type == "Polygon", f"{spike['id']} areas are not contiguous"
        assert spike["deaths"] >= 1 and spike["records"]["OME/deaths"] == spike["deaths"]


def test_spikes_stand_out_in_raw_ems_naloxone_runs(small: BuiltCity) -> None:
    runs = small.extract("MFR", "runs")
    naloxone = runs[runs["NaloxoneDoses"].astype(int) > 0]
    day = pd.to_datetime(naloxone["UnitNotified"].str[:10])
    days_in_span = (pd.Timestamp(small.city.end) - pd.Timestamp(small.city.start)).days + 1
    for spike in small.planted["spikes"]:
        inside = _inside(
            small, "neighbourhood", spike["neighbourhoods"],
            naloxone["SceneLongitude"], naloxone["SceneLatitude"],
        )  # fmt: skip
        during = (day >= spike["start"]) & (day <= spike["end"])
        spike_rate = (inside & during).sum() / spike["days"]
        baseline_rate = (inside & ~during).sum() / (days_in_span - spike["days"])
        assert (inside & during).sum() >= 8, spike["id"]
        assert spike_rate > 5 * max(baseline_rate, 0.1), spike["id"]


def test_hotspot_violence_is_seen_by_eds_not_police(small: BuiltCity) -> None:
    hotspot = small.planted["hotspot"]
    areas = hotspot["neighbourhoods"]
    shares = hotspot["police_share_of_ed_treated_assaults"]
    assert shares["hotspot"] < 0.2 < 0.3 < shares["elsewhere"]

    smh = small.extract("SMH", "ed")
    cgh = small.extract("CGH", "ed")
    smh_assault = smh["Discharge_Diagnosis"].str.contains(ASSAULT_CODE)
    cgh_assault = (cgh["DX1"] + ";" + cgh["DX2"] + ";" + cgh["DX3"]).str.contains(ASSAULT_CODE)
    ed_in = _inside(small, "neighbourhood", areas, smh["Event_Lon"], smh["Event_Lat"])
    ed_in_cgh = _inside(small, "neighbourhood", areas, cgh["LON"], cgh["LAT"])
    ed_assaults = (smh_assault & ed_in).sum() + (cgh_assault & ed_in_cgh).sum()

    cad = small.extract("MPD", "cad")
    violent = cad["CallType"].isin(["ASLT", "SHOTS", "DV"])
    cad_in = _inside(small, "neighbourhood", areas, cad["Longitude"], cad["Latitude"])
    police_assaults = (violent & cad_in).sum()
    assert ed_assaults > 3 * police_assaults
    # Elsewhere police hear of most of what the EDs treat.
    ed_elsewhere = (smh_assault & ~ed_in).sum() + (cgh_assault & ~ed_in_cgh).sum()
    assert (violent & ~cad_in).sum() > 0.5 * ed_elsewhere

    cardiff = small.extract("SMH", "cardiff")
    in_cardiff = _inside(small, "neighbourhood", areas, cardiff["Longitude"], cardiff["Latitude"])
    venues = cardiff.loc[in_cardiff, "LocationType"].value_counts()
    assert venues.index[0] in {"BAR_CLUB", "STREET"}


def test_co_responder_programme_lowers_repeat_crisis_episodes(small: BuiltCity) -> None:
    program = small.planted["program"]
    counts = program["repeat_crisis_episodes"]
    program_ratio = counts["program"]["after"] / counts["program"]["before"]
    comparison_ratio = counts["comparison"]["after"] / counts["comparison"]["before"]
    # Difference in differences recovers roughly the planted 40% reduction.
    assert 0.45 < program_ratio / comparison_ratio < 0.8
    assert counts["prevented"] > 0

    cad = small.extract("MPD", "cad")
    coresponder = cad[cad["CoResponder"] == "Y"]
    assert len(coresponder) > 20
    inside = _inside(
        small, "district", program["districts"], coresponder["Longitude"], coresponder["Latitude"]
    )
    assert inside.all()
    called = pd.to_datetime(coresponder["CallReceived"], format="%m/%d/%Y %H:%M:%S")
    assert (called >= pd.Timestamp(program["start"])).all()
    teams = small.extract("NBH", "crisis")
    assert (teams.loc[teams["team"] == "CORESP", "contact_start"] >= program["start"]).all()


def test_frequent_utilizers_cross_sectors_with_true_identities(tiny: BuiltCity) -> None:
    utilizers = tiny.planted["frequent_utilizers"]
    people = tiny.people().set_index("person_id")
    assert len(utilizers) == 6
    assert set(people.index[people["frequent_utilizer"] == "true"]) == {
        u["person_id"] for u in utilizers
    }
    events = tiny.events()
    median = events["person_id"].value_counts().median()
    for u in utilizers:
        row = people.loc[u["person_id"]]
        assert (u["first_name"], u["last_name"], u["dob"], u["ssn"]) == (
            row["first_name"], row["last_name"], row["dob"], row["ssn"],
        )  # fmt: skip
        assert u["records"] == (events["person_id"] == u["person_id"]).sum()
        assert u["records"] >= 15 > median
        assert len(u["by_sector"]) >= 3


def test_deliberate_defects_are_listed_and_present(small: BuiltCity) -> None:
    defects = small.planted["data_quality"]
    (key,) = defects
    cardiff = small.extract("SMH", "cardiff").set_index("AttendanceRef")
    assert key.startswith("SMH/cardiff")
    assert len(defects[key]) > 0
    assert (cardiff.loc[defects[key], "AssaultDateTime"] == "").all()
    assert (cardiff.drop(index=defects[key])["AssaultDateTime"] != "").all()


def test_small_city_is_demo_sized(small: BuiltCity, tmp_path: Path) -> None:
    assert 40_000 <= small.city.records <= 80_000
