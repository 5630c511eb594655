"""Person tokens and Bloom linkage codes of many identities together, normalising each once.

A source pseudonymises every distinct identity in its extract into a keyed ``person_token``
(``privacy.pseudonym``) and a CLK ``linkage_code`` (``privacy.bloom``). Both start from the same
normalised identity, so this module normalises once and hands the result to each.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from wellbeat.privacy.bloom import encoder
from wellbeat.privacy.pseudonym import Identity, normalise, normalised_person_tokens


def tokens_and_codes(
    key: bytes, identities: Iterable[Identity]
) -> tuple[pa.StringArray, pa.BinaryArray]:
    """(``person_tokens``, ``encode_many``) of the identities under the agency ``key``.

    Equal, value for value, to calling the two separately; null token below the minimum
    identity, null code where the identity has no linkage field.
    """
    normalised = [normalise(ident) for ident in identities]
    tokens = normalised_person_tokens(key, normalised)
    codes = encoder(key).encode_normalised_many(normalised)
    return tokens, codes
