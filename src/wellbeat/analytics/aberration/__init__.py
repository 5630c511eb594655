"""Aberration detection over many count series at once, matching its references exactly.

EARS C1/C2/C3, CUSUM, Farrington and Farrington flexible follow R `surveillance` (defaults,
alarms and bounds); the NSSP EWMA and adaptive regression detectors follow CDC's pynssp.
Every detector takes a (series x time) array and returns a :class:`DetectionResult`.
"""

from wellbeat.analytics.aberration.cusum import cusum
from wellbeat.analytics.aberration.ears import ears
from wellbeat.analytics.aberration.farrington import farrington
from wellbeat.analytics.aberration.farrington_flexible import farrington_flexible
from wellbeat.analytics.aberration.result import (
    AberrationInputError,
    DetectionResult,
    parse_range,
)

__all__ = [
    "AberrationInputError",
    "DetectionResult",
    "cusum",
    "ears",
    "farrington",
    "farrington_flexible",
    "parse_range",
]
