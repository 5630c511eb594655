"""Invariants of the classifier, checked on generated codes and complaints (Hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeat.events.negex import within_one_edit as _within_one_edit
from wellbeat.events.schema import SYNDROMES
from wellbeat.events.syndromes import IMPLIED, classify, classify_many

OVERDOSE_SYNDROMES = {
    "overdose",
    "opioid_overdose",
    "heroin_overdose",
    "fentanyl_overdose",
    "stimulant_overdose",
    "benzodiazepine_overdose",
}

CODE_POOL = [
    "icd10cm:T40.1X1A",
    "icd10cm:T40.2X5A",
    "icd10cm:T42.72XA",
    "icd10cm:F11.120",
    "icd10cm:X42",
    "icd10cm:T40.4",
    "icd10cm:X93.XXXA",
    "icd10cm:R45.851",
    "icd10cm:Z59.01",
    "icd10cm:T74.11XA",
    "icd10cm:J06.9",
    "nibrs:13B",
    "nibrs:23C",
    "apco:EDP",
    "apco:DV",
    "nemsis:2301053",
    "sdoh:homelessness",
    "rxnorm:7242",
]
COMPLAINT_POOL = [
    None,
    "heroin overdose",
    "denies overdose",
    "SI",
    "ETOH intox",
    "GSW",
    "narcan given",
    "chest pain",
    "homeless",
    "xanax OD, intentional",
]

code_lists = st.lists(st.sampled_from(CODE_POOL), max_size=5)
complaints = st.sampled_from(COMPLAINT_POOL)

FIFTH_CHARACTER_INTENT = {"T369", "T379", "T399", "T414", "T427", "T439", "T459", "T479", "T499"}


@st.composite
def poisoning_codes(draw: st.DrawFn) -> tuple[str, str, str]:
    """A T36-T50 code (dotted) with its intent and 7th character; some are not real codes."""
    head = f"T{draw(st.integers(36, 50))}{draw(st.sampled_from('0123456789'))}"
    intent = draw(st.sampled_from("123456"))
    seventh = draw(st.sampled_from(["", "A", "D", "S"]))
    if head in FIFTH_CHARACTER_INTENT:
        tail = f"{intent}X"
    else:
        tail = f"{draw(st.sampled_from('X0123456789'))}{intent}"
    return f"{head[:3]}.{head[3]}{tail}{seventh}", intent, seventh


@given(code_lists, complaints)
def test_output_is_sorted_unique_known_and_closed(codes: list[str], text: str | None) -> None:
    result = classify(codes, text)
    assert result == sorted(set(result))
    assert set(result) <= set(SYNDROMES)
    for syndrome in result:
        assert IMPLIED.get(syndrome, frozenset()) <= set(result)


@given(code_lists, complaints, st.randoms())
def test_order_and_repetition_of_codes_do_not_matter(
    codes: list[str], text: str | None, rng: object
) -> None:
    shuffled = list(codes) + list(codes)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert classify(shuffled, text) == classify(codes, text)


@given(code_lists, complaints)
def test_codes_and_complaint_combine_as_a_union(codes: list[str], text: str | None) -> None:
    assert set(classify(codes, text)) == set(classify(codes)) | set(classify([], text))


@given(poisoning_codes())
def test_dot_and_case_do_not_matter(drawn: tuple[str, str, str]) -> None:
    code = drawn[0]
    assert classify([f"icd10cm:{code}"]) == classify([f"icd10cm:{code.replace('.', '')}"])
    assert classify([f"icd10cm:{code}"]) == classify([f"ICD10CM:{code.lower()}"])


@given(poisoning_codes())
def test_later_encounters_never_count(drawn: tuple[str, str, str]) -> None:
    code, _, seventh = drawn
    if seventh in ("D", "S"):
        assert classify([f"icd10cm:{code}"]) == []


@given(poisoning_codes())
def test_adverse_effects_and_underdosing_are_never_overdoses(drawn: tuple[str, str, str]) -> None:
    code, intent, _ = drawn
    if intent in "56":
        assert not set(classify([f"icd10cm:{code}"])) & OVERDOSE_SYNDROMES


@given(poisoning_codes())
def test_initial_self_harm_poisoning_is_self_harm_and_overdose(
    drawn: tuple[str, str, str],
) -> None:
    code, intent, seventh = drawn
    if intent == "2" and seventh in ("", "A"):
        assert {"overdose", "self_harm"} <= set(classify([f"icd10cm:{code}"]))


@settings(max_examples=50)
@given(st.lists(st.tuples(code_lists, complaints), max_size=40))
def test_classify_many_equals_classify_row_by_row(
    rows: list[tuple[list[str], str | None]],
) -> None:
    codes = [c for c, _ in rows]
    texts = [t for _, t in rows]
    assert classify_many(codes, texts) == [classify(c, t) for c, t in rows]


@given(
    st.sampled_from(["heroin overdose", "OD on fentanyl", "xanax overdose", "cocaine ingestion"]),
    st.sampled_from(["denies", "no", "not", "neg for", "negative for", "denied"]),
)
def test_negated_overdose_complaints_are_not_overdoses(phrase: str, cue: str) -> None:
    assert classify([], phrase)
    assert not set(classify([], f"{cue} {phrase}")) & OVERDOSE_SYNDROMES


def _osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook dynamic programme."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@given(st.text("abcde", max_size=8), st.text("abcde", max_size=8))
def test_one_edit_check_agrees_with_the_distance(a: str, b: str) -> None:
    assert _within_one_edit(a, b) == (_osa_distance(a, b) <= 1)
