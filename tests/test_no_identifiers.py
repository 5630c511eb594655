"""The proof that identifiers never reach the hub.

Build the synthetic city, run ``wellbeat prepare`` on every agency's extract with its own
profile, ingest every batch into a hub data directory, then scan EVERY file of that directory
(and of the batches that travelled there): Parquet files decoded value by value, plus the
printable runs of every file's raw bytes. No name, date of birth (in any common written
form), phone number, SSN or street address of the city's people may appear.

The scanner is tested on its own first: identifiers planted in each kind of file are found,
and the same scanner finds the identifiers in the agencies' raw extracts, so a clean hub is
not clean because the scanner is blind.
"""

from __future__ import annotations

import calendar
import csv
import itertools
import json
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wellbeat.ingest import ingest_batch
from wellbeat.ingest.prepare import prepare
from wellbeat.privacy.keys import write_key_file
from wellbeat.synth import City, build_city

# ---------------------------------------------------------------------------------------------
# The scanner

_WORD = re.compile(r"[a-z0-9]+")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_US_DATE = re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?!\d)")
_PACKED_DATE = re.compile(r"(?<![\d.])(\d{8})(?![\d.])")
_MONTHS = [calendar.month_abbr[number].lower() for number in range(1, 13)]
_LONG_DATE = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.? (\d{1,2}),? (\d{4})\b")
_PHONE = re.compile(r"(?<!\d)\(?(\d{3})\)?[-. ]?(\d{3})[-. ]?(\d{4})(?!\d)")
_SSN = re.compile(r"(?<!\d)(\d{3})[- ]?(\d{2})[- ]?(\d{4})(?!\d)")
_PRINTABLE = re.compile(rb"[\x20-\x7e]{6,}")


@dataclass(frozen=True)
class Leak:
    """One identifier found in one file."""

    file: Path
    kind: str
    value: str


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


class IdentifierScanner:
    """Finds the identifiers of a list of people in text, whatever common form they take.

    Names are looked for as "first last" and "last first" word pairs (single name words are
    also street, place and neighbourhood names, shared legitimately). Dates of birth are found
    in ISO, US, day-first, packed (YYYYMMDD, MMDDYYYY) and "March 5, 1990" forms, except dates
    inside ``event_period``: those are event dates, indistinguishable from a DOB. Phones and
    SSNs match on their digits whatever the punctuation; addresses as the whole "number street
    suffix" phrase.
    """

    def __init__(
        self, people: Iterable[Mapping[str, str]], event_period: tuple[date, date]
    ) -> None:
        self.names: set[tuple[str, str]] = set()
        self.dobs: set[date] = set()
        self.phones: set[str] = set()
        self.ssns: set[str] = set()
        self.addresses: dict[int, set[tuple[str, ...]]] = {}
        start, end = event_period
        for person in people:
            first, last = _words(person.get("first_name", "")), _words(person.get("last_name", ""))
            if first and last:
                self.names.add((first[-1], last[0]))
                self.names.add((last[-1], first[0]))
            if person.get("dob"):
                born = date.fromisoformat(person["dob"])
                if not start <= born <= end:
                    self.dobs.add(born)
            for field in ("phone", "alt_phone"):
                digits = re.sub(r"\D", "", person.get(field) or "")
                if len(digits) == 10:
                    self.phones.add(digits)
            ssn = re.sub(r"\D", "", person.get("ssn") or "")
            if len(ssn) == 9:
                self.ssns.add(ssn)
            words = tuple(_words(person.get("address") or ""))
            if len(words) >= 2:
                self.addresses.setdefault(len(words), set()).add(words)

    def scan_text(self, text: str) -> Iterator[tuple[str, str]]:
        """(kind, value) for every identifier in ``text``."""
        lowered = text.lower()
        words = _words(lowered)
        for pair in itertools.pairwise(words):
            if pair in self.names:
                yield "name", " ".join(pair)
        for length, known in self.addresses.items():
            for i in range(len(words) - length + 1):
                phrase = tuple(words[i : i + length])
                if phrase in known:
                    yield "address", " ".join(phrase)
        for found in self._dates(lowered):
            if found in self.dobs:
                yield "dob", found.isoformat()
        for match in _PHONE.finditer(lowered):
            if "".join(match.groups()) in self.phones:
                yield "phone", match.group(0)
        for match in _SSN.finditer(lowered):
            if "".join(match.groups()) in self.ssns:
                yield "ssn", match.group(0)

    def _dates(self, text: str) -> Iterator[date]:
        for y, m, d in _ISO_DATE.findall(text):
            if (found := _date(int(y), int(m), int(d))) is not None:
                yield found
        for a, b, y in _US_DATE.findall(text):
            for month, day in ((a, b), (b, a)):
                if (found := _date(int(y), int(month), int(day))) is not None:
                    yield found
        for packed in _PACKED_DATE.findall(text):
            for found in (
                _date(int(packed[:4]), int(packed[4:6]), int(packed[6:])),
                _date(int(packed[4:]), int(packed[:2]), int(packed[2:4])),
            ):
                if found is not None:
                    yield found
        for month, day, year in _LONG_DATE.findall(text):
            if (found := _date(int(year), _MONTHS.index(month) + 1, int(day))) is not None:
                yield found

    def scan_file(self, path: Path) -> list[Leak]:
        """Identifiers in one file: decoded Parquet values and the printable raw bytes."""
        texts = list(_printable_runs(path.read_bytes()))
        if path.suffix == ".parquet":
            texts.extend(_parquet_texts(path))
        return [Leak(path, kind, value) for text in texts for kind, value in self.scan_text(text)]

    def scan_tree(self, root: Path) -> tuple[list[Leak], int]:
        """Leaks under ``root`` and the number of files scanned."""
        files = sorted(p for p in root.rglob("*") if p.is_file())
        return [leak for path in files for leak in self.scan_file(path)], len(files)


