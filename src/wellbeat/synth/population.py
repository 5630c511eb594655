"""The people of the city: true identities, and the noisy way each agency writes them down.

Each person has one true identity (name, date of birth, sex, SSN, phone, home address). Each
record an agency makes about a person is a *noisy observation* of it: nicknames, typos, day and
month swapped or year digits transposed in the date of birth, an old phone number, missing
fields. The noise is generated with whole-array operations (strings as fixed-width code-point
arrays), so a 10-million-record city needs no Python loop per record.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from wellbeat.synth.geography import CityMap
from wellbeat.synth.names import (
    FEMALE_FIRST,
    LAST,
    MALE_FIRST,
    NICKNAMES,
    STREET_SUFFIX_WORDS,
    STREET_SUFFIXES,
    STREETS,
)

NAME_WIDTH = 24
"""Longest name a typo can produce; longer names never occur in the vocabularies."""
HOMELESS_ADDRESS = "HOMELESS"


@dataclass(frozen=True)
class People:
    """Everyone who can appear in a record, as parallel arrays indexed by person number."""

    ids: np.ndarray  # "P0000001"
    first: np.ndarray
    last: np.ndarray
    sex: np.ndarray  # "female" | "male"
    dob: np.ndarray  # datetime64[D]
    ssn: np.ndarray  # "123-45-6789"
    phone: np.ndarray  # "515-555-0123"
    alt_phone: np.ndarray  # an older number the person also gives
    address: np.ndarray  # "1234 Oak St" or HOMELESS_ADDRESS
    address_variant: np.ndarray  # the same address as another clerk types it
    nickname: np.ndarray  # familiar form of the first name (the name itself when none)
    zip: np.ndarray
    home: np.ndarray  # neighbourhood index
    home_lon: np.ndarray
    home_lat: np.ndarray
    unsheltered: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.ids)


def build_people(
    n: int,
    city: CityMap,
    rng: np.random.Generator,
    *,
    first_number: int = 1,
    home: np.ndarray | None = None,
) -> People:
    """``n`` residents with true identities, numbered from ``first_number``.

    Homes are drawn by neighbourhood population unless ``home`` (neighbourhood indices) is given.
    """
    if home is None:
        population = city.neighbourhoods.population.astype(float)
        home = rng.choice(len(population), n, p=population / population.sum())
    home = np.asarray(home, dtype=np.int32)
    female = rng.random(n) < 0.5
    first = np.where(
        female,
        np.asarray(FEMALE_FIRST)[rng.integers(0, len(FEMALE_FIRST), n)],
        np.asarray(MALE_FIRST)[rng.integers(0, len(MALE_FIRST), n)],
    ).astype(f"<U{NAME_WIDTH}")
    # Zipf-like surname frequencies, as in any real population.
    surname_weight = 1.0 / np.arange(1, len(LAST) + 1) ** 0.6
    last = np.asarray(LAST)[
        rng.choice(len(LAST), n, p=surname_weight / surname_weight.sum())
    ].astype(f"<U{NAME_WIDTH}")
    age_days = (rng.gamma(4.0, 9.5, n) + 14).clip(14, 95) * 365.25
    dob = (np.datetime64("2025-01-01") - age_days.astype("timedelta64[D]")).astype("datetime64[D]")
    area = rng.integers(1, 900, n)
    area = np.where(area == 666, 667, area)
    ssn = _join(
        _zero_pad(area, 3), "-", _zero_pad(rng.integers(1, 100, n), 2), "-",
        _zero_pad(rng.integers(1, 10000, n), 4),
    )  # fmt: skip
    exchange = rng.integers(200, 1000, n)
    phone = _join("515-", _zero_pad(exchange, 3), "-", _zero_pad(rng.integers(0, 10000, n), 4))
    alt_phone = _join(
        rng.choice(np.array(["515-", "641-", "319-"]), n),
        _zero_pad(rng.integers(200, 1000, n), 3), "-", _zero_pad(rng.integers(0, 10000, n), 4),
    )  # fmt: skip
    unsheltered = rng.random(n) < 0.004 + 0.05 * city.deprivation[home] ** 2
    number = rng.integers(100, 4000, n).astype(str)
    street = np.asarray(STREETS)[rng.integers(0, len(STREETS), n)]
    suffix = np.asarray(STREET_SUFFIXES)[rng.integers(0, len(STREET_SUFFIXES), n)]
    unit = np.where(rng.random(n) < 0.25, _join(" Apt ", rng.integers(1, 40, n).astype(str)), "")
    address = np.where(unsheltered, HOMELESS_ADDRESS, _join(number, " ", street, " ", suffix, unit))
    home_lon, home_lat = city.sample_points(home, rng)
    return People(
        ids=_join("P", _zero_pad(np.arange(first_number, first_number + n), 7)),
        first=first,
        last=last,
        sex=np.where(female, "female", "male"),
        dob=dob,
        ssn=ssn,
        phone=phone,
        alt_phone=alt_phone,
        address=address,
        address_variant=_spell_out_suffix(address),
        nickname=np.array([NICKNAMES.get(str(name), str(name)) for name in first]),
        zip=np.asarray(city.zip_of_beat)[city.beat_of[home]],
        home=home,
        home_lon=home_lon,
        home_lat=home_lat,
        unsheltered=unsheltered,
    )


def concat_people(parts: list[People]) -> People:
    """One People table holding ``parts`` in order (person numbers follow on)."""
    return People(
        **{
            f.name: np.concatenate([getattr(part, f.name) for part in parts])
            for f in fields(People)
        }
    )


@dataclass(frozen=True)
class IdentityNoise:
    """How carefully one source records identities: probabilities per record."""

    missing_name: float = 0.02
    missing_first: float = 0.01
    missing_dob: float = 0.03
    missing_ssn: float = 0.7
    missing_phone: float = 0.2
    missing_address: float = 0.05
    nickname: float = 0.08
    typo: float = 0.04
    dob_error: float = 0.03
    ssn_error: float = 0.02
    old_phone: float = 0.1
    address_variant: float = 0.15


@dataclass(frozen=True)
class ObservedIdentity:
    """Identity fields as one source wrote them, one entry per record ("" when missing)."""

    first: np.ndarray
    last: np.ndarray
    dob: np.ndarray  # datetime64[D], NaT when missing
    ssn: np.ndarray
    phone: np.ndarray
    address: np.ndarray
    zip: np.ndarray
    sex: np.ndarray  # "female" | "male" | "unknown"


def observe_identity(
    people: People, person: np.ndarray, noise: IdentityNoise, rng: np.random.Generator
) -> ObservedIdentity:
    """Noisy copies of the identities of ``person`` (person numbers), as one source records them."""
    n = len(person)
    nick = rng.random(n) < noise.nickname
    first = np.where(nick, people.nickname[person], people.first[person]).astype(f"<U{NAME_WIDTH}")
    first = add_typos(first, rng.random(n) < noise.typo, rng)
    last = add_typos(people.last[person], rng.random(n) < noise.typo, rng)
    no_name = rng.random(n) < noise.missing_name
    first = np.where(no_name | (rng.random(n) < noise.missing_first), "", first)
    last = np.where(no_name, "", last)

    dob = transpose_dob(people.dob[person], rng.random(n) < noise.dob_error, rng)
    dob = np.where(rng.random(n) < noise.missing_dob, np.datetime64("NaT"), dob)

    ssn = people.ssn[person]
    ssn = np.where(rng.random(n) < noise.ssn_error, _swap_ssn_digits(ssn, rng), ssn)
    ssn = np.where(rng.random(n) < noise.missing_ssn, "", ssn)

    phone = np.where(
        rng.random(n) < noise.old_phone, people.alt_phone[person], people.phone[person]
    )
    phone = np.where(rng.random(n) < noise.missing_phone, "", phone)

    variant = rng.random(n) < noise.address_variant
    address = np.where(variant, people.address_variant[person], people.address[person])
    address = np.where(rng.random(n) < noise.missing_address, "", address)
    sex = np.where(rng.random(n) < 0.01, "unknown", people.sex[person])
    return ObservedIdentity(first, last, dob, ssn, phone, address, people.zip[person], sex)


def add_typos(names: np.ndarray, where: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One keying error (swap, drop, double or wrong letter) in each name where ``where``."""
    text = np.array(names, dtype=f"<U{NAME_WIDTH}")
    codes = text.view(np.uint32).reshape(len(text), NAME_WIDTH).copy()
    length = (codes != 0).sum(axis=1)
    rows = np.flatnonzero(where & (length >= 3))
    if len(rows) == 0:
        return text
    lengths = length[rows]
    position = (rng.random(len(rows)) * (lengths - 1)).astype(np.int64)
    operation = rng.integers(0, 4, len(rows))
    # A full-width name has no room for a doubled letter: swap two letters instead.
    operation = np.where((operation == 2) & (lengths >= NAME_WIDTH), 0, operation)
    columns = np.arange(NAME_WIDTH)

    swap = rows[operation == 0]
    p = position[operation == 0]
    a, b = codes[swap, p].copy(), codes[swap, p + 1].copy()
    codes[swap, p], codes[swap, p + 1] = b, a

    drop = operation == 1
    source = columns[None, :] + (columns[None, :] >= position[drop, None])
    shifted = np.take_along_axis(codes[rows[drop]], np.minimum(source, NAME_WIDTH - 1), axis=1)
    shifted[source >= NAME_WIDTH] = 0
    codes[rows[drop]] = shifted

    double = operation == 2
    source = columns[None, :] - (columns[None, :] > position[double, None])
    codes[rows[double]] = np.take_along_axis(codes[rows[double]], source, axis=1)

    wrong = operation == 3
    p = position[wrong]
    upper = (codes[rows[wrong], p] >= ord("A")) & (codes[rows[wrong], p] <= ord("Z"))
    letter = rng.integers(0, 26, int(wrong.sum())) + np.where(upper, ord("A"), ord("a"))
    codes[rows[wrong], p] = letter

    return codes.reshape(-1).view(f"<U{NAME_WIDTH}")


