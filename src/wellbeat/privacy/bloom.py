"""Bloom-filter linkage encodings (cryptographic long-term keys, CLKs) and their comparison.

As in anonlink/clkhash (Schnell, Bachteler and Reiher 2011): each normalised identity field is
split into bigrams padded with one space each side; each bigram sets ``k`` bits of a 1024-bit
filter chosen by keyed double hashing; records are compared by the Dice coefficient of their
filters, so a typo, a nickname or two transposed digits of a date of birth still score high
without the hub ever seeing a name. The HMAC key is derived from the agency key by HKDF.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from wellbeat.privacy.keys import PURPOSE_BLOOM, derive_key
from wellbeat.privacy.pseudonym import Identity, normalise

FILTER_BITS: Final = 1024
FILTER_BYTES: Final = FILTER_BITS // 8
TARGET_FILL: Final = 0.5
"""Fraction of bits a typical record should set: the most informative point of a filter."""

# Bits per bigram (k) for each field and the typical number of distinct bigrams the field
# yields (a 6-letter given name -> 7 padded bigrams; YYYYMMDD -> 9; one sex letter -> 2;
# a 5-digit ZIP -> 6). A filter of l bits with m insertions has an expected fill of
# 1 - (1 - 1/l)^m, which is 1/2 at m = ln 2 * l = 710 for l = 1024. The 710 insertions are
# shared 30 % each by first name, last name and date of birth, 3 % sex, 7 % ZIP, and
# k = share * 710 / typical bigrams, rounded. ``expected_fill()`` recomputes the fill.
_FIELDS: Final[dict[str, dict[str, int]]] = {
    "first_name": {"k": 30, "typical_bigrams": 7},
    "last_name": {"k": 28, "typical_bigrams": 8},
    "dob": {"k": 24, "typical_bigrams": 9},
    "sex": {"k": 11, "typical_bigrams": 2},
    "zip": {"k": 8, "typical_bigrams": 6},
}

BLOOM_PARAMETERS: Final[dict[str, Any]] = {
    "scheme": "clk",
    "version": 1,
    "length_bits": FILTER_BITS,
    "ngram": 2,
    "padding": "one space before and after each field value",
    "normalisation": (
        "wellbeat.privacy.pseudonym.normalise; names without spaces; dob as YYYYMMDD; "
        "sex as its first letter (f, m, o); zip as 5 digits"
    ),
    "hashing": (
        "double hashing: d = HMAC-SHA256(bloom key, field + 0x1f + bigram); "
        "h1 = d[0:8], h2 = d[8:16] | 1 (unsigned big-endian); bit_i = (h1 + i*h2) mod 1024, "
        "i = 0..k-1"
    ),
    "key_derivation": f"HKDF-SHA256 of the agency key, info 'wellbeat/{PURPOSE_BLOOM}'",
    "bit_order": "bit p is byte p // 8, mask 0x80 >> (p % 8) (numpy.packbits order)",
    "target_fill": TARGET_FILL,
    "fields": {name: dict(spec) for name, spec in _FIELDS.items()},
}
"""Everything needed to reproduce or compare encodings; recorded in each batch's metadata."""

_SEP: Final = "\x1f"
_BLOCK_ROWS: Final = 512
_MASK64: Final = (1 << 64) - 1
_VALUES_CACHED: Final = 1 << 20
"""Memoised (field, value) bit sets per encoder before the memo starts afresh (bounds memory)."""


def field_values(identity: Identity) -> dict[str, str]:
    """The normalised string of each linkage field present in ``identity``."""
    return normalised_field_values(normalise(identity))


def normalised_field_values(ident: Identity) -> dict[str, str]:
    """``field_values`` of an identity that ``normalise`` has already normalised."""
    values: dict[str, str] = {}
    for name, text in _FIELD_TEXT.items():
        part = getattr(ident, name)
        if part:
            value = text(part)
            if value:
                values[name] = value
    return values


def _name_text(name: str) -> str:
    return name.replace(" ", "")


def _dob_text(dob: date) -> str:
    return dob.strftime("%Y%m%d")


