"""Identity normalisation, person tokens and per-recipient re-keying."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wellbeat.privacy.keys import derive_key, generate_key, recipient_key
from wellbeat.privacy.pseudonym import (
    PERSON_TOKEN_PREFIX,
    RECIPIENT_TOKEN_PREFIX,
    Identity,
    nicknames,
    normalise,
    normalise_address,
    normalise_first_name,
    normalise_last_name,
    normalise_name,
    normalise_phone,
    normalise_sex,
    normalise_ssn,
    normalise_zip,
    person_token,
    person_tokens,
    rekey,
    rekey_many,
)

KEY = bytes(range(32))
DOB = date(1984, 7, 9)


def test_names_are_folded_stripped_of_accents_and_punctuation() -> None:
    assert normalise_name("  Zoë   O’Brien-Smith ") == "zoe obrien smith"
    assert normalise_name("ŁUKASZ Øvergård") == "lukasz overgard"
    assert normalise_name("...") is None
    assert normalise_last_name("Smith Jr.") == "smith"
    assert normalise_last_name("King III") == "king"


def test_common_nicknames_become_the_formal_name() -> None:
    assert normalise_first_name("Bill") == "william"
    assert normalise_first_name("BOB") == "robert"
    assert normalise_first_name("Liz") == "elizabeth"
    assert normalise_first_name("Peggy Sue") == "margaret sue"
    # Ambiguous diminutives are left alone rather than merging different people.
    assert normalise_first_name("Chris") == "chris"
    table = nicknames()
    assert len(table) > 100
    assert all(v.isalpha() and v == v.lower() for v in table.values())


def test_digits_only_phone_ssn_zip_and_placeholders_count_as_missing() -> None:
    assert normalise_phone("+1 (555) 010-2000") == "5550102000"
    assert normalise_phone("911") is None
    assert normalise_ssn("078-05-1120") == "078051120"
    for placeholder in ("000-00-0000", "999999999", "123-45-6789", "666-12-3456", "12345"):
        assert normalise_ssn(placeholder) is None
    assert normalise_zip("60614-1234") == "60614"
    assert normalise_zip("606") is None


def test_sex_and_address_normalisation() -> None:
    assert normalise_sex(" M ") == "male"
    assert normalise_sex("Female") == "female"
    assert normalise_sex("Unknown") is None
    assert normalise_sex("X") == "other"
    assert normalise_address("12 North Main Street, Apt. #4") == "12 n main st apt 4"


def test_same_person_recorded_differently_gets_one_token() -> None:
    a = Identity(first_name="Bill", last_name="De la Cruz Jr.", dob=DOB, sex="M")
    b = Identity(first_name="WILLIAM", last_name="Delacruz", dob=DOB, sex="male", zip="1")
    token = person_token(KEY, a)
    assert token is not None and token.startswith(PERSON_TOKEN_PREFIX)
    assert token == person_token(KEY, b)
    assert len(token) == len(PERSON_TOKEN_PREFIX) + 64


def test_token_is_hmac_of_normalised_fields_under_the_pseudonym_subkey() -> None:
    ident = Identity(first_name="Ann", last_name="Lee", dob=DOB, sex="F")
    message = "\x1f".join(["wellbeat-person-token/1", "lee", "ann", "1984-07-09", "female"])
    expected = hmac.new(derive_key(KEY, "pseudonym/v1"), message.encode(), hashlib.sha256)
    assert person_token(KEY, ident) == PERSON_TOKEN_PREFIX + expected.hexdigest()


def test_different_people_keys_and_sexes_give_different_tokens() -> None:
    base = Identity(first_name="Ann", last_name="Lee", dob=DOB, sex="F")
    variants = [
        Identity(first_name="Anne", last_name="Lee", dob=DOB, sex="F"),
        Identity(first_name="Ann", last_name="Lee", dob=date(1984, 7, 10), sex="F"),
        Identity(first_name="Ann", last_name="Lee", dob=DOB, sex=None),
    ]
    tokens = {person_token(KEY, v) for v in [base, *variants]}
    assert len(tokens) == 4
    assert person_token(generate_key(), base) != person_token(KEY, base)


def test_too_little_identity_gives_no_token() -> None:
    assert person_token(KEY, Identity(first_name="Ann", last_name="Lee")) is None
    assert person_token(KEY, Identity(last_name="Lee", dob=DOB, ssn="078-05-1120")) is None
    assert person_token(KEY, Identity(first_name="?!", last_name="Lee", dob=DOB)) is None
    column = person_tokens(KEY, [Identity(), Identity(first_name="A", last_name="B", dob=DOB)])
    assert column.null_count == 1 and column[1].as_py().startswith(PERSON_TOKEN_PREFIX)


@given(
    first=st.text(min_size=1, max_size=12),
    last=st.text(min_size=1, max_size=12),
)
def test_normalisation_is_idempotent(first: str, last: str) -> None:
    once = normalise(Identity(first_name=first, last_name=last))
    assert normalise(once) == once


def test_rekey_gives_unlinkable_tokens_per_recipient() -> None:
    token = person_token(KEY, Identity(first_name="Ann", last_name="Lee", dob=DOB))
    assert token is not None
    for_ph, for_pd = recipient_key(KEY, "PH"), recipient_key(KEY, "MPD")
    a, b = rekey(token, for_ph), rekey(token, for_pd)
    assert a.startswith(RECIPIENT_TOKEN_PREFIX) and a != b
    assert a == rekey(token, for_ph)
    assert a[3:] == hmac.new(for_ph, token.encode(), hashlib.sha256).hexdigest()
    with pytest.raises(ValueError, match="not a source person token"):
        rekey(a, for_pd)


def test_rekey_many_matches_rekey_and_keeps_nulls() -> None:
    rk = recipient_key(KEY, "PH")
    tokens = [
        person_token(KEY, Identity(first_name=f"N{i % 7}", last_name="Lee", dob=DOB))
        for i in range(50)
    ]
    tokens[3] = None
    arrow_out = rekey_many(pa.array(tokens, type=pa.string()), rk)
    assert isinstance(arrow_out, pa.StringArray)
    assert arrow_out.to_pylist() == [None if t is None else rekey(t, rk) for t in tokens]
    numpy_out = rekey_many(np.array(tokens, dtype=object), rk)
    assert isinstance(numpy_out, np.ndarray)
    assert numpy_out.tolist() == arrow_out.to_pylist()
    chunked = rekey_many(pa.chunked_array([tokens[:10], tokens[10:]], type=pa.string()), rk)
    assert isinstance(chunked, pa.StringArray)
    assert chunked.to_pylist() == arrow_out.to_pylist()
    with pytest.raises(ValueError, match=r"\(position 1\)"):
        rekey_many(["p1:abc", "x"], rk)


def test_rekey_many_is_fast() -> None:
    rk = recipient_key(KEY, "PH")
    rng = np.random.default_rng(7)
    tokens = pa.array([f"p1:{v:064x}" for v in rng.integers(0, 2**62, 200_000)])
    start = time.perf_counter()
    out = rekey_many(tokens, rk)
    elapsed = time.perf_counter() - start
    assert len(out) == 200_000
    assert elapsed < 3.0, f"rekey_many took {elapsed:.2f}s for 200k tokens (~1s/1M expected)"
