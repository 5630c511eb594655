"""The demo agreements: realistic, approved through the actions, idempotent."""

from __future__ import annotations

import pytest

from wellbeat.web.governance.demo import seed_agreements
from wellbeat.web.governance.models import Agreement


@pytest.mark.django_db
def test_seed_agreements_is_idempotent_and_leaves_one_draft(world) -> None:
    first = seed_agreements()
    second = seed_agreements()
    assert [a.code for a in first] == [a.code for a in second]
    assert Agreement.objects.count() == 4
    by_pair = {(a.provider.code, a.recipient.code): a for a in Agreement.objects.all()}
    ems = by_pair[("MFD", "PHD")]
    assert (ems.status, ems.finest_layer, ems.finest_period, ems.min_cell) == (
        "active",
        "neighbourhood",
        "day",
        1,  # surveillance partners see every count (docs/surveillance.md)
    )
    cardiff = by_pair[("GEN", "MPD")]
    assert (cardiff.status, cardiff.finest_layer, cardiff.finest_period) == (
        "active",
        "beat",
        "week",
    )
    crisis = by_pair[("MPD", "PHD")]
    assert (crisis.status, crisis.finest_layer, crisis.min_cell) == ("active", "neighbourhood", 3)
    assert by_pair[("OME", "PHD")].status == "draft"
    assert ems.events.filter(action="activated").count() == 1
