"""Fixtures for governance tests: users of the public-health agency (see gov_world.py)."""

from __future__ import annotations

import pytest

from wellbeat.governance import UserContext


@pytest.fixture
def analyst() -> UserContext:
    return UserContext("ph.analyst", "PH", frozenset({"analyst"}), person_level=False)


@pytest.fixture
def coordinator() -> UserContext:
    return UserContext("ph.care", "PH", frozenset({"care_coordinator"}), person_level=True)
