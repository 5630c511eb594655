"""Identity normalisation and keyed person pseudonyms, with per-recipient re-keying.

A source agency turns each person's identity into ``person_token``: HMAC-SHA256 under a key
derived from the agency's secret key, over the normalised last name, first name, date of birth
and sex. The same person gets the same token at every source that holds the same key, and the
hub (which never holds that key) cannot reverse it. When the hub releases data it re-keys every
token under a per-recipient key (``rekey``), so two recipients' extracts cannot be joined.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from functools import cache, lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from wellbeat.events.schema import SEX_SYNONYMS, sex_key
from wellbeat.privacy.keys import PURPOSE_PSEUDONYM, derive_key

PERSON_TOKEN_PREFIX = "p1:"
"""Version prefix of a source pseudonym; a change of normalisation or message bumps it."""

RECIPIENT_TOKEN_PREFIX = "r1:"
"""Version prefix of a pseudonym re-keyed for one recipient."""

_TOKEN_DOMAIN = "wellbeat-person-token/1"
_SEP = "\x1f"  # ASCII unit separator: cannot occur in a normalised field

NICKNAMES_FILE = "nicknames.csv"
"""Diminutive -> formal given name table (in ``wellbeat/privacy/data``, source in its header)."""

NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
"""Generational suffixes dropped from the end of a last name ("Smith Jr." -> "smith")."""

# USPS Publication 28, Appendix C1 (street suffixes) and Appendix B (directionals), plus the
# secondary unit designators of Appendix C2 that commonly appear in extracts.
ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "terrace": "ter",
    "highway": "hwy",
    "parkway": "pkwy",
    "circle": "cir",
    "square": "sq",
    "trail": "trl",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "apartment": "apt",
    "suite": "ste",
    "building": "bldg",
    "floor": "fl",
    "unit": "unit",
}


# Letters that Unicode does not decompose into a base letter plus accent.
_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)
_NOT_NAME = re.compile(r"[^a-z ]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9 ]+")
_APOSTROPHES = re.compile(r"['’`´]")
_SPACES = re.compile(r"\s+")
_NON_DIGITS = re.compile(r"\D+")

NORMALISED_VALUES_CACHED = 1 << 16
"""Distinct raw names/addresses whose normalised form is memoised (sources repeat people)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What a source knows about who a person is; every part is optional."""

    first_name: str | None = None
    last_name: str | None = None
    dob: date | None = None
    sex: str | None = None
    ssn: str | None = None
    phone: str | None = None
    address: str | None = None
    zip: str | None = None

    def is_empty(self) -> bool:
        """True when no part of the identity is present."""
        return all(getattr(self, f.name) in (None, "") for f in fields(self))


def fold_text(text: str) -> str:
    """Case-fold and strip accents: "Zoë ÓBrien" -> "zoe obrien" (other characters kept)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTER_FOLDS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_name(text: str | None) -> str | None:
    """Letters and single spaces only: apostrophes vanish, other punctuation becomes a space."""
    if text is None:
        return None
    folded = _APOSTROPHES.sub("", fold_text(text))
    cleaned = _SPACES.sub(" ", _NOT_NAME.sub(" ", folded)).strip()
    return cleaned or None


@cache
def nicknames() -> dict[str, str]:
    """The diminutive -> formal given name table shipped with wellbeat (lower-case ASCII)."""
    text = (
        resources.files("wellbeat.privacy")
        .joinpath("data", NICKNAMES_FILE)
        .read_text(encoding="utf-8")
    )
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {row["nickname"]: row["canonical"] for row in rows}


@lru_cache(maxsize=NORMALISED_VALUES_CACHED)
def normalise_first_name(text: str | None) -> str | None:
    """Normalised given name with its first word's diminutive made formal (Bill -> william)."""
    name = normalise_name(text)
    if name is None:
        return None
    first, _, rest = name.partition(" ")
    canonical = nicknames().get(first, first)
    return f"{canonical} {rest}" if rest else canonical


