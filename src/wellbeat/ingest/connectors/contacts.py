"""What the stop and use-of-force connectors share: attribute values read into one vocabulary.

Open-data extracts spell the same fact many ways ("YES", "Y", "true"; "Traffic Law Enforcement
(P)", "vehicular"; "TAG-Tagged", "citation"). ``events.codesets.police_contact_attributes`` lists
the canonical values and their spellings; here each attribute of the events' kind is trimmed,
lower-cased, its white space folded, and replaced by its canonical value. A value no spelling
matches is kept as the extract gave it, so it stays visible (counted under its own name)
instead of being silently dropped or guessed.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.codesets import police_contact_attributes
from wellbeat.ingest.connectors.base import attribute, with_attributes


def canonical(values: pa.Array, name: str) -> pa.Array:
    """``values`` of attribute ``name`` in its canonical spelling (unmatched values unchanged)."""
    vocabulary = police_contact_attributes()[name]
    folded = pc.replace_substring_regex(
        pc.utf8_lower(pc.utf8_trim_whitespace(values.cast(pa.string()))), r"\s+", " "
    )
    spellings = pa.array(list(vocabulary.spellings), pa.string())
    targets = pa.array(list(vocabulary.spellings.values()), pa.string())
    position = pc.index_in(folded, value_set=spellings)
    return pc.if_else(pc.is_valid(position), pc.take(targets, position), values.cast(pa.string()))


def with_canonical_attributes(events: pa.Table, kind: str) -> pa.Table:
    """``events`` with every contact attribute of ``kind`` replaced by its canonical value."""
    new = {
        name: canonical(attribute(events, name), name)
        for name, vocabulary in police_contact_attributes().items()
        if kind in vocabulary.kinds
    }
    return with_attributes(events, new, replace=True)


def flag(events: pa.Table, name: str) -> pa.Array:
    """A true/false attribute as booleans (null where absent or not a flag spelling)."""
    values = attribute(events, name)
    return pc.if_else(
        pc.equal(values, "true"), True, pc.if_else(pc.equal(values, "false"), False, None)
    )
