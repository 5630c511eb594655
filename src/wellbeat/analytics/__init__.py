"""Pure analytics over arrays and frames: indicators, aberration detection, spatial statistics."""
