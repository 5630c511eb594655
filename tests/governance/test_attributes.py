"""Event attributes (precinct, problem, race, outcome ...) as governed fields: an agency reads
its own in full; another agency's only when the agreement's ``fields`` name
``attribute:<name>``, and then from a protected base table keyed by the attribute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_lake import FakeEngine, event
from gov_world import HUB_KEY, LAYERS, NOW, agreement

from wellbeat.governance import (
    AgreementError,
    AttributeCondition,
    DataRequest,
    Plan,
    Refusal,
    UserContext,
    plan,
)
from wellbeat.governance.execute import run_plan
from wellbeat.governance.release import Release

PH = UserContext("ph.analyst", "PH", frozenset({"analyst"}))
MPD = UserContext("mpd.analyst", "MPD", frozenset({"analyst"}))
PURPOSE = "public_health_surveillance"
START = datetime(2025, 5, 5, 10, tzinfo=UTC)
BLACK = AttributeCondition("race", equals=("black",))


def stops(agency: str = "MPD") -> list[dict[str, Any]]:
    """12 stops of black drivers in precinct 1, 3 of white drivers in precinct 1, 11 in
    precinct 2 without a race, on one day and in one neighbourhood."""
    out = [
        event(
            agency,
            "n0",
            START,
            (),
            kind="stop",
            sector="police",
            attributes={"race": "black", "precinct": "1"},
        )
    ] * 12
    out += [
        event(
            agency,
            "n0",
            START,
            (),
            kind="stop",
            sector="police",
            attributes={"race": "white", "precinct": "1"},
        )
    ] * 3
    out += [
        event(
            agency,
            "n0",
            START + timedelta(hours=1),
            (),
            kind="stop",
            sector="police",
            attributes={"precinct": "2"},
        )
    ] * 11
    return out  # fmt: skip


def police_deal(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "provider": "MPD",
        "syndromes": None,
        "sectors": frozenset({"police"}),
        **overrides,
    }
    return agreement(**values)


def ask(
    user: UserContext, request: DataRequest, deals: list[Any], events: list[dict[str, Any]]
) -> Release | Refusal:
    decided = plan(user, PURPOSE, request, deals, [], LAYERS, NOW)
    if isinstance(decided, Refusal):
        return decided
    return run_plan(decided, FakeEngine(events), HUB_KEY)


def rows(release: Release | Refusal) -> list[dict[str, Any]]:
    assert isinstance(release, Release), release
    return [{k: v for k, v in r.items() if k != "suppressed"} for r in release.table.to_pylist()]


def test_an_agency_reads_its_own_attributes_in_full_with_missing_ones_kept() -> None:
    got = rows(ask(MPD, DataRequest(by=("attribute:race",)), [], stops()))
    assert got == [
        {"attribute:race": "black", "count": 12},
        {"attribute:race": "white", "count": 3},
        {"attribute:race": None, "count": 11},
    ]
    filtered = ask(
        MPD,
        DataRequest(by=("attribute:precinct",), attributes=(BLACK,)),
        [],
        stops(),
    )
    assert rows(filtered) == [{"attribute:precinct": "1", "count": 12}]


def test_another_agencys_attribute_needs_the_field_and_the_refusal_names_it() -> None:
    deal = police_deal(fields=frozenset({"attribute:precinct"}))
    by_race = ask(PH, DataRequest(agencies=("MPD",), by=("attribute:race",)), [deal], stops())
    assert isinstance(by_race, Refusal)
    assert "attribute:race" in by_race.message and "fields" in by_race.message
    filtered = ask(PH, DataRequest(agencies=("MPD",), attributes=(BLACK,)), [deal], stops())
    assert isinstance(filtered, Refusal) and "attribute:race" in filtered.message
    # Not asked by name: MPD is left out with a note naming the missing field.
    implicit = ask(PH, DataRequest(by=("attribute:race",)), [deal], stops())
    assert isinstance(implicit, Release) and implicit.plan.providers == ("PH",)
    assert any("attribute:race" in n for n in implicit.notes)
    by_precinct = ask(
        PH, DataRequest(agencies=("MPD",), by=("attribute:precinct",)), [deal], stops()
    )
    assert rows(by_precinct) == [
        {"attribute:precinct": "1", "count": 15},
        {"attribute:precinct": "2", "count": 11},
    ]


def test_attribute_cells_are_suppressed_and_totals_holding_them_too() -> None:
    deal = police_deal(fields=frozenset({"attribute:race", "attribute:precinct"}))
    by_race = ask(PH, DataRequest(agencies=("MPD",), by=("attribute:race",)), [deal], stops())
    assert rows(by_race) == [
        {"attribute:race": "black", "count": 12},
        {"attribute:race": "white", "count": None},  # 3 < k = 10
        {"attribute:race": None, "count": 11},
    ]
    # Precinct 1 holds the hidden white cell: its total would give it away (15 - 12).
    by_precinct = ask(
        PH, DataRequest(agencies=("MPD",), by=("attribute:precinct",)), [deal], stops()
    )
    assert rows(by_precinct) == [
        {"attribute:precinct": "1", "count": None},
        {"attribute:precinct": "2", "count": 11},
    ]
    black = ask(PH, DataRequest(agencies=("MPD",), attributes=(BLACK,)), [deal], stops())
    assert rows(black) == [{"count": 12}]
    release = ask(PH, DataRequest(agencies=("MPD",)), [deal], stops())
    assert rows(release) == [{"count": None}]
    assert isinstance(black, Release)
    assert black.audit_details()["attributes"] == ["race = black"]


def test_greater_than_keeps_numeric_values_only() -> None:
    events = [
        event("MPD", "n0", START, (), attributes={"doses": d})
        for d in ("0", "1", "2", " 3 ", "x", "2.5")
    ]
    events.append(event("MPD", "n0", START, ()))
    got = ask(
        MPD,
        DataRequest(attributes=(AttributeCondition("doses", greater_than=1),)),
        [],
        events,
    )
    assert rows(got) == [{"count": 3}]


def test_malformed_attributes_are_named() -> None:
    bad = DataRequest(
        by=("attribute:Race", "attribute:"),
        attributes=(AttributeCondition("race"), AttributeCondition("9x", equals=("a",))),
    )
    decided = plan(MPD, PURPOSE, bad, [], [], LAYERS, NOW)
    assert isinstance(decided, Refusal)
    text = decided.message
    assert "field 'by': attribute:Race, attribute:" in text
    assert "give exactly one of equals or greater_than" in text
    assert "'9x' is not a valid name" in text
    with pytest.raises(AgreementError, match="attribute:Race is not attribute:<name>"):
        police_deal(fields=frozenset({"attribute:Race"}))
    assert isinstance(
        plan(MPD, PURPOSE, DataRequest(by=("attribute:race",)), [], [], LAYERS, NOW), Plan
    )
