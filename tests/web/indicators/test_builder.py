"""The indicator builder: the form's fields become one catalogue entry, validated by the
catalogue's own parser (errors next to the field they name); YAML export and import round
trip; only analysts of the agency see and change its indicators; every change is audited."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from wellbeat.analytics.indicators.catalogue import parse_catalogue
from wellbeat.web.audit.models import AuditEntry
from wellbeat.web.indicators.models import CustomIndicator

from .html_support import Page

pytestmark = pytest.mark.django_db

VALID = {
    "code": "searches_by_race",
    "name": "Searches by race",
    "description": "Stops in which the person or vehicle was searched.",
    "kinds": ["stop"],
    "codes": "",
    "attribute_1": "searched",
    "values_1": "true",
    "denominator": "",
    "factor": "1",
    "period": "week",
    "by": "race",
    "purpose": "public_health_surveillance",
}


def _post(client: Any, url: str, **changes: Any) -> Any:
    return client.post(url, {**VALID, **changes})


def test_a_saved_indicator_is_the_catalogue_entry_the_form_describes(
    client: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_analyst"])
    response = _post(client, "/indicators/new/")
    assert response.status_code == 302, response.content.decode()[:2000]
    row = CustomIndicator.objects.get(agency=world.agencies["MPD"], code="searches_by_race")
    assert row.definition == {
        "code": "searches_by_race",
        "name": "Searches by race",
        "description": "Stops in which the person or vehicle was searched.",
        "numerator": [{"kinds": ["stop"], "attributes": {"searched": "true"}}],
        "factor": 1,
        "period": "week",
        "by": ["attribute:race"],
    }
    assert row.by == "attribute:race"
    entry = AuditEntry.objects.get(action="indicator.saved")
    assert entry.actor == world.users["mpd_analyst"] and entry.details["by"] == "attribute:race"
    # The exported YAML is a catalogue file the CLI's parser loads to the same indicator.
    text = client.get(f"/indicators/{row.pk}/yaml/").content.decode()
    loaded = parse_catalogue(text, "export.yaml").indicators[0]
    assert loaded.code == "searches_by_race" and loaded.by == ("attribute:race",)
    assert loaded.numerator[0].attributes[0].equals == ("true",)
    # The edit form shows what was saved, and saving it unchanged keeps the definition.
    edit = Page(client.get(f"/indicators/{row.pk}/edit/").content)
    assert edit.has("id_values_1")
    response = _post(client, f"/indicators/{row.pk}/edit/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.definition["numerator"] == [{"kinds": ["stop"], "attributes": {"searched": "true"}}]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kinds": [], "attribute_1": "", "values_1": ""}, "kinds", "numerator[0]"),
        ({"description": ""}, "description", "description: is required"),
        ({"codes": "T40.1"}, "codes", "is not 'namespace:code'"),
        ({"code": "Bad Code"}, "code", "expected [a-z][a-z0-9_]*"),
        ({"attribute_1": "", "values_1": "true"}, "attribute_1", "attribute names must be"),
        ({"by": "Race!"}, "by", "unknown breakdown"),
        (
            {"denominator": "indicator:repeat_crisis_call_30d"},
            "denominator",
            "cannot be a denominator",
        ),
    ],
)
def test_catalogue_errors_are_shown_next_to_their_field(
    client: Any, world: Any, login_as: Any, changes: dict, field: str, words: str
) -> None:
    login_as(client, world.users["mpd_analyst"])
    response = _post(client, "/indicators/new/", **changes)
    assert response.status_code == 200
    page = Page(response.content)
    error_id = f"id_{field}-error"
    assert page.has(error_id), (field, response.content.decode()[-4000:])
    assert words in page.text(error_id)
    assert not CustomIndicator.objects.exists()


def test_import_saves_every_entry_or_none_and_round_trips(
    client: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_analyst"])
    text = """indicators:
  - code: force_by_type
    name: Use of force by force type
    description: Every use of force, one row per force type used on a subject.
    numerator:
      - kinds: [use_of_force]
    period: month
    by: [attribute:force_type]
  - code: force_per_stop
    name: Uses of force per 100 stops
    description: Uses of force per 100 stops.
    numerator: {kinds: [use_of_force]}
    denominator: {indicator: stops}
    factor: 100
    period: month
  - code: stops
    name: Stops
    description: Every officer-initiated stop.
    numerator: {kinds: [stop]}
    period: month
"""
    upload = SimpleUploadedFile("mine.yaml", text.encode(), content_type="application/yaml")
    response = client.post(
        "/indicators/", {"catalogue": upload, "purpose": "public_health_surveillance"}
    )
    assert response.status_code == 302
    codes = set(CustomIndicator.objects.values_list("code", flat=True))
    assert codes == {"force_by_type", "force_per_stop", "stops"}
    ratio = CustomIndicator.objects.get(code="force_per_stop")
    exported = yaml.safe_load(client.get(f"/indicators/{ratio.pk}/yaml/").content)
    # The denominator travels with it, so the file loads on its own.
    assert [e["code"] for e in exported["indicators"]] == ["force_per_stop", "stops"]
    assert AuditEntry.objects.filter(action="indicator.imported").count() == 1

    broken = text.replace("kinds: [stop]", "kinds: [stopp]")
    upload = SimpleUploadedFile("broken.yaml", broken.encode(), content_type="application/yaml")
    response = client.post(
        "/indicators/", {"catalogue": upload, "purpose": "public_health_surveillance"}
    )
    assert response.status_code == 200
    message = Page(response.content).text("id_catalogue-error")
    assert "broken.yaml:16: indicator 'stops' field 'numerator[0].kinds'" in message
    assert "stopp" in message
    assert AuditEntry.objects.filter(action="indicator.imported").count() == 1


def test_other_agencies_and_roles_cannot_reach_an_indicator(
    client: Any, world: Any, login_as: Any
) -> None:
    login_as(client, world.users["mpd_analyst"])
    _post(client, "/indicators/new/")
    row = CustomIndicator.objects.get()
    client.logout()
    login_as(client, world.users["xpd_analyst"])
    assert client.get(f"/indicators/{row.pk}/").status_code == 404
    assert client.get(f"/indicators/{row.pk}/yaml/").status_code == 404
    client.logout()
    login_as(client, world.users["mpd_officer"])
    assert client.get("/indicators/").status_code == 403
