"""One list of sex spellings (``events.schema.SEX_SYNONYMS``): ``wellbeat prepare`` and the
person pseudonym read every spelling the same way ("unknown" in a batch is no sex recorded in
a pseudonym)."""

from __future__ import annotations

import pyarrow as pa

from wellbeat.events.schema import SEX_SYNONYMS, SEXES, sex_key
from wellbeat.ingest.prepare import normalise_sex as prepare_sex
from wellbeat.privacy.pseudonym import normalise_sex as pseudonym_sex

SPELLINGS = [
    *SEX_SYNONYMS,
    " M ",
    "Female",
    "WOMAN",
    "U",
    "Unk.",
    "Non-Binary",
    "nonbinary",
    "NOT RECORDED",
    "not_applicable",
    "X",
]


def test_every_synonym_is_a_sex_of_the_schema_and_keys_are_in_key_form() -> None:
    assert set(SEX_SYNONYMS.values()) <= set(SEXES)
    assert all(sex_key(key) == key for key in SEX_SYNONYMS)


def test_prepare_and_the_pseudonym_agree_on_every_spelling() -> None:
    batch = prepare_sex(pa.array(SPELLINGS, pa.string()), {}).to_pylist()
    for spelling, in_batch in zip(SPELLINGS, batch, strict=True):
        in_token = pseudonym_sex(spelling)
        assert in_batch in SEXES, (spelling, in_batch)
        assert in_token == (None if in_batch == "unknown" else in_batch), spelling
    # The two spellings they used to disagree on.
    assert dict(zip(SPELLINGS, batch, strict=True))["U"] == "unknown"
    assert dict(zip(SPELLINGS, batch, strict=True))["Non-Binary"] == "other"


def test_prepare_leaves_an_unknown_spelling_for_validation_to_refuse() -> None:
    assert prepare_sex(pa.array(["zebra", None], pa.string()), {}).to_pylist() == ["zebra", None]
    # The pseudonym has to put something in the token: any other recorded text is "other".
    assert pseudonym_sex("zebra") == "other"