@lru_cache(maxsize=NORMALISED_VALUES_CACHED)
def normalise_last_name(text: str | None) -> str | None:
    """Normalised family name without a trailing generational suffix (Jr, Sr, II, III, IV)."""
    name = normalise_name(text)
    if name is None:
        return None
    words = name.split(" ")
    while len(words) > 1 and words[-1] in NAME_SUFFIXES:
        words.pop()
    return " ".join(words)


@lru_cache(maxsize=1024)
def normalise_sex(text: str | None) -> str | None:
    """One of "female", "male", "other"; None when missing or recorded as unknown."""
    if text is None:
        return None
    key = sex_key(fold_text(text))
    if key in SEX_SYNONYMS:
        sex = SEX_SYNONYMS[key]
        return None if sex == "unknown" else sex
    return "other" if key else None


def normalise_digits(text: str | None) -> str | None:
    """Digits only ("(555) 010-2000" -> "5550102000"); None when no digit is present."""
    if text is None:
        return None
    digits = _NON_DIGITS.sub("", text)
    return digits or None


def normalise_phone(text: str | None) -> str | None:
    """Digits only, without the North American country code 1; None when under 7 digits."""
    digits = normalise_digits(text)
    if digits is None:
        return None
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) >= 7 else None


def normalise_ssn(text: str | None) -> str | None:
    """Nine digits, or None for anything that cannot be a real SSN.

    Placeholders that extracts use for "unknown" (000-00-0000, 999-99-9999, 123-45-6789) and
    numbers the SSA never issues (area 000, 666 or 900-999, group 00, serial 0000) would link
    unrelated people, so they count as missing.
    """
    digits = normalise_digits(text)
    if digits is None or len(digits) != 9:
        return None
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area >= "900" or group == "00" or serial == "0000":
        return None
    if digits == "123456789" or len(set(digits)) == 1:
        return None
    return digits


@lru_cache(maxsize=NORMALISED_VALUES_CACHED)
def normalise_address(text: str | None) -> str | None:
    """Folded street address with USPS abbreviations ("North Main Street" -> "n main st")."""
    if text is None:
        return None
    folded = _APOSTROPHES.sub("", fold_text(text))
    words = _SPACES.sub(" ", _NOT_ALNUM.sub(" ", folded)).strip().split(" ")
    cleaned = " ".join(ADDRESS_ABBREVIATIONS.get(w, w) for w in words if w)
    return cleaned or None


def normalise_zip(text: str | None) -> str | None:
    """The 5-digit ZIP code (ZIP+4 loses its extension); None when fewer than 5 digits."""
    digits = normalise_digits(text)
    if digits is None or len(digits) < 5:
        return None
    return digits[:5]


def normalise(identity: Identity) -> Identity:
    """The identity with every part normalised; unusable parts become None."""
    return Identity(
        first_name=normalise_first_name(identity.first_name),
        last_name=normalise_last_name(identity.last_name),
        dob=identity.dob,
        sex=normalise_sex(identity.sex),
        ssn=normalise_ssn(identity.ssn),
        phone=normalise_phone(identity.phone),
        address=normalise_address(identity.address),
        zip=normalise_zip(identity.zip),
    )


def token_message(identity: Identity) -> bytes | None:
    """The bytes a person token is an HMAC of, or None below the minimum identity.

    Minimum: a first name, a last name and a full date of birth. Sex is included as recorded
    ("unknown" when missing). Names enter without spaces so "De la Cruz" = "Delacruz".
    """
    return normalised_token_message(normalise(identity))


def normalised_token_message(ident: Identity) -> bytes | None:
    """``token_message`` of an identity that ``normalise`` has already normalised."""
    if ident.first_name is None or ident.last_name is None or ident.dob is None:
        return None
    parts = (
        _TOKEN_DOMAIN,
        ident.last_name.replace(" ", ""),
        ident.first_name.replace(" ", ""),
        ident.dob.isoformat(),
        ident.sex or "unknown",
    )
    return _SEP.join(parts).encode("utf-8")


