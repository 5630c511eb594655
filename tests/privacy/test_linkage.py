"""Memoised, vectorised pseudonymisation gives exactly what the specification computes."""

from __future__ import annotations

import hmac
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.privacy import bloom
from wellbeat.privacy.bloom import (
    BLOOM_PARAMETERS,
    FILTER_BITS,
    FILTER_BYTES,
    BloomEncoder,
    encode,
    encode_many,
    field_values,
)
from wellbeat.privacy.keys import PURPOSE_BLOOM, derive_key
from wellbeat.privacy.linkage import tokens_and_codes
from wellbeat.privacy.pseudonym import Identity, person_token, person_tokens

KEY = bytes(range(32))


def reference_clk(key: bytes, identity: Identity) -> bytes:
    """The CLK recomputed from BLOOM_PARAMETERS alone: one HMAC per bigram, no memo."""
    hmac_key = derive_key(key, PURPOSE_BLOOM)
    bits = bytearray(FILTER_BYTES)
    for field, value in field_values(identity).items():
        k = BLOOM_PARAMETERS["fields"][field]["k"]
        padded = f" {value} "
        for i in range(len(padded) - 1):
            digest = hmac.digest(hmac_key, f"{field}\x1f{padded[i : i + 2]}".encode(), "sha256")
            h1 = int.from_bytes(digest[0:8], "big")
            h2 = int.from_bytes(digest[8:16], "big") | 1
            for j in range(k):
                bit = ((h1 + j * h2) % 2**64) % FILTER_BITS
                bits[bit // 8] |= 0x80 >> (bit % 8)
    return bytes(bits)


NAMES = st.sampled_from(
    ["Ana", "Bill", "bill", "Zoë O'Brien", "de la Cruz", "Smith Jr.", "Łukasz", "Jo-Ann", "", " "]
)
IDENTITIES = st.builds(
    Identity,
    first_name=st.one_of(st.none(), NAMES, st.text(max_size=8)),
    last_name=st.one_of(st.none(), NAMES, st.text(max_size=8)),
    dob=st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2030, 12, 31))),
    sex=st.sampled_from([None, "M", "f", "unknown", "X", "woman", ""]),
    zip=st.sampled_from([None, "60601", "60601-1234", "606", ""]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(IDENTITIES, max_size=12))
def test_cached_and_uncached_encodings_are_equal(identities: list[Identity]) -> None:
    expected = [reference_clk(KEY, ident) for ident in identities]
    # Twice through one warm encoder, through a fresh one, and through the column functions.
    warm = BloomEncoder(KEY)
    for _ in range(2):
        assert [warm.encode(ident) for ident in identities] == expected
    assert [BloomEncoder(KEY).encode(ident) for ident in identities] == expected
    assert [encode(KEY, ident) for ident in identities] == expected
    as_column = [code if any(code) else None for code in expected]
    assert encode_many(KEY, identities).to_pylist() == as_column
    assert warm.encode_many(identities).to_pylist() == as_column


def test_people_sharing_a_first_name_or_birthday_share_its_bits() -> None:
    ana = Identity("Ana", "Diaz", date(1990, 1, 2))
    other_ana = Identity("ANA", "Kim", date(1990, 1, 2))
    shared = int.from_bytes(encode(KEY, ana), "big") & int.from_bytes(encode(KEY, other_ana), "big")
    first_name_and_dob = int.from_bytes(encode(KEY, Identity("Ana", dob=date(1990, 1, 2))), "big")
    assert shared & first_name_and_dob == first_name_and_dob


def test_memo_that_starts_afresh_still_encodes_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bloom, "_VALUES_CACHED", 2)
    people = [
        Identity(f"Name{i}", f"Last{i}", date(1980, 1, 1 + i), "F", zip="60601") for i in range(9)
    ]
    encoder = BloomEncoder(KEY)
    assert [encoder.encode(p) for p in people] == [reference_clk(KEY, p) for p in people]


@settings(max_examples=40, deadline=None)
@given(st.lists(IDENTITIES, max_size=12))
def test_tokens_and_codes_equal_the_separate_calls(identities: list[Identity]) -> None:
    tokens, codes = tokens_and_codes(KEY, identities)
    assert tokens.to_pylist() == [person_token(KEY, ident) for ident in identities]
    assert person_tokens(KEY, identities).equals(tokens)
    assert codes.equals(encode_many(KEY, identities))
    assert len(tokens) == len(codes) == len(identities)


def test_empty_identities_give_null_codes_and_tokens() -> None:
    tokens, codes = tokens_and_codes(KEY, [Identity(), Identity(first_name="Ana")])
    assert tokens.to_pylist() == [None, None]
    assert codes.null_count == 1
    assert codes[1].as_py() == reference_clk(KEY, Identity(first_name="Ana"))
    empty_tokens, empty_codes = tokens_and_codes(KEY, [])
    assert len(empty_tokens) == len(empty_codes) == 0
