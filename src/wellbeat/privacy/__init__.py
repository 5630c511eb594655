"""Pseudonyms, linkage encodings, de-identification, small-cell suppression."""
