"""CLK Bloom-filter encodings: noisy variants of one person score high, strangers low."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.privacy.bloom import (
    BLOOM_PARAMETERS,
    FILTER_BYTES,
    bigrams,
    candidate_pairs,
    dice,
    dice_matrix,
    encode,
    encode_many,
    expected_fill,
    popcount,
    popcount_bound,
)
from wellbeat.privacy.keys import generate_key
from wellbeat.privacy.pseudonym import Identity

KEY = bytes(range(32))

PEOPLE = [
    Identity("William", "Johnson", date(1985, 3, 12), "M", zip="60614"),
    Identity("Maria", "Garcia", date(1990, 7, 4), "F", zip="60601"),
    Identity("Elizabeth", "Nguyen", date(1972, 11, 30), "F", zip="60622"),
    Identity("Robert", "Williams", date(2001, 1, 15), "M", zip="60614"),
    Identity("Jose", "Hernandez", date(1968, 5, 21), "M", zip="60608"),
    Identity("Ashley", "Brown", date(1995, 9, 2), "F", zip="60640"),
    Identity("Michael", "Davis", date(1985, 3, 21), "M", zip="60614"),
    Identity("Jennifer", "Miller", date(1979, 12, 8), "F", zip="60625"),
]

NOISY = [
    Identity("Bill", "Jonson", date(1985, 3, 21), "male", zip="60614"),  # nickname, typo, dob
    Identity("María", "Garcia-", date(1990, 4, 7), "F", zip="60601"),  # accent, day/month swap
    Identity("Liz", "Nguyen", date(1972, 11, 3), "F", zip=None),  # nickname, dob, missing zip
    Identity("Bob", "Wiliams", date(2001, 1, 15), "M", zip="60641"),  # nickname, typo, moved
    Identity("Jose", "Hernandes", date(1968, 5, 12), "M", zip="60608"),
    Identity("Ashely", "Brown", date(1995, 9, 2), None, zip="60640"),
    Identity("Micheal", "Davies", date(1985, 3, 21), "M", zip="60614"),
    Identity("Jenifer", "Miller", date(1979, 12, 8), "F", zip="60625"),
]


def test_filters_are_128_bytes_and_about_half_full() -> None:
    codes = [encode(KEY, p) for p in PEOPLE]
    assert all(len(c) == FILTER_BYTES for c in codes)
    fill = popcount(codes) / (FILTER_BYTES * 8)
    assert 0.38 < fill.mean() < 0.62, fill
    assert 0.45 < expected_fill() < 0.55


def test_bigrams_are_padded() -> None:
    assert bigrams("ann") == [" a", "an", "nn", "n "]
    assert bigrams("aa") == [" a", "aa", "a "]


def test_noisy_variants_score_clearly_higher_than_different_people() -> None:
    scores = dice_matrix([encode(KEY, p) for p in PEOPLE], [encode(KEY, p) for p in NOISY])
    same = np.diag(scores)
    different = scores[~np.eye(len(PEOPLE), dtype=bool)]
    assert same.min() > 0.85, same
    # The closest stranger shares date of birth, sex and ZIP with William Johnson.
    assert different.max() < 0.7, different
    assert (np.argmax(scores, axis=0) == np.arange(len(NOISY))).all()
    assert same.min() - different.max() > 0.15


def test_encoding_depends_on_the_key() -> None:
    other = generate_key()
    person = PEOPLE[0]
    assert encode(KEY, person) == encode(KEY, person)
    assert dice(encode(KEY, person), encode(other, person)) < 0.7


def test_encode_many_gives_nulls_for_identities_without_linkage_fields() -> None:
    column = encode_many(KEY, [PEOPLE[0], Identity(phone="5550102000"), PEOPLE[1]])
    assert column.null_count == 1
    assert column[0].as_py() == encode(KEY, PEOPLE[0])
    assert dice_matrix(column, column)[1, 1] == 0.0


def test_dice_matches_definition() -> None:
    a = bytes([0b11110000]) + bytes(FILTER_BYTES - 1)
    b = bytes([0b11000011]) + bytes(FILTER_BYTES - 1)
    assert dice(a, b) == pytest.approx(2 * 2 / (4 + 4))
    assert dice(bytes(FILTER_BYTES), bytes(FILTER_BYTES)) == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        dice(a, b[:10])


def test_parameters_are_json_and_complete() -> None:
    restored = json.loads(json.dumps(BLOOM_PARAMETERS))
    assert restored["length_bits"] == 1024
    assert set(restored["fields"]) == {"first_name", "last_name", "dob", "sex", "zip"}
    assert all(spec["k"] > 0 for spec in restored["fields"].values())


filters = st.lists(st.binary(min_size=FILTER_BYTES, max_size=FILTER_BYTES), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(a=filters, b=filters, threshold=st.floats(min_value=0.05, max_value=1.0))
def test_pruned_search_finds_exactly_the_pairs_above_threshold(
    a: list[bytes], b: list[bytes], threshold: float
) -> None:
    full = dice_matrix(a, b)
    i, j, s = candidate_pairs(a, b, threshold)
    expected = {(int(r), int(c)) for r, c in zip(*np.nonzero(full >= threshold), strict=True)}
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    assert np.allclose(s, full[i, j])
    assert all(dice(a[r], b[c]) == pytest.approx(full[r, c]) for r, c in expected)


@given(
    pa_=st.integers(min_value=1, max_value=1024),
    pb=st.integers(min_value=1, max_value=1024),
    threshold=st.floats(min_value=0.05, max_value=1.0),
)
def test_popcount_bound_never_prunes_a_reachable_pair(pa_: int, pb: int, threshold: float) -> None:
    best_possible = 2 * min(pa_, pb) / (pa_ + pb)
    if best_possible >= threshold:
        assert popcount_bound(pa_, pb, threshold)
