"""Area layers (GeoJSON with population), point-in-area assignment, H3 cells, contiguity."""