@lru_cache(maxsize=32)
def _pseudonym_key(key: bytes) -> bytes:
    return derive_key(key, PURPOSE_PSEUDONYM)


def person_token(key: bytes, identity: Identity) -> str | None:
    """Keyed pseudonym of a person: "p1:" + hex HMAC-SHA256; None below the minimum identity."""
    message = token_message(identity)
    if message is None:
        return None
    return PERSON_TOKEN_PREFIX + hmac.new(_pseudonym_key(key), message, "sha256").hexdigest()


def person_tokens(key: bytes, identities: Iterable[Identity]) -> pa.StringArray:
    """``person_token`` for many identities, as an Arrow string column (null where None)."""
    return normalised_person_tokens(key, [normalise(ident) for ident in identities])


def normalised_person_tokens(key: bytes, identities: Iterable[Identity]) -> pa.StringArray:
    """``person_tokens`` of identities that ``normalise`` has already normalised.

    The HMAC pads are hashed once for the whole column (RFC 2104), not once per identity.
    """
    inner, outer = _hmac_pads(_pseudonym_key(key))
    tokens: list[str | None] = []
    append = tokens.append
    for ident in identities:
        message = normalised_token_message(ident)
        if message is None:
            append(None)
            continue
        h = inner.copy()
        h.update(message)
        o = outer.copy()
        o.update(h.digest())
        append(PERSON_TOKEN_PREFIX + o.hexdigest())
    return pa.array(tokens, type=pa.string())


def _hmac_pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states after the HMAC inner and outer key pads (RFC 2104), to copy per message."""
    block = hashlib.sha256().block_size
    key = hashlib.sha256(key).digest() if len(key) > block else key
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def rekey(token: str, recipient_key: bytes) -> str:
    """Re-key a source pseudonym for one recipient: "r1:" + hex HMAC-SHA256(key, token)."""
    _check_token(token)
    return RECIPIENT_TOKEN_PREFIX + hmac.new(recipient_key, token.encode(), "sha256").hexdigest()


def rekey_many(
    tokens: pa.Array | pa.ChunkedArray | npt.NDArray[np.object_] | Sequence[str | None],
    recipient_key: bytes,
) -> pa.StringArray | npt.NDArray[np.object_]:
    """``rekey`` over a column of tokens; nulls stay null. Arrow in, Arrow out; else NumPy.

    Each distinct token is hashed once (a person appears in many events), with the HMAC pads
    precomputed (RFC 2104), so a million tokens take about a second.
    """
    if isinstance(tokens, pa.Array | pa.ChunkedArray):
        return pa.array(_rekey_values(tokens.to_pylist(), recipient_key), type=pa.string())
    return np.array(_rekey_values(list(tokens), recipient_key), dtype=object)


def _rekey_values(tokens: list[str | None], recipient_key: bytes) -> list[str | None]:
    """HMAC-SHA256 with the pads precomputed once (RFC 2104), memoised per distinct token."""
    inner, outer = _hmac_pads(recipient_key)
    memo: dict[str, str] = {}
    out: list[str | None] = []
    append = out.append
    for position, token in enumerate(tokens):
        if token is None:
            append(None)
            continue
        done = memo.get(token)
        if done is None:
            if not isinstance(token, str) or not token.startswith(PERSON_TOKEN_PREFIX):
                _check_token(token, position)
            h = inner.copy()
            h.update(token.encode())
            o = outer.copy()
            o.update(h.digest())
            done = memo[token] = RECIPIENT_TOKEN_PREFIX + o.hexdigest()
        append(done)
    return out


def _check_token(token: str, position: int | None = None) -> None:
    if not isinstance(token, str) or not token.startswith(PERSON_TOKEN_PREFIX):
        where = "" if position is None else f" (position {position})"
        raise ValueError(
            f"rekey: {str(token)[:12]!r}{where} is not a source person token; "
            f"expected a string starting with {PERSON_TOKEN_PREFIX!r} from person_token()"
        )
