"""The service directory as Open Referral HSDS 3.0 JSON: validation against the specification's
own schemas, a typed view of each service for search, and building and updating documents.

The exchange form is the compiled ``service`` object: an array of fully nested services (with
their organization, locations, schedules, languages and taxonomy attributes). wellbeat keeps
each imported document as it came, so export after import returns the same JSON; the typed
``DirectoryService`` is only read from it. wellbeat's own facts about a service (needs met,
accepting referrals, promised first-contact time, Part 2 program, the hub agency that runs it)
travel as ordinary HSDS attributes, taxonomy terms and organization identifiers.
"""

from __future__ import annotations

import copy
import json
import math
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from wellbeat.care.needs import WELLBEAT_NAMESPACE, need_for_term, needs
from wellbeat.care.schedules import OpeningRule, ScheduleError, parse_schedule

HSDS_VERSION = "3.0"
SCHEMA_PACKAGE_DIR = ("data", "hsds")
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
"""The official OpenAPI description of the HSDS 3.0 API (a copy ships in data/hsds)."""

AGENCY_IDENTIFIER_TYPE = "wellbeat-agency"
"""``organization_identifiers[].identifier_type`` naming the hub agency that runs a service."""

NEEDS_TAXONOMY_NAME = "wellbeat needs"
FACTS_TAXONOMY_NAME = "wellbeat service facts"
FACT_ACCEPTING = "accepting-referrals"
FACT_FIRST_CONTACT = "first-contact-hours"
FACT_PART2 = "part2-program"
FACTS: dict[str, str] = {
    FACT_ACCEPTING: "Accepts referrals through the hub now (value: true or false)",
    FACT_FIRST_CONTACT: "Hours within which the service promises first contact after a referral",
    FACT_PART2: (
        "A federally assisted substance-use-disorder treatment program (42 CFR 2.11): "
        "referrals into it need a Part 2 consent (value: true or false)"
    ),
}
"""wellbeat's service facts, carried as HSDS attributes with these taxonomy-term codes."""


