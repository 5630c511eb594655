"""wellbeat: community policing and public-health collaboration on shared, governed data."""

__version__ = "0.1.0"
