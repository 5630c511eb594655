"""Tests for wellbeat.events: code sets and the syndrome classifier."""
