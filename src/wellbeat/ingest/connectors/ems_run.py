"""EMS runs (NEMSIS-like): the NEMSIS v3 opioid overdose case definition, applied at the source.

Inputs on each mapped row: ICD-10-CM impressions (eSituation.09-.12) as ``icd10cm:`` codes,
medications given (eMedications.03) as ``rxnorm:`` codes, and the response to them
(eMedications.07, e.g. ``9916001`` Improved) as attribute ``naloxone_response`` (or
``medication_response``). Extracts that record naloxone only as a dose count
(attribute ``naloxone_doses`` > 0) count as naloxone given (RxNorm 7242).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wellbeat.events.schema import Kind, Sector, Sensitivity, Syndrome
from wellbeat.events.syndromes import nemsis_opioid_overdose
from wellbeat.ingest.connectors.base import (
    Connector,
    SourceRows,
    add_to_lists,
    attribute,
    codes_in,
    lists_from_pairs,
    lists_where,
    with_attributes,
    with_classified_syndromes,
    with_sensitivity,
)

NALOXONE_RXNORM = "7242"
"""RxNorm ingredient code for naloxone, assumed when only a dose count is recorded."""
RESPONSE_ATTRIBUTES = ("naloxone_response", "medication_response")
_PART = "\x1f"
_FIELD = "\x1e"


def _joined(events: pa.Table, namespace: str) -> pa.Array:
    rows, codes = codes_in(events, namespace)
    return pc.binary_join(lists_from_pairs(events.num_rows, rows, codes), _PART)


def _doses_given(events: pa.Table) -> np.ndarray:
    doses = attribute(events, "naloxone_doses")
    number = pc.fill_null(pc.match_substring_regex(doses, r"^\s*\d+(\.\d+)?\s*$"), False)
    values = pc.if_else(number, doses, "0").cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(values > 0)


def opioid_case(events: pa.Table) -> np.ndarray:
    """Per row: does the run meet the NEMSIS opioid overdose case definition?"""
    response = attribute(events, RESPONSE_ATTRIBUTES[0])
    for name in RESPONSE_ATTRIBUTES[1:]:
        response = pc.coalesce(response, attribute(events, name))
    medications = _joined(events, "rxnorm")
    implied = pa.array(_doses_given(events)) if events.num_rows else pa.array([], pa.bool_())
    medications = pc.if_else(
        pc.and_(pc.equal(medications, ""), implied), NALOXONE_RXNORM, medications
    )
    key = pc.binary_join_element_wise(
        _joined(events, "icd10cm"), medications, pc.fill_null(response, ""), _FIELD
    )
    encoded = pc.dictionary_encode(key)
    verdicts = []
    for value in encoded.dictionary.to_pylist():
        impressions, meds, answer = value.split(_FIELD)
        given = [m for m in meds.split(_PART) if m]
        verdicts.append(
            nemsis_opioid_overdose(
                [i for i in impressions.split(_PART) if i], given, [answer] * len(given)
            )
        )
    table = np.array(verdicts, dtype=bool)
    return table[encoded.indices.to_numpy(zero_copy_only=False)] if len(table) else table


def derive(rows: SourceRows) -> pa.Table:
    """``phi``; syndromes from codes; ``opioid_overdose`` (and ``overdose``) for NEMSIS cases."""
    events = with_classified_syndromes(rows)
    case = opioid_case(events)
    events = add_to_lists(
        events,
        "syndromes",
        lists_where(case, Syndrome.OPIOID_OVERDOSE.value),
        lists_where(case, Syndrome.OVERDOSE.value),
    )
    flag = pa.array(np.where(case, "true", "false").astype(object), pa.string())
    events = with_attributes(events, {"nemsis_opioid_case": flag})
    return with_sensitivity(events, Sensitivity.PHI.value)


CONNECTOR = Connector(
    name="ems_run",
    description="EMS runs with NEMSIS-like impressions, medications and responses",
    derive=derive,
    sector=Sector.FIRE_EMS.value,
    kind=Kind.EMS_RESPONSE.value,
)
