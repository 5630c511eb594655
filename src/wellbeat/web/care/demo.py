"""Demo care activity, so the care pages and measures show a working programme: the synthetic
city's behavioural-health calls of its last months replayed through crisis triage (with the
response the police department actually sent and how each call ended), and for co-responder
calls an encounter (recorded by the police officer or by the behavioural-health co-responder
clinician of the team), a referral to a service, and the provider working it. The providers'
agencies get contact keys under ``DEMO_CONTACT_PASSPHRASE``, and referrals of people who agreed
carry their (fictional) name and a 555-01xx phone sealed to the provider.

Everything goes through the care actions (validation, the Part 2 gate, audit), with the times
the city's extract gives (``at``/``occurred_at``): the audit log says when the replay ran. Demo
mode only; a second run adds nothing.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from django.conf import settings

from wellbeat.care.lifecycle import TaskStatus
from wellbeat.care.measures import CallOutcome
from wellbeat.care.sealing import ContactCard
from wellbeat.care.triage import ALTERNATIVE_RESPONSES, Call, Response
from wellbeat.privacy.pseudonym import Identity
from wellbeat.web.accounts.models import User
from wellbeat.web.care import actions
from wellbeat.web.care.actions import CareError
from wellbeat.web.care.models import AgencyKey, DirectoryEntry, Encounter, Referral, TriageCall

CRISIS_CALL_TYPES = {
    # CAD call type -> (needs seen at a co-responder encounter, the service it is referred to)
    "PSYCH": (("mental-health",), "Walk-in mental health crisis clinic"),
    "SUIC": (("mental-health",), "Walk-in mental health crisis clinic"),
    "WELFCK": (("mental-health",), "Outpatient counselling"),
    "INTOX": (("substance-use",), "Harm reduction and naloxone"),
    "ODPOI": (("substance-use",), "Harm reduction and naloxone"),
}
"""The city's behavioural-health call types (docs/synthetic-city.md)."""

OUTCOME_BY_DISPOSITION = {
    "ARR": CallOutcome.ARRESTED,
    "TRN": CallOutcome.TRANSPORTED,
    "MCT": CallOutcome.DIVERTED_FROM_ED,  # a crisis team stabilised the person on scene
}
"""CAD dispositions with an outcome of their own; a co-responder call otherwise ends in a
referral, any other call resolved on scene."""

REPLAY_DAYS = 180
"""How many of the city's last days of calls are replayed."""

DEMO_CONTACT_PASSPHRASE = "wellbeat-demo-contact-key"
"""Passphrase of the demo provider agencies' contact keys (demo mode only): clinicians and care
coordinators type it on the provider queue to read the referred people's names."""

PROVIDER_AGENCIES = ("NBH", "CHD")
"""Demo agencies that run the services the replay refers to."""

CONTACT_TIMES = ("mornings", "afternoons", "after 5 pm", "any time", "weekdays before noon")

REPLAY_LAG = timedelta(hours=3)
"""A replayed call closes within 140 minutes and its referral goes 40 minutes later at most:
calls received less than this long ago are not replayed (a city that ends today would
otherwise record responses in the future)."""


@dataclass(frozen=True)
class CareSeed:
    calls: int
    encounters: int
    referrals: int
    followups: int
    already_seeded: bool


def _user(code: str, role: str) -> User:
    from wellbeat.web.demo_logins import demo_username

    return User.objects.get(username=demo_username(code, role))


def _local(text: str, zone: ZoneInfo) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %H:%M:%S").replace(tzinfo=zone).astimezone(UTC)


def _identity(row: dict[str, str]) -> Identity | None:
    """The subject as a call taker or officer would enter them: the hub's pseudonym needs a
    first and last name and a date of birth (calls without them stay anonymous)."""
    if not (row.get("SubjectFirst") and row.get("SubjectLast") and row.get("SubjectDOB")):
        return None
    return Identity(
        first_name=row["SubjectFirst"],
        last_name=row["SubjectLast"],
        dob=datetime.strptime(row["SubjectDOB"], "%m/%d/%Y").date(),
        sex={"M": "male", "F": "female"}.get(row.get("SubjectSex") or ""),
    )