def _printable_runs(raw: bytes) -> Iterator[str]:
    for run in _PRINTABLE.findall(raw):
        yield run.decode("ascii")


def _parquet_texts(path: Path) -> Iterator[str]:
    """Every value of every column as text (binary columns are Bloom filters: raw runs only),
    plus the file's key-value metadata."""
    parquet = pq.ParquetFile(path)
    metadata = parquet.schema_arrow.metadata or {}
    yield " ".join(f"{k!r} {v!r}" for k, v in metadata.items())
    table = parquet.read()
    for name in table.column_names:
        if pa.types.is_binary(table.schema.field(name).type):
            continue
        for value in table.column(name).to_pylist():
            yield from _flatten(value)


def _flatten(value: object) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, dict):
        for item in value.items():
            yield from _flatten(item)
    elif isinstance(value, datetime | date):
        yield value.isoformat()
    else:
        yield str(value)


# ---------------------------------------------------------------------------------------------
# The scanner catches planted identifiers

PEOPLE = [
    {
        "first_name": "Mary",
        "last_name": "Williams",
        "dob": "1993-11-15",
        "ssn": "067-18-6351",
        "phone": "515-856-1644",
        "alt_phone": "641-838-3214",
        "address": "2754 Euclid Way",
    },
    {
        "first_name": "Sandra",
        "last_name": "King",
        "dob": "2023-06-01",  # inside the event period: indistinguishable from an event date
        "ssn": "117-25-5637",
        "phone": "515-956-2577",
        "alt_phone": "",
        "address": "708 Adams Pkwy",
    },
]
PERIOD = (date(2023, 2, 5), date(2025, 2, 4))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("patient WILLIAMS, MARY seen", "name"),
        ("mary williams", "name"),
        ("dob 11/15/1993", "dob"),
        ("dob 15/11/1993", "dob"),
        ("19931115", "dob"),
        ("11151993", "dob"),
        ("born Nov 15, 1993", "dob"),
        ("1993-11-15", "dob"),
        ("(515) 856-1644", "phone"),
        ("tel 515.856.1644", "phone"),
        ("6418383214", "phone"),
        ("ssn 067186351", "ssn"),
        ("067-18-6351", "ssn"),
        ("lives at 2754 EUCLID WAY apt 2", "address"),
    ],
)
def test_scanner_finds_identifiers_in_any_common_form(text: str, kind: str) -> None:
    scanner = IdentifierScanner(PEOPLE, PERIOD)
    assert kind in {k for k, _ in scanner.scan_text(text)}


@pytest.mark.parametrize(
    "text",
    [
        "near Euclid Way",  # a street, not an address
        "Mary",  # one name word
        "King St",
        "2023-06-01T13:00:00Z",  # an event date, although someone was born that day
        "41.515856164",  # digits inside a coordinate
        "apco:EDP nibrs:13A overdose",
    ],
)
def test_scanner_leaves_ordinary_event_data_alone(text: str) -> None:
    assert list(IdentifierScanner(PEOPLE, PERIOD).scan_text(text)) == []


