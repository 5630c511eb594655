"""The synthetic city: agencies raw extracts, mapping profiles, area layers and ground truth."""