def _actual_response(row: dict[str, str], recommended: Response) -> Response:
    """What the police department's CAD says was sent."""
    if row.get("CoResponder") == "Y":
        return Response.CO_RESPONDER
    if row.get("Disposition") == "MCT":
        return Response.CIVILIAN_CRISIS_TEAM
    if row.get("Disposition") == "TRN" and row["CallType"] == "ODPOI":
        return Response.EMS
    return Response.POLICE if recommended is not Response.TRANSFER_988 else recommended


def seed_care_activity(agencies_dir: Path, *, seed: int = 42, days: int = REPLAY_DAYS) -> CareSeed:
    """Replay the city's last ``days`` days of behavioural-health calls (see the module)."""
    if not settings.WELLBEAT_DEMO:
        raise RuntimeError("demo care activity is for demo mode only (WELLBEAT_DEMO=1)")
    officer = _user("MPD", "officer")
    if TriageCall.objects.filter(recorded_by=officer).exists():
        return CareSeed(
            TriageCall.objects.count(),
            Encounter.objects.count(),
            0,
            0,
            already_seeded=True,
        )
    from wellbeat.demo_pipeline import CITY_DIRNAME

    city_dir = agencies_dir / CITY_DIRNAME
    city = json.loads((city_dir / "city.json").read_text(encoding="utf-8"))
    zone = ZoneInfo(city["timezone"])
    first_day = date.fromisoformat(city["end"]) - timedelta(days=days - 1)
    cad = city_dir / "agencies" / "MPD" / "cad"
    profile = yaml.safe_load((cad / "profile.yaml").read_text(encoding="utf-8"))
    to_apco: dict[str, str] = next(
        rule["map"] for rule in profile["codes"] if rule["column"] == "CallType"
    )
    with (cad / "extract.csv").open(newline="", encoding="utf-8") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["CallType"] in CRISIS_CALL_TYPES
            and _local(row["CallReceived"], zone).astimezone(zone).date() >= first_day
        ]
    rows.sort(key=lambda row: _local(row["CallReceived"], zone))
    services = {e.name: e for e in DirectoryEntry.objects.select_related("agency")}
    performers = {"NBH": _user("NBH", "clinician"), "CHD": _user("CHD", "agency_admin")}
    co_responder = _user("NBH", "clinician")
    seed_contact_keys()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    calls = encounters = referrals = 0
    for row in rows:
        received = _local(row["CallReceived"], zone)
        if received + REPLAY_LAG > now:
            break  # its response, encounter and referral would lie in the future
        identity = _identity(row)
        token = actions.hub_person_token(identity) if identity else ""
        call = Call(
            call_type=to_apco.get(row["CallType"], row["CallType"]),
            narrative=row.get("Narrative", ""),
            # The call taker's screening questions: no weapon or violence reported (a weapon
            # the narrative names still counts); an overdose is a medical emergency.
            weapon=False,
            violence=False,
            medical=row["CallType"] == "ODPOI",
            received_at=received,
        )
        recorded, recommendation = actions.do_record_call(officer, call, person_token=token)
        calls += 1
        response = _actual_response(row, recommendation.response)
        outcome = OUTCOME_BY_DISPOSITION.get(row.get("Disposition", ""))
        if outcome is None:
            outcome = (
                CallOutcome.REFERRED
                if response is Response.CO_RESPONDER
                else CallOutcome.RESOLVED_ON_SCENE
            )
        if outcome is CallOutcome.DIVERTED_FROM_ED and response not in ALTERNATIVE_RESPONSES:
            outcome = CallOutcome.RESOLVED_ON_SCENE
        closed = received + timedelta(minutes=rng.randint(25, 140))
        try:
            actions.do_record_call_response(
                officer, recorded, response.value, outcome.value, at=closed
            )
        except CareError:  # a weapon was named: no civilian response, police went
            actions.do_record_call_response(
                officer, recorded, Response.POLICE.value, CallOutcome.RESOLVED_ON_SCENE, at=closed
            )
        if response is not Response.CO_RESPONDER or identity is None:
            continue
        needs, service_name = CRISIS_CALL_TYPES[row["CallType"]]
        consent = rng.random() < 0.85
        # The team's clinician records about half of the encounters (the co-responder page).
        recorder = co_responder if rng.random() < 0.5 else officer
        encounter = actions.do_record_encounter(
            recorder,
            identity=identity,
            occurred_at=closed,
            place_type=rng.choice(("residence", "street", "residence", "business")),
            needs=needs,
            crisis=True,
            consent_to_refer=consent,
        )
        encounters += 1
        entry = services.get(service_name)
        if not consent or entry is None or entry.agency is None:
            continue
        sent = closed + timedelta(minutes=rng.randint(5, 40))
        referral = actions.do_refer(
            recorder,
            encounter,
            entry,
            at=sent,
            contact=_contact_card(identity, rng),
            contact_consent=rng.random() < 0.9,
        )
        referrals += 1
        _work_referral(referral, performers[entry.agency.code], recorder, sent, now, rng)
    followups = len(actions.do_raise_overdue_followups(now))
    return CareSeed(calls, encounters, referrals, followups, already_seeded=False)