def test_scanner_finds_identifiers_planted_in_every_kind_of_hub_file(tmp_path: Path) -> None:
    lake = tmp_path / "lake" / "events" / "batch_id=x"
    lake.mkdir(parents=True)
    leaked = pa.table(
        {
            "event_id": ["E1", "E2"],
            "attributes": pa.array(
                [[("note", "Sandra King")], [("callback", "515-956-2577")]],
                pa.map_(pa.string(), pa.string()),
            ),
            "codes": pa.array([["local:708 Adams Pkwy"], []], pa.list_(pa.string())),
        }
    )
    pq.write_table(leaked, lake / "part-0.parquet", compression="zstd")
    (tmp_path / "quarantine").mkdir()
    (tmp_path / "quarantine" / "b.csv").write_text("row_number,field,value\n3,ssn,117255637\n")
    (tmp_path / "manifest.json").write_text(json.dumps({"note": "DOB 11/15/1993"}))
    (tmp_path / "blob.bin").write_bytes(b"\x00\xff" * 50 + b"mary williams" + b"\x01" * 9)
    (tmp_path / "clean.json").write_text(json.dumps({"agency": "MPD", "rows": 4}))
    leaks, scanned = IdentifierScanner(PEOPLE, PERIOD).scan_tree(tmp_path)
    assert scanned == 5
    found = {(leak.file.name, leak.kind) for leak in leaks}
    assert found == {
        ("part-0.parquet", "name"),
        ("part-0.parquet", "phone"),
        ("part-0.parquet", "address"),
        ("b.csv", "ssn"),
        ("manifest.json", "dob"),
        ("blob.bin", "name"),
    }


# ---------------------------------------------------------------------------------------------
# The proof on the synthetic city


@dataclass(frozen=True)
class Hub:
    city: City
    data_dir: Path
    batches: Path
    committed: int
    sources: int


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    """The tiny synthetic city, every source prepared and ingested into one hub."""
    root = tmp_path_factory.mktemp("no-identifiers")
    city = build_city(root / "city", seed=20240611, scale="tiny")
    data_dir = root / "hub"
    shutil.copytree(city.root / "areas", data_dir / "areas")
    key = root / "agency.key"
    write_key_file(key)
    committed = 0
    for source in city.sources():
        batch = root / "batches" / source.agency / source.name
        prepare(source.extract, source.profile, key, batch)
        result = ingest_batch(batch, data_dir)
        assert result.rows_in == source.rows
        committed += result.committed
    return Hub(city, data_dir, root / "batches", committed, len(city.sources()))


def _people(city: City) -> list[dict[str, str]]:
    with city.people.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_source_reaches_the_hub(hub: Hub) -> None:
    connectors = {source.connector for source in hub.city.sources()}
    assert connectors >= {
        "police_cad",
        "nibrs_incident",
        "ems_run",
        "ed_syndromic",
        "medical_examiner",
        "cardiff_assault",
        "generic",
    }
    assert hub.committed > 0.9 * sum(source.rows for source in hub.city.sources())
    parts = list((hub.data_dir / "lake" / "events").rglob("*.parquet"))
    assert len(parts) == hub.sources


def test_the_scanner_sees_identifiers_in_the_raw_extracts(hub: Hub) -> None:
    """Against blindness: the agencies' own extracts are full of identifiers it finds."""
    scanner = IdentifierScanner(_people(hub.city), (hub.city.start, hub.city.end))
    leaks, _ = scanner.scan_tree(hub.city.root / "agencies")
    assert {leak.kind for leak in leaks} == {"name", "dob", "phone", "ssn", "address"}


def test_no_identifier_appears_anywhere_in_the_hub_data_directory(hub: Hub) -> None:
    scanner = IdentifierScanner(_people(hub.city), (hub.city.start, hub.city.end))
    leaks, scanned = scanner.scan_tree(hub.data_dir)
    assert scanned > 2 * hub.sources  # events, cubes, manifests, ...
    assert leaks == [], "\n".join(f"{x.file}: {x.kind} {x.value}" for x in leaks[:20])


def test_no_identifier_appears_in_the_batches_that_left_the_agencies(hub: Hub) -> None:
    scanner = IdentifierScanner(_people(hub.city), (hub.city.start, hub.city.end))
    leaks, scanned = scanner.scan_tree(hub.batches)
    assert scanned == 3 * hub.sources  # events.parquet, batch.json, report.json
    assert leaks == [], "\n".join(f"{x.file}: {x.kind} {x.value}" for x in leaks[:20])
