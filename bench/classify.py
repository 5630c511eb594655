"""Benchmark: classify_many on 1,000,000 realistic ED/EMS/CAD rows.

Run: ``python bench/classify.py [rows]``. Not part of the test suite (timings
on a shared machine are not pass/fail); it prints rows/s and the ratio to a plain per-row
``classify`` loop over the first 20,000 rows, measured in the same run.
"""

from __future__ import annotations

import random
import sys
import time

from wellbeat.events.syndromes import classify, classify_many

DIAGNOSES = [
    "icd10cm:T40.1X1A",
    "icd10cm:T40.411A",
    "icd10cm:T40.2X5A",
    "icd10cm:T40.2X6A",
    "icd10cm:T42.4X1A",
    "icd10cm:T43.621A",
    "icd10cm:T40.5X1A",
    "icd10cm:T42.72XA",
    "icd10cm:F11.120",
    "icd10cm:F11.20",
    "icd10cm:F10.129",
    "icd10cm:R45.851",
    "icd10cm:X99.1XXA",
    "icd10cm:W34.00XA",
    "icd10cm:F32.9",
    "icd10cm:Z59.02",
    "icd10cm:J06.9",
    "icd10cm:R10.9",
    "icd10cm:S01.81XA",
    "icd10cm:I10",
    "icd10cm:R07.9",
    "icd10cm:T40.1X1D",
    "icd10cm:F41.1",
    "icd10cm:Y04.0XXA",
    "icd10cm:T74.11XA",
]
OTHER = [
    "apco:EDP",
    "apco:OD",
    "apco:WELFARE",
    "apco:THEFT",
    "nibrs:13B",
    "nibrs:23C",
    "nemsis:2301053",
    "nemsis:2301059",
    "nemsis:2301033",
]
COMPLAINTS = [
    None,
    "chest pain",
    "abd pain",
    "heroin overdose",
    "found unresponsive narcan given",
    "denies overdose",
    "SI",
    "ETOH intox",
    "assaulted by boyfriend",
    "GSW to leg",
    "fall",
    "herion OD",
    "took too many xanax",
    "anxiety",
    "homeless, cold",
    "fever cough",
]


def rows(n: int, seed: int = 1) -> tuple[list[list[str]], list[str | None]]:
    rng = random.Random(seed)
    pool_codes = [
        sorted(rng.sample(DIAGNOSES, rng.randint(0, 3)) + rng.sample(OTHER, rng.randint(0, 1)))
        for _ in range(1500)
    ]
    pool = [(c, rng.choice(COMPLAINTS)) for c in pool_codes]
    picks = [pool[rng.randrange(len(pool))] for _ in range(n)]
    return [list(c) for c, _ in picks], [cc for _, cc in picks]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    codes, complaints = rows(n)
    distinct = len({(tuple(c), cc) for c, cc in zip(codes, complaints, strict=True)})
    start = time.perf_counter()
    result = classify_many(codes, complaints)
    many = time.perf_counter() - start
    k = min(n, 20_000)
    start = time.perf_counter()
    for c, cc in zip(codes[:k], complaints[:k], strict=True):
        classify(c, cc)
    loop = (time.perf_counter() - start) * n / k
    flagged = sum(1 for r in result if r)
    print(f"rows={n} distinct={distinct} flagged={flagged}")
    print(f"classify_many: {many:.2f} s ({n / many:,.0f} rows/s)")
    print(f"per-row classify (extrapolated from {k}): {loop:.2f} s; ratio {loop / many:.1f}x")


if __name__ == "__main__":
    main()
