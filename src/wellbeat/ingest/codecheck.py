"""What ``wellbeat prepare`` could not map: codes the profile leaves unmapped or the code set lacks.

A value a profile does not map passes through unchanged (docs/prepare.md), and a code the code
sets do not know gives no syndrome (docs/codesets.md). Neither is an error at ingest, so
without a report an agency's new call type, or a typo in its map, would silently drop out of
every indicator. ``CodeReport`` tallies, per ``codes:`` entry of the profile, the codes with no
entry in that entry's ``map`` and the codes (after the map) that are not in the namespace's
code set, with counts and the most frequent examples. Prepare prints it, writes it to the
batch's ``report.json`` and, with ``--fail-on-unmapped``, refuses to write the batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.codesets import (
    apco_call_types,
    nemsis_dispatch_reasons,
    nibrs_offenses,
    sdoh_categories,
)
from wellbeat.ingest.profile import CodeMapping

EXAMPLES = 5
"""Most frequent problem values listed per column and kind of problem."""

_ICD10_SHAPE = r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}"
"""An ICD-10(-CM) code in its dot-free upper-case form: letter, digit, then 1-5 characters."""

CODE_SET_CHECKS = {
    "nibrs": "the NIBRS offense codes (nibrs_offenses.csv)",
    "apco": "the APCO call types (apco_call_types.csv)",
    "nemsis": "the NEMSIS eDispatch.01 reasons (nemsis.yaml)",
    "sdoh": "the Gravity SDOH categories (sdoh_categories.csv)",
    "icd10cm": "the shape of an ICD-10-CM code (letter, digit, 1-5 characters; dot optional)",
    "icd10": "the shape of an ICD-10 code (letter, digit, 1-5 characters; dot optional)",
    "rxnorm": "the shape of an RxNorm concept id (digits)",
}
"""What "in the code set" means per namespace. ``local`` and ``istv`` have no set to check."""


@cache
def _known(namespace: str) -> pa.Array | None:
    """The namespace's codes in their comparison form, or None when it is checked by shape."""
    if namespace == "nibrs":
        codes: Iterable[str] = nibrs_offenses()
    elif namespace == "apco":
        codes = apco_call_types()
    elif namespace == "nemsis":
        codes = nemsis_dispatch_reasons()
    elif namespace == "sdoh":
        codes = sdoh_categories()
    else:
        return None
    return pa.array(sorted(_comparable(namespace, code) for code in codes), pa.string())


def _comparable(namespace: str, code: str) -> str:
    """A code as the classifier compares it (``events.syndromes``): SDOH lower, others upper."""
    return code.strip().lower() if namespace == "sdoh" else code.strip().upper()


def not_in_code_set(namespace: str, codes: pa.Array) -> pa.Array | None:
    """Per code (no namespace prefix, non-null), whether the namespace's set lacks it; None
    when the namespace has no set (``local``, ``istv``)."""
    if namespace not in CODE_SET_CHECKS:
        return None
    codes = pc.utf8_trim_whitespace(codes)
    known = _known(namespace)
    if known is not None:
        folded = pc.utf8_lower(codes) if namespace == "sdoh" else pc.utf8_upper(codes)
        return pc.invert(pc.is_in(folded, value_set=known))
    if namespace == "rxnorm":
        return pc.invert(pc.match_substring_regex(codes, r"^[0-9]+$"))
    dot_free = pc.replace_substring(pc.utf8_upper(codes), ".", "")
    return pc.invert(pc.match_substring_regex(dot_free, f"^{_ICD10_SHAPE}$"))


@dataclass
class _Entry:
    column: str
    namespace: str
    mapped: bool
    """Whether the profile's entry has a ``map`` (only then can a code be "unmapped")."""
    codes: int = 0
    unmapped: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "namespace": self.namespace,
            "codes": self.codes,
            "unmapped": _tally(self.unmapped) if self.mapped else None,
            "not_in_code_set": _tally(self.unknown) if self.namespace in CODE_SET_CHECKS else None,
        }


def _tally(values: Counter[str]) -> dict[str, Any]:
    top = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:EXAMPLES]
    return {
        "count": sum(values.values()),
        "distinct": len(values),
        "examples": [{"value": value, "count": count} for value, count in top],
    }


def _count(counter: Counter[str], values: pa.Array) -> None:
    if len(values):
        for item in pc.value_counts(values).to_pylist():
            counter[str(item["values"])] += int(item["counts"])


class CodeReport:
    """Tallies of unmapped and unknown codes per ``codes:`` entry, fed slice by slice."""

    def __init__(self, entries: Iterable[CodeMapping]) -> None:
        self._entries = [_Entry(e.column, e.namespace, bool(e.map)) for e in entries]

    def add(self, index: int, mapping: CodeMapping, raw: pa.Array, coded: pa.Array) -> None:
        """One slice of entry ``index``: ``raw`` are the trimmed source codes (null = blank),
        ``coded`` the same codes after the entry's map, without the namespace prefix."""
        entry = self._entries[index]
        present = pc.is_valid(raw)
        raw, coded = raw.filter(present), coded.filter(present)
        entry.codes += len(raw)
        if mapping.map:
            keys = pa.array(list(mapping.map), pa.string())
            _count(entry.unmapped, raw.filter(pc.is_null(pc.index_in(raw, value_set=keys))))
        unknown = not_in_code_set(mapping.namespace, coded)
        if unknown is not None:
            _count(entry.unknown, coded.filter(unknown))

    def to_json(self) -> list[dict[str, Any]]:
        """One object per ``codes:`` entry: column, namespace, codes seen, and for ``unmapped``
        and ``not_in_code_set`` (null when not applicable) count, distinct and examples."""
        return [entry.to_json() for entry in self._entries]

    @property
    def clean(self) -> bool:
        """True when no code is unmapped and every checked code is in its set."""
        return not any(entry.unmapped or entry.unknown for entry in self._entries)

    def lines(self) -> list[str]:
        """One plain sentence per column and kind of problem (nothing when clean)."""
        out = []
        for entry in self._entries:
            where = f"column {entry.column!r} ({entry.namespace})"
            for counter, what in (
                (entry.unmapped, "not in the profile's map, passed through unchanged"),
                (entry.unknown, f"not in {CODE_SET_CHECKS.get(entry.namespace, '')}"),
            ):
                if counter:
                    tally = _tally(counter)
                    examples = ", ".join(
                        f"{e['value']!r} ({e['count']})" for e in tally["examples"]
                    )
                    out.append(
                        f"{where}: {tally['count']} of {entry.codes} codes {what}; "
                        f"{tally['distinct']} distinct, e.g. {examples}"
                    )
        return out
