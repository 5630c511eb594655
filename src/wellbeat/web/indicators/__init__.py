"""Analysts' own indicators (built in the web app or imported from catalogue YAML) and the
equity page for police agencies; every number read through the governed service."""
