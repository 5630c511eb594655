"""The synthetic city: agencies' raw extracts, mapping profiles, area layers and ground truth.

``build_city(out, seed, scale)`` writes a fictional city (Millbrook) whose police, EMS,
emergency departments, health department, medical examiner and behavioural-health provider
each export records in their own formats, together with the truth an analyst should recover:
who every record is about, and the overdose spikes, violence hotspot, co-responder programme
and frequent utilizers planted in the data. See docs/synthetic-city.md.
"""

from wellbeat.synth.city import AgencyInfo, City, SourceInfo, build_city
from wellbeat.synth.scales import SCALES, Scale

__all__ = ["SCALES", "AgencyInfo", "City", "Scale", "SourceInfo", "build_city"]