def _sex_text(sex: str) -> str:
    return sex[0]


def _zip_text(zip_code: str) -> str:
    return zip_code


_FIELD_TEXT: Final[dict[str, Callable[[Any], str]]] = {
    "first_name": _name_text,
    "last_name": _name_text,
    "dob": _dob_text,
    "sex": _sex_text,
    "zip": _zip_text,
}
"""How each normalised identity part becomes the string its bigrams are taken from."""


def bigrams(value: str) -> list[str]:
    """Distinct bigrams of the value padded with one space each side, in order of appearance."""
    padded = f" {value} "
    return list(dict.fromkeys(padded[i : i + 2] for i in range(len(padded) - 1)))


def expected_fill(parameters: dict[str, Any] = BLOOM_PARAMETERS) -> float:
    """Expected fraction of bits set for a record with every field at its typical length."""
    insertions = sum(spec["k"] * spec["typical_bigrams"] for spec in parameters["fields"].values())
    return 1.0 - (1.0 - 1.0 / parameters["length_bits"]) ** insertions


class BloomEncoder:
    """Encodes identities into CLKs under one agency key.

    A field's bits are a pure function of the key, the field and its normalised value, so the
    encoder memoises them per (field, value): a first name, surname or date of birth shared by
    many people is hashed once, and a record's filter is the OR of at most five cached values.
    """

    def __init__(self, key: bytes) -> None:
        self._hmac_key = derive_key(key, PURPOSE_BLOOM)
        self._patterns: dict[tuple[str, str], int] = {}
        self._values: dict[tuple[str, object], int] = {}

    def _pattern(self, field: str, gram: str) -> int:
        cached = self._patterns.get((field, gram))
        if cached is not None:
            return cached
        digest = hmac.digest(self._hmac_key, f"{field}{_SEP}{gram}".encode(), "sha256")
        h1 = int.from_bytes(digest[0:8], "big")
        h2 = int.from_bytes(digest[8:16], "big") | 1  # odd: k distinct bits mod 2**10
        pattern = 0
        for i in range(_FIELDS[field]["k"]):
            bit = ((h1 + i * h2) & _MASK64) % FILTER_BITS
            pattern |= 1 << (FILTER_BITS - 1 - bit)
        self._patterns[(field, gram)] = pattern
        return pattern

    def field_bits(self, field: str, part: object) -> int:
        """The filter bits (as an int, bit 0 last) that one normalised identity part sets.

        ``part`` is the attribute of a normalised ``Identity`` (a ``date`` for ``dob``); 0
        when it yields no string. Memoised per (field, part).
        """
        key = (field, part)
        bits = self._values.get(key)
        if bits is None:
            bits = 0
            value = _FIELD_TEXT[field](part) if part else ""
            for gram in bigrams(value) if value else ():
                bits |= self._pattern(field, gram)
            if len(self._values) >= _VALUES_CACHED:
                self._values.clear()
            self._values[key] = bits
        return bits

    def encode(self, identity: Identity) -> bytes:
        """The 128-byte filter; all zeros when no linkage field is present."""
        return self.encode_normalised(normalise(identity))

    def encode_normalised(self, ident: Identity) -> bytes:
        """``encode`` of an identity that ``normalise`` has already normalised."""
        bits = 0
        for field in _FIELD_TEXT:
            part = getattr(ident, field)
            if part:
                bits |= self.field_bits(field, part)
        return bits.to_bytes(FILTER_BYTES, "big")

    def encode_many(self, identities: Iterable[Identity]) -> pa.BinaryArray:
        """Filters as an Arrow binary column; null where the identity has no linkage field."""
        return self.encode_normalised_many([normalise(ident) for ident in identities])

    def encode_normalised_many(self, identities: Sequence[Identity]) -> pa.BinaryArray:
        """``encode_many`` of identities that ``normalise`` has already normalised.

        Each field's distinct values are looked up once; the filters are the OR of the
        gathered (n, 128) byte rows, field by field, in NumPy.
        """
        n = len(identities)
        filters = np.zeros((n, FILTER_BYTES), dtype=np.uint8)
        for field in _FIELD_TEXT:
            parts = [getattr(ident, field) for ident in identities]
            distinct: dict[object, int] = {}
            codes = np.fromiter(
                (distinct.setdefault(part, len(distinct)) if part else -1 for part in parts),
                dtype=np.int64,
                count=n,
            )
            if not distinct:
                continue
            rows = np.frombuffer(
                b"".join(
                    self.field_bits(field, part).to_bytes(FILTER_BYTES, "big") for part in distinct
                ),
                dtype=np.uint8,
            ).reshape(len(distinct), FILTER_BYTES)
            present = codes >= 0
            filters[present] |= rows[codes[present]]
        return _binary_column(filters)