def seed_contact_keys() -> list[AgencyKey]:
    """The demo provider agencies' contact keys, created by their agency admins under
    ``DEMO_CONTACT_PASSPHRASE`` (once)."""
    keys = []
    for code in PROVIDER_AGENCIES:
        admin = _user(code, "agency_admin")
        key = actions.current_key(admin.agency_id)
        keys.append(key or actions.do_create_agency_key(admin, DEMO_CONTACT_PASSPHRASE))
    return keys


def _contact_card(identity: Identity, rng: random.Random) -> ContactCard:
    """How to reach a person of the synthetic city: their (fictional) name, a phone number in
    the 555-0100..0199 range reserved for fiction, a preferred way and time."""
    return ContactCard(
        name=f"{identity.first_name} {identity.last_name}".title(),
        phone=f"+1 515 555 01{rng.randint(0, 99):02d}",
        contact_method=rng.choice(("phone", "text", "any", "in_person")),
        contact_time=rng.choice(CONTACT_TIMES),
    )


def _work_referral(
    referral: Referral,
    provider: User,
    referrer: User,
    sent: datetime,
    now: datetime,
    rng: random.Random,
) -> None:
    """The provider's side: most referrals accepted, contacted within about a day and
    completed within weeks; some declined, some failed, some cancelled, a few never answered.
    Only steps whose time has come are taken."""
    draw = rng.random()
    accepted = sent + timedelta(hours=rng.uniform(0.5, 8))
    contacted = accepted + timedelta(hours=rng.expovariate(1 / 20))
    ended = contacted + timedelta(days=rng.uniform(5, 30))
    steps: list[tuple[User, TaskStatus, datetime, str]]
    if draw < 0.08:
        steps = []  # nobody answered: the follow-up job raises it
    elif draw < 0.16:
        steps = [(provider, TaskStatus.REJECTED, accepted, "Person lives outside our area")]
    elif draw < 0.22:
        steps = [(referrer, TaskStatus.CANCELLED, accepted, "Person admitted to hospital")]
    else:
        steps = [
            (provider, TaskStatus.ACCEPTED, accepted, ""),
            (provider, TaskStatus.IN_PROGRESS, contacted, ""),
        ]
        if draw < 0.32:
            steps.append(
                (provider, TaskStatus.FAILED, ended, "Could not reach the person after 3 tries")
            )
        else:
            steps.append((provider, TaskStatus.COMPLETED, ended, ""))
    for actor, status, at, reason in steps:
        if at > now:
            break
        referral = actions.do_change_status(actor, referral, status, reason, at=at)
