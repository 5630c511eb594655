"""The needs vocabulary: what an encounter observes and what a directory service meets.

One list for encounters, the directory and referrals: the Gravity Project SDOH categories (from
``wellbeat.events.codesets``) plus wellbeat's clinical needs (mental health, substance use) from
``data/needs.csv``. Each need maps to an HSDS taxonomy term and a FHIR coding.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from wellbeat.events.codesets import sdoh_categories

GRAVITY_SDOH_SYSTEM = (
    "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
)
"""Gravity SDOH Clinical Care IG (STU 2.3) category code system."""

WELLBEAT_NEED_SYSTEM = "urn:wellbeat:need"
"""Code system of wellbeat's own needs (mental health, substance use)."""

WELLBEAT_NAMESPACE = uuid.UUID("6f0e1c52-3c2f-5d0a-9a57-2f7a0e4c1b11")
"""Namespace of the deterministic (uuid5) identifiers wellbeat gives its taxonomy objects."""

NEEDS_FILE = "needs.csv"


class NeedError(ValueError):
    """An unknown need code; the message lists the known ones."""


@dataclass(frozen=True)
class Need:
    """One need category: its code, label, and the code system it belongs to."""

    code: str
    display: str
    description: str
    system: str

    @property
    def is_sdoh(self) -> bool:
        return self.system == GRAVITY_SDOH_SYSTEM

    @property
    def term_uri(self) -> str:
        """The URI of this need as an HSDS taxonomy term."""
        if self.is_sdoh:
            return f"{self.system}#{self.code}"
        return f"{self.system}:{self.code}"

    @property
    def term_id(self) -> str:
        """Stable HSDS taxonomy_term id (uuid5 of the term URI)."""
        return str(uuid.uuid5(WELLBEAT_NAMESPACE, self.term_uri))


def _care_needs() -> list[Need]:
    text = resources.files("wellbeat.care").joinpath("data", NEEDS_FILE).read_text("utf-8")
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    out = []
    for row in csv.DictReader(io.StringIO(body)):
        out.append(Need(row["code"], row["display"], row["description"], WELLBEAT_NEED_SYSTEM))
    return out


@cache
def needs() -> Mapping[str, Need]:
    """Every need by code, SDOH categories first, then wellbeat's clinical needs."""
    out: dict[str, Need] = {}
    for category in sdoh_categories().values():
        out[category.code] = Need(
            category.code, category.display, category.display, GRAVITY_SDOH_SYSTEM
        )
    for need in _care_needs():
        if need.code in out:
            raise NeedError(f"{NEEDS_FILE}: need {need.code!r} is already a Gravity SDOH category")
        out[need.code] = need
    return MappingProxyType(out)


def need_for_term(code: str | None, term_uri: str | None) -> Need | None:
    """The need an HSDS taxonomy term stands for (by term URI, else by code), or None."""
    known = needs()
    if term_uri:
        for need in known.values():
            if need.term_uri == term_uri:
                return need
    if code and code in known:
        return known[code]
    return None


def check_needs(codes: Iterable[str], where: str = "needs") -> tuple[str, ...]:
    """The codes, de-duplicated in vocabulary order; an unknown code raises NeedError."""
    wanted = {str(c).strip() for c in codes if str(c).strip()}
    unknown = sorted(wanted - set(needs()))
    if unknown:
        raise NeedError(
            f"{where}: unknown need(s) {', '.join(unknown)}; expected any of {', '.join(needs())}"
        )
    return tuple(code for code in needs() if code in wanted)