def _binary_column(filters: npt.NDArray[np.uint8]) -> pa.BinaryArray:
    """An (n, 128) filter matrix as an Arrow binary column, null where a row is all zeros."""
    n = len(filters)
    present = filters.any(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(present * np.int32(FILTER_BYTES), out=offsets[1:])
    validity = np.packbits(present, bitorder="little")
    data = np.ascontiguousarray(filters[present])
    array = pa.Array.from_buffers(
        pa.binary(),
        n,
        [pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=int(n - present.sum()),
    )
    assert isinstance(array, pa.BinaryArray)
    return array


@lru_cache(maxsize=8)
def encoder(key: bytes) -> BloomEncoder:
    """The encoder of one agency key, shared so that its memo serves every call."""
    return BloomEncoder(key)


def encode(key: bytes, identity: Identity) -> bytes:
    """CLK of one identity under the agency ``key`` (128 bytes)."""
    return encoder(key).encode(identity)


def encode_many(key: bytes, identities: Iterable[Identity]) -> pa.BinaryArray:
    """CLKs of many identities as an Arrow binary column (null where nothing to encode)."""
    return encoder(key).encode_many(identities)


def dice(a: bytes, b: bytes) -> float:
    """Dice coefficient 2|A and B| / (|A| + |B|) of two filters; 0.0 when both are empty."""
    if len(a) != len(b):
        raise ValueError(f"dice: filters differ in length ({len(a)} and {len(b)} bytes)")
    x = int.from_bytes(a, "big")
    y = int.from_bytes(b, "big")
    total = x.bit_count() + y.bit_count()
    return 0.0 if total == 0 else 2.0 * (x & y).bit_count() / total


FilterInput: TypeAlias = pa.Array | pa.ChunkedArray | Sequence[bytes | None] | npt.NDArray[np.uint8]


def filter_matrix(filters: FilterInput) -> npt.NDArray[np.uint8]:
    """Filters as an (n, 128) uint8 matrix; a null filter becomes a row of zeros."""
    if isinstance(filters, np.ndarray):
        if filters.ndim != 2 or filters.shape[1] != FILTER_BYTES or filters.dtype != np.uint8:
            raise ValueError(
                f"filter matrix must be uint8 of shape (n, {FILTER_BYTES}); "
                f"got {filters.dtype} {filters.shape}"
            )
        return filters
    values = filters.to_pylist() if isinstance(filters, pa.Array | pa.ChunkedArray) else filters
    out = np.zeros((len(values), FILTER_BYTES), dtype=np.uint8)
    for row, value in enumerate(values):
        if value is None:
            continue
        if len(value) != FILTER_BYTES:
            raise ValueError(
                f"filter {row}: {len(value)} bytes; expected {FILTER_BYTES} "
                f"(a {FILTER_BITS}-bit CLK from wellbeat.privacy.bloom.encode)"
            )
        out[row] = np.frombuffer(value, dtype=np.uint8)
    return out


def popcount(filters: FilterInput) -> npt.NDArray[np.int64]:
    """Number of set bits in each filter."""
    matrix = filter_matrix(filters)
    return np.bitwise_count(matrix).sum(axis=1, dtype=np.int64)


def dice_matrix(a: FilterInput, b: FilterInput) -> npt.NDArray[np.float64]:
    """Dice coefficient of every pair (row of ``a``, row of ``b``) as an (n, m) matrix."""
    ma, mb = filter_matrix(a), filter_matrix(b)
    pa_, pb_ = popcount(ma), popcount(mb)
    common = _common_bits(ma, mb)
    total = pa_[:, None] + pb_[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(total > 0, 2.0 * common / np.maximum(total, 1), 0.0)
    return scores.astype(np.float64)


def popcount_bound(
    count_a: npt.ArrayLike, count_b: npt.ArrayLike, threshold: float
) -> npt.NDArray[np.bool_]:
    """True where a pair with these popcounts can still reach Dice >= ``threshold``.

    Dice <= 2 min(pA, pB) / (pA + pB), so a pair can be pruned when
    |pA - pB| > 2 min(pA, pB) (1/t - 1) (docs/privacy.md; anonlink prunes the same way).
    """
    _check_threshold(threshold)
    ca = np.asarray(count_a, dtype=np.float64)
    cb = np.asarray(count_b, dtype=np.float64)
    slack = 2.0 * np.minimum(ca, cb) * (1.0 / threshold - 1.0)
    return np.asarray(np.abs(ca - cb) <= slack + 1e-9, dtype=np.bool_)


def candidate_pairs(
    a: FilterInput, b: FilterInput, threshold: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Pairs (i, j) with Dice(a[i], b[j]) >= ``threshold`` and their scores, best first.

    Both sides are sorted by popcount; each block of ``a`` is compared only with the window of
    ``b`` whose popcounts the bound (``popcount_bound``) allows for the block's extremes.
    """
    _check_threshold(threshold)
    ma, mb = filter_matrix(a), filter_matrix(b)
    pa_, pb_ = popcount(ma), popcount(mb)
    order_b = np.argsort(pb_, kind="stable")
    order_b = order_b[pb_[order_b] > 0]
    sorted_pb = pb_[order_b]
    bits_b = np.unpackbits(mb[order_b], axis=1).astype(np.float32)
    order_a = np.argsort(pa_, kind="stable")
    order_a = order_a[pa_[order_a] > 0]
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    scores: list[npt.NDArray[np.float64]] = []
    for block in _chunks(order_a, _BLOCK_ROWS):
        # Rows of ``a`` in popcount order, so one window of ``b`` serves the whole block.
        low_count, high_count = int(pa_[block[0]]), int(pa_[block[-1]])
        lo = math.floor(low_count * threshold / (2.0 - threshold) - 1e-9)
        hi = math.ceil(high_count * (2.0 - threshold) / threshold + 1e-9)
        start = int(np.searchsorted(sorted_pb, lo, side="left"))
        stop = int(np.searchsorted(sorted_pb, hi, side="right"))
        if start == stop:
            continue
        bits_a = np.unpackbits(ma[block], axis=1).astype(np.float32)
        common = bits_a @ bits_b[start:stop].T
        total = pa_[block][:, None] + sorted_pb[start:stop][None, :]
        score = 2.0 * common / total
        hit_r, hit_c = np.nonzero(score >= threshold)
        rows.append(block[hit_r].astype(np.int64))
        cols.append(order_b[start:stop][hit_c].astype(np.int64))
        scores.append(score[hit_r, hit_c].astype(np.float64))
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    i, j, s = np.concatenate(rows), np.concatenate(cols), np.concatenate(scores)
    order = np.lexsort((j, i, -s))
    return i[order], j[order], s[order]


def _common_bits(ma: npt.NDArray[np.uint8], mb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """|A and B| for every pair, by a float32 matrix product of the unpacked bits (exact)."""
    bits_a = np.unpackbits(ma, axis=1).astype(np.float32)
    bits_b = np.unpackbits(mb, axis=1).astype(np.float32)
    return (bits_a @ bits_b.T).astype(np.float64)


def _chunks(indices: npt.NDArray[np.int64], size: int) -> Iterable[npt.NDArray[np.int64]]:
    for start in range(0, len(indices), size):
        yield indices[start : start + size]


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"Dice threshold must be in (0, 1]; got {threshold}")
