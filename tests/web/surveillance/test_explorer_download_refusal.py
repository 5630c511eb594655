"""An explorer download with nothing the viewer may see is refused with a reason, never
answered 200 with an empty file."""

from __future__ import annotations

import logging
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

AREAS_CSV = "/surveillance/explorer/?indicator=suspected_overdose&layer=neighbourhood&table=areas"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_area_table_the_viewer_may_not_see_is_refused_with_a_reason(
    client: Any,
    detected: Any,
    world: Any,
    login_as: Any,
    fmt: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # XPD is in no agreement and has no overdose events of its own.
    login_as(client, world.users["xpd_analyst"])
    with caplog.at_level(logging.WARNING):
        refused = client.get(f"{AREAS_CSV}&format={fmt}")
    assert refused.status_code == 403
    assert "Content-Disposition" not in refused
    page = refused.content.decode()
    assert "Nothing to download" in page and "XPD" in page
    assert "data-sharing agreement" in page
    assert not [r for r in caplog.records if r.exc_info]  # an expected refusal, no traceback

    # The agreement's recipient gets the table.
    login_as(client, world.users["phd_analyst"])
    shared = client.get(f"{AREAS_CSV}&format={fmt}")
    assert shared.status_code == 200 and len(shared.content) > 0
