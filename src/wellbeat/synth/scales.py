"""How big a synthetic city is: one named scale sets every count that grows with it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Multipliers for one city size.

    ``rate_factor`` multiplies every scenario's daily rate (the ``small`` city is 1.0);
    ``chunks`` is how many time slices the events are generated and written in, so that memory
    stays bounded at the large scales.
    """

    name: str
    rate_factor: float
    frequent_utilizers: int
    spikes: int
    chunks: int
    approx_records: str


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 0.06, 6, 3, 1, "2-5 thousand"),
    "small": Scale("small", 1.0, 20, 4, 1, "40-80 thousand"),
    "medium": Scale("medium", 16.0, 60, 6, 4, "about 1 million"),
    "large": Scale("large", 160.0, 200, 10, 24, "about 10 million"),
}
"""The sizes ``wellbeat synth --scale`` accepts, smallest first."""


def get_scale(name: str) -> Scale:
    """The scale called ``name``; a ValueError lists the valid names otherwise."""
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}: expected one of {', '.join(SCALES)}") from None
