"""Data-sharing agreements, consent and the governed query service (Django app)."""