class HsdsError(ValueError):
    """A directory that is not valid HSDS 3.0; ``problems`` say where and what is wrong."""

    def __init__(self, source: str, problems: Sequence[HsdsProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{source}: not valid HSDS {HSDS_VERSION}: {shown}{more}")


@dataclass(frozen=True)
class HsdsProblem:
    """One validation failure: the JSON path (``[2].organization.name``) and the reason."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


# --------------------------------------------------------------------------------------------
# Schemas


def _schema_text(name: str) -> str:
    return resources.files("wellbeat.care").joinpath(*SCHEMA_PACKAGE_DIR, name).read_text("utf-8")


@cache
def hsds_schema(name: str) -> dict[str, Any]:
    """One official HSDS 3.0 object schema (``"service"``, ``"organization"``...)."""
    data = json.loads(_schema_text(f"{name}.json"))
    if not isinstance(data, dict):
        raise ValueError(f"data/hsds/{name}.json: expected a JSON object schema")
    return data


@cache
def hsds_openapi() -> dict[str, Any]:
    """The official HSDS 3.0 OpenAPI description, as shipped."""
    data = json.loads(_schema_text("openapi.json"))
    assert isinstance(data, dict)
    return data


def _schema_names() -> list[str]:
    folder = resources.files("wellbeat.care").joinpath(*SCHEMA_PACKAGE_DIR)
    return sorted(
        entry.name[:-5]
        for entry in folder.iterdir()
        if entry.name.endswith(".json") and entry.name != "openapi.json"
    )


@cache
def _registry() -> Registry[Any]:
    # Objects refer to each other by file name ("$ref": "phone.json"); register each schema
    # under that name so references resolve exactly as in the specification's repository.
    pairs = [
        (
            f"{name}.json",
            Resource.from_contents(hsds_schema(name), default_specification=DRAFT202012),
        )
        for name in _schema_names()
    ]
    return Registry().with_resources(pairs)


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value)
    return True


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        raise ValueError(f"{value!r} is not an absolute URI")
    return True


@cache
def _format_checker() -> FormatChecker:
    # jsonschema checks uuid, email and date itself; date-time and uri need optional packages,
    # so they are checked here with the standard library.
    checker = FormatChecker()
    checker.checks("date-time", raises=ValueError)(_is_datetime)
    checker.checks("uri", raises=ValueError)(_is_uri)
    return checker


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        hsds_schema(name), registry=_registry(), format_checker=_format_checker()
    )


def _path(prefix: str, parts: Iterable[object]) -> str:
    out = prefix
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".") or "(top level)"


def validate_object(name: str, document: object, where: str = "") -> list[HsdsProblem]:
    """Every way ``document`` breaks the official HSDS 3.0 ``name`` schema (empty: valid)."""
    problems = []
    for error in sorted(_validator(name).iter_errors(document), key=lambda e: list(e.path)):
        problems.append(HsdsProblem(_path(where, error.absolute_path), error.message))
    return problems


def validate_directory(documents: object) -> list[HsdsProblem]:
    """Problems with an HSDS service array: schema errors per service, duplicate service ids."""
    if not isinstance(documents, list):
        return [HsdsProblem("(top level)", "expected a JSON array of HSDS service objects")]
    problems: list[HsdsProblem] = []
    seen: dict[str, int] = {}
    for index, document in enumerate(documents):
        problems.extend(validate_object("service", document, f"[{index}]"))
        if isinstance(document, dict) and isinstance(document.get("id"), str):
            first = seen.setdefault(document["id"], index)
            if first != index:
                problems.append(
                    HsdsProblem(
                        f"[{index}].id", f"{document['id']} is also the id of service [{first}]"
                    )
                )
    return problems


def read_directory(text: str, source: str = "directory") -> list[dict[str, Any]]:
    """Parse and validate HSDS 3.0 JSON (an array of services, or one paginated
    ``{"contents": [...]}`` page); HsdsError lists every problem with its JSON path."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HsdsError(
            source, [HsdsProblem(f"line {exc.lineno}, column {exc.colno}", exc.msg)]
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        data = data["contents"]
    problems = validate_directory(data)
    if problems:
        raise HsdsError(source, problems)
    return list(data)


def write_directory(documents: Sequence[Mapping[str, Any]]) -> str:
    """HSDS 3.0 JSON text of a service array (validated first; HsdsError if invalid)."""
    problems = validate_directory(list(documents))
    if problems:
        raise HsdsError("export", problems)
    return json.dumps(list(documents), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# The typed view of one service


@dataclass(frozen=True)
class Place:
    """Where a service is delivered: one HSDS location with coordinates (WGS84)."""

    id: str
    name: str
    latitude: float | None
    longitude: float | None
    address: str = ""

    @property
    def has_point(self) -> bool:
        return (
            self.latitude is not None
            and self.longitude is not None
            and -90 <= self.latitude <= 90
            and -180 <= self.longitude <= 180
        )


@dataclass(frozen=True)
class TermRef:
    """A taxonomy term attached to a service."""

    id: str
    code: str
    name: str
    taxonomy: str


@dataclass(frozen=True)
class DirectoryService:
    """What search, referrals and staleness need from one HSDS service document."""

    id: str
    name: str
    status: str
    organization_id: str
    organization_name: str
    agency: str | None
    description: str = ""
    needs: tuple[str, ...] = ()
    terms: tuple[TermRef, ...] = ()
    languages: tuple[tuple[str, str], ...] = ()
    """(code, name) pairs, lower-cased."""
    places: tuple[Place, ...] = ()
    schedules: tuple[OpeningRule, ...] = ()
    accepting_referrals: bool = False
    first_contact_hours: int | None = None
    part2_program: bool = False
    last_modified: datetime | None = None
    eligibility: str = ""
    minimum_age: float | None = None
    maximum_age: float | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """Things that do not break the schema but that wellbeat could not use (bad coordinates,
    an unreadable schedule)."""

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def takes_referrals(self) -> bool:
        """Active, marked as accepting referrals, and run by a hub agency (who works the queue)."""
        return self.is_active and self.accepting_referrals and self.agency is not None

    def speaks(self, language: str) -> bool:
        wanted = language.strip().lower()
        return any(wanted in (code, name) for code, name in self.languages)


def _items(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _bool(value: object) -> bool:
    return str(value).strip().lower() in ("true", "yes", "1")


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _address_line(location: Mapping[str, Any]) -> str:
    for address in _items(location.get("addresses")):
        if address.get("address_type", "physical") == "physical":
            parts = [address.get("address_1"), address.get("city"), address.get("postal_code")]
            return ", ".join(str(p) for p in parts if p)
    return ""


def _locations(document: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], list[Any]]]:
    for link in _items(document.get("service_at_locations")):
        location = link.get("location")
        if isinstance(location, dict):
            yield location, _items(link.get("schedules")) + _items(location.get("schedules"))


def service_from_hsds(document: Mapping[str, Any]) -> DirectoryService:
    """The typed view of one (valid) HSDS service document."""
    organization = document.get("organization") if isinstance(document, Mapping) else None
    org = organization if isinstance(organization, dict) else {}
    agency = next(
        (
            str(ident["identifier"])
            for ident in _items(org.get("organization_identifiers"))
            if ident.get("identifier_type") == AGENCY_IDENTIFIER_TYPE and ident.get("identifier")
        ),
        None,
    )
    warnings: list[str] = []
    found_needs: set[str] = set()
    terms: list[TermRef] = []
    facts: dict[str, str] = {}
    for attribute in _items(document.get("attributes")):
        term = attribute.get("taxonomy_term")
        if not isinstance(term, dict):
            continue
        raw_detail = term.get("taxonomy_detail")
        detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        taxonomy = str(detail.get("name") or term.get("taxonomy") or "")
        code = str(term.get("code") or "")
        if taxonomy == FACTS_TAXONOMY_NAME and code in FACTS:
            facts[code] = str(attribute.get("value", ""))
            continue
        need = need_for_term(code or None, term.get("term_uri"))
        if need is not None:
            found_needs.add(need.code)
        terms.append(TermRef(str(term.get("id", "")), code, str(term.get("name", "")), taxonomy))
    languages: set[tuple[str, str]] = set()
    places: list[Place] = []
    rules: list[OpeningRule] = []
    schedule_entries = _items(document.get("schedules"))
    for language in _items(document.get("languages")):
        languages.add(
            (str(language.get("code", "")).lower(), str(language.get("name", "")).lower())
        )
    for location, location_schedules in _locations(document):
        for language in _items(location.get("languages")):
            languages.add(
                (str(language.get("code", "")).lower(), str(language.get("name", "")).lower())
            )
        place = Place(
            str(location.get("id", "")),
            str(location.get("name") or ""),
            _float(location.get("latitude")),
            _float(location.get("longitude")),
            _address_line(location),
        )
        if (place.latitude is not None or place.longitude is not None) and not place.has_point:
            warnings.append(
                f"location {place.id}: latitude/longitude ({place.latitude}, {place.longitude}) "
                "are not WGS84 degrees; not used for distance"
            )
        places.append(place)
        schedule_entries += location_schedules
    for entry in schedule_entries:
        try:
            rules.append(parse_schedule(entry))
        except ScheduleError as exc:
            warnings.append(f"schedule {entry.get('id', '?')}: {exc}; not used for open-now")
    hours = facts.get(FACT_FIRST_CONTACT, "").strip()
    first_contact = int(hours) if hours.isdigit() else None
    if hours and first_contact is None:
        warnings.append(f"attribute {FACT_FIRST_CONTACT}: {hours!r} is not a whole number of hours")
    return DirectoryService(
        id=str(document.get("id", "")),
        name=str(document.get("name", "")),
        status=str(document.get("status", "")),
        organization_id=str(org.get("id", "")),
        organization_name=str(org.get("name", "")),
        agency=agency,
        description=str(document.get("description") or ""),
        needs=tuple(code for code in needs() if code in found_needs),
        terms=tuple(terms),
        languages=tuple(sorted(languages)),
        places=tuple(places),
        schedules=tuple(rules),
        accepting_referrals=_bool(facts.get(FACT_ACCEPTING, "false")),
        first_contact_hours=first_contact,
        part2_program=_bool(facts.get(FACT_PART2, "false")),
        last_modified=_datetime(document.get("last_modified")),
        eligibility=str(document.get("eligibility_description") or ""),
        minimum_age=_float(document.get("minimum_age")),
        maximum_age=_float(document.get("maximum_age")),
        warnings=tuple(warnings),
    )


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------------
# Building documents


def stable_id(*parts: str) -> str:
    """A deterministic HSDS id (uuid5 in wellbeat's namespace) for generated objects."""
    return str(uuid.uuid5(WELLBEAT_NAMESPACE, "/".join(parts)))


def _taxonomy_detail(name: str, description: str, uri: str) -> dict[str, Any]:
    return {"id": stable_id("taxonomy", name), "name": name, "description": description, "uri": uri}


def need_attribute(service_id: str, code: str) -> dict[str, Any]:
    """The HSDS attribute that tags a service with a need (SDOH or wellbeat clinical)."""
    need = needs()[code]
    detail = (
        _taxonomy_detail(
            "Gravity SDOH categories",
            "HL7 Gravity Project SDOH Clinical Care IG category codes",
            need.system,
        )
        if need.is_sdoh
        else _taxonomy_detail(NEEDS_TAXONOMY_NAME, "wellbeat clinical needs", need.system)
    )
    return {
        "id": stable_id("attribute", service_id, need.term_uri),
        "link_id": service_id,
        "link_type": "need",
        "link_entity": "service",
        "taxonomy_term": {
            "id": need.term_id,
            "code": need.code,
            "name": need.display,
            "description": need.description,
            "taxonomy": detail["name"],
            "taxonomy_detail": detail,
            "taxonomy_id": detail["id"],
            "term_uri": need.term_uri,
        },
    }


def fact_attribute(service_id: str, code: str, value: str) -> dict[str, Any]:
    """The HSDS attribute carrying one of wellbeat's service facts."""
    detail = _taxonomy_detail(
        FACTS_TAXONOMY_NAME, "Facts the wellbeat hub needs to route referrals", "urn:wellbeat:fact"
    )
    return {
        "id": stable_id("attribute", service_id, code),
        "link_id": service_id,
        "link_type": "fact",
        "link_entity": "service",
        "value": value,
        "taxonomy_term": {
            "id": stable_id("term", FACTS_TAXONOMY_NAME, code),
            "code": code,
            "name": code.replace("-", " "),
            "description": FACTS[code],
            "taxonomy": FACTS_TAXONOMY_NAME,
            "taxonomy_detail": detail,
            "taxonomy_id": detail["id"],
            "term_uri": f"urn:wellbeat:fact:{code}",
        },
    }


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours on some weekdays: ``days`` such as ("MO", "TU"), times as ``HH:MM``."""

    days: tuple[str, ...]
    opens_at: str
    closes_at: str


@dataclass(frozen=True)
class ServiceSpec:
    """Everything needed to write a new HSDS service document from scratch."""

    name: str
    description: str
    organization_name: str
    organization_description: str
    agency: str | None
    needs: tuple[str, ...]
    place_name: str
    latitude: float
    longitude: float
    address_1: str
    city: str
    state: str
    postal_code: str
    hours: tuple[WeeklyHours, ...] = ()
    languages: tuple[tuple[str, str], ...] = (("en", "English"),)
    accepting_referrals: bool = True
    first_contact_hours: int | None = 72
    part2_program: bool = False
    phone: str = ""
    eligibility: str = ""
    last_modified: datetime | None = None
    status: str = "active"


def new_service_document(spec: ServiceSpec) -> dict[str, Any]:
    """A complete, valid HSDS 3.0 service (ids derived from the names, so rebuilding the same
    spec gives the same document)."""
    org_id = stable_id("organization", spec.organization_name)
    service_id = stable_id("service", spec.organization_name, spec.name)
    location_id = stable_id("location", spec.organization_name, spec.place_name)
    link_id = stable_id("service_at_location", service_id, location_id)
    organization: dict[str, Any] = {
        "id": org_id,
        "name": spec.organization_name,
        "description": spec.organization_description,
    }
    if spec.agency:
        organization["organization_identifiers"] = [
            {
                "id": stable_id("organization_identifier", org_id, spec.agency),
                "organization_id": org_id,
                "identifier_type": AGENCY_IDENTIFIER_TYPE,
                "identifier": spec.agency,
            }
        ]
    location = {
        "id": location_id,
        "location_type": "physical",
        "organization_id": org_id,
        "name": spec.place_name,
        "latitude": spec.latitude,
        "longitude": spec.longitude,
        "addresses": [
            {
                "id": stable_id("address", location_id),
                "location_id": location_id,
                "address_1": spec.address_1,
                "city": spec.city,
                "state_province": spec.state,
                "postal_code": spec.postal_code,
                "country": "US",
                "address_type": "physical",
            }
        ],
    }
    document: dict[str, Any] = {
        "id": service_id,
        "organization_id": org_id,
        "name": spec.name,
        "description": spec.description,
        "status": spec.status,
    }
    if spec.eligibility:
        document["eligibility_description"] = spec.eligibility
    if spec.last_modified is not None:
        document["last_modified"] = _iso(spec.last_modified)
    if spec.phone:
        document["phones"] = [
            {
                "id": stable_id("phone", service_id),
                "service_id": service_id,
                "number": spec.phone,
                "type": "voice",
            }
        ]
    document["schedules"] = [
        {
            "id": stable_id("schedule", service_id, str(index)),
            "service_id": service_id,
            "freq": "WEEKLY",
            "byday": ",".join(hours.days),
            "opens_at": hours.opens_at,
            "closes_at": hours.closes_at,
        }
        for index, hours in enumerate(spec.hours)
    ]
    document["service_at_locations"] = [
        {"id": link_id, "service_id": service_id, "location_id": location_id, "location": location}
    ]
    document["languages"] = [
        {
            "id": stable_id("language", service_id, code),
            "service_id": service_id,
            "name": name,
            "code": code,
        }
        for code, name in spec.languages
    ]
    document["organization"] = organization
    attributes = [need_attribute(service_id, code) for code in spec.needs]
    attributes.append(fact_attribute(service_id, FACT_ACCEPTING, _flag(spec.accepting_referrals)))
    if spec.first_contact_hours is not None:
        attributes.append(
            fact_attribute(service_id, FACT_FIRST_CONTACT, str(spec.first_contact_hours))
        )
    attributes.append(fact_attribute(service_id, FACT_PART2, _flag(spec.part2_program)))
    document["attributes"] = attributes
    return document


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# Providers keeping their entries current


@dataclass(frozen=True)
class ServiceUpdate:
    """What a provider may change about its own service from the hub; None = unchanged.
    An update with nothing set still confirms the entry as current (``last_modified``)."""

    status: str | None = None
    accepting_referrals: bool | None = None
    first_contact_hours: int | None = None
    alert: str | None = None


SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")


def update_service_document(
    document: Mapping[str, Any], update: ServiceUpdate, updated_by: str, at: datetime
) -> dict[str, Any]:
    """A copy of ``document`` with the update applied, ``last_modified`` and ``assured_date``
    set to ``at``, and one HSDS metadata entry per changed field (provenance)."""
    if update.status is not None and update.status not in SERVICE_STATUSES:
        raise ValueError(
            f"field 'status': {update.status!r} is not one of {', '.join(SERVICE_STATUSES)}"
        )
    if update.first_contact_hours is not None and not 1 <= update.first_contact_hours <= 24 * 60:
        raise ValueError(
            f"field 'first_contact_hours': {update.first_contact_hours} is outside 1..1440 hours"
        )
    result = copy.deepcopy(dict(document))
    service_id = str(result["id"])
    current = service_from_hsds(result)
    changes: list[tuple[str, str, str]] = []

    def set_fact(code: str, value: str, previous: str) -> None:
        attributes = [
            a
            for a in _items(result.get("attributes"))
            if not (
                isinstance(a.get("taxonomy_term"), dict)
                and a["taxonomy_term"].get("code") == code
                and a["taxonomy_term"].get("taxonomy") == FACTS_TAXONOMY_NAME
            )
        ]
        attributes.append(fact_attribute(service_id, code, value))
        result["attributes"] = attributes
        changes.append((code, previous, value))

    if update.status is not None and update.status != current.status:
        changes.append(("status", current.status, update.status))
        result["status"] = update.status
    if update.accepting_referrals is not None and (
        update.accepting_referrals != current.accepting_referrals
    ):
        set_fact(
            FACT_ACCEPTING, _flag(update.accepting_referrals), _flag(current.accepting_referrals)
        )
    if update.first_contact_hours is not None and (
        update.first_contact_hours != current.first_contact_hours
    ):
        previous = "" if current.first_contact_hours is None else str(current.first_contact_hours)
        set_fact(FACT_FIRST_CONTACT, str(update.first_contact_hours), previous)
    if update.alert is not None and update.alert != result.get("alert", ""):
        changes.append(("alert", str(result.get("alert", "")), update.alert))
        if update.alert:
            result["alert"] = update.alert
        else:
            result.pop("alert", None)
    stamp = _iso(at)
    result["last_modified"] = stamp
    result["assured_date"] = at.astimezone(UTC).date().isoformat()
    metadata = _items(result.get("metadata"))
    for field_name, previous, replacement in changes or [("last_modified", "", stamp)]:
        metadata.append(
            {
                "id": stable_id("metadata", service_id, field_name, stamp),
                "resource_id": service_id,
                "resource_type": "service",
                "last_action_date": at.astimezone(UTC).date().isoformat(),
                "last_action_type": "update" if changes else "verified",
                "field_name": field_name,
                "previous_value": previous,
                "replacement_value": replacement,
                "updated_by": updated_by,
            }
        )
    result["metadata"] = metadata
    return result


def assured_on(document: Mapping[str, Any]) -> date | None:
    """The service's ``assured_date`` (when someone last confirmed it), if any."""
    value = document.get("assured_date")
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


SYNTHETIC_DIRECTORY = "directory-millbrook.json"
"""The demo city's service directory (HSDS 3.0), shipped in ``wellbeat/care/data``."""


SYNTHETIC_DIRECTORY_AS_OF = date(2025, 6, 30)
"""The day the shipped synthetic directory's ``last_modified`` dates were written relative to."""


def synthetic_directory(as_of: date | None = None) -> list[dict[str, Any]]:
    """The synthetic Millbrook directory: 14 services of six organisations, validated.

    With ``as_of``, every ``last_modified`` and ``assured_date`` moves by the same number of
    days so the directory reads as confirmed relative to that day (the demo passes its own end
    date): entries confirmed in the weeks before stay current, the few left for years stay stale.
    """
    text = resources.files("wellbeat.care").joinpath("data", SYNTHETIC_DIRECTORY).read_text("utf-8")
    documents = read_directory(text, f"data/{SYNTHETIC_DIRECTORY}")
    if as_of is None:
        return documents
    shift = as_of - SYNTHETIC_DIRECTORY_AS_OF
    for document in documents:
        modified = _datetime(document.get("last_modified"))
        if modified is not None:
            document["last_modified"] = _iso(modified + shift)
        assured = document.get("assured_date")
        if isinstance(assured, str) and assured:
            document["assured_date"] = (date.fromisoformat(assured) + shift).isoformat()
    return documents