def transpose_dob(dob: np.ndarray, where: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Day and month swapped (when both could be a month) or the year's last digits transposed.

    Every result is a real date with the same digits; a date with no such transposition (a
    leap day whose transposed year is not a leap year, 2011-11-11) is left as it was."""
    dob = dob.astype("datetime64[D]")
    year = dob.astype("datetime64[Y]").astype(int) + 1970
    month = dob.astype("datetime64[M]").astype(int) % 12 + 1
    day = (dob - dob.astype("datetime64[M]")).astype(int) + 1
    swap_day_month = where & (day <= 12) & (day != month) & (rng.random(len(dob)) < 0.6)
    transposed_year = year - year % 100 + (year % 10) * 10 + (year // 10) % 10
    # A leap day stays put when the transposed year has no 29 February (1996-02-29 would
    # become 1969-03-01, a date with other digits); 1948-02-29 -> 1984-02-29 is fine.
    leap = (transposed_year % 4 == 0) & (
        (transposed_year % 100 != 0) | (transposed_year % 400 == 0)
    )
    leap_day_lost = (month == 2) & (day == 29) & ~leap
    swap_year = where & ~swap_day_month & ((year // 10) % 10 != year % 10) & ~leap_day_lost
    new_year = np.where(swap_year, transposed_year, year)
    new_month = np.where(swap_day_month, day, month)
    new_day = np.where(swap_day_month, month, day)
    # Day 29-31 cannot overflow: only days <= 12 move into the month slot.
    result = (
        (new_year - 1970).astype("datetime64[Y]").astype("datetime64[M]")
        + (new_month - 1).astype("timedelta64[M]")
    ).astype("datetime64[D]") + (new_day - 1).astype("timedelta64[D]")
    return np.where(where, result, dob)


def _swap_ssn_digits(ssn: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The last two digits of each SSN transposed, the commonest keying error."""
    text = np.asarray(ssn, dtype="<U11")
    codes = text.view(np.uint32).reshape(len(text), 11).copy()
    codes[:, [9, 10]] = codes[:, [10, 9]]
    return codes.reshape(-1).view("<U11")


def _spell_out_suffix(address: np.ndarray) -> np.ndarray:
    """``1234 Oak St`` -> ``1234 OAK STREET``: how another clerk types the same address."""
    result = np.char.upper(address.astype(str))
    for short, word in STREET_SUFFIX_WORDS.items():
        result = np.char.replace(result, f" {short.upper()}", f" {word.upper()}")
    return result


def _zero_pad(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(np.asarray(values).astype(str), width)


def _join(*parts: object) -> np.ndarray:
    """Element-wise concatenation of string arrays and scalars."""
    result = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        result = np.char.add(result, np.asarray(part).astype(str))
    return result
