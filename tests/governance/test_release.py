"""Releasing results: suppression, own data in full, mixed providers, Part 2, re-keying."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fake_lake import FakeEngine, event
from gov_world import HUB_KEY, LAYERS, NOW, agreement

from wellbeat.governance import Consent, DataRequest, Plan, UserContext, plan
from wellbeat.governance.execute import run_plan

DAY = datetime(2025, 6, 2, 10, tzinfo=UTC)
PH = UserContext("ph.analyst", "PH", frozenset({"analyst"}), person_level=True)


def run(events, request, agreements, consents=(), user=PH):
    decided = plan(user, "public_health_surveillance", request, agreements, consents, LAYERS, NOW)
    assert isinstance(decided, Plan), decided
    return run_plan(decided, FakeEngine(events), HUB_KEY)


def cells(release, *dims):
    """Released counts keyed by the dimension values (a bare value for one dimension)."""
    rows = release.table.to_pylist()
    if len(dims) == 1:
        return {r[dims[0]]: r["count"] for r in rows}
    return {tuple(r[d] for d in dims): r["count"] for r in rows}


def test_small_cells_are_hidden_and_so_is_every_total_holding_one() -> None:
    events = [event("EMS", "n0", DAY)] * 3 + [event("EMS", "n1", DAY)] * 12
    events += [event("EMS", "n4", DAY)] * 15
    deal = [agreement()]
    release = run(events, DataRequest(agencies=("EMS",), area_layer="neighbourhood"), deal)
    got = cells(release, "area")
    # n0 = 3 is small; the others are released, since no total holding n0 is ever released.
    assert got == {"n0": None, "n1": 12, "n4": 15}
    assert release.suppressed_cells == 1
    for layer, hidden in (("beat", "b0"), ("district", "d0")):
        coarser = cells(run(events, DataRequest(agencies=("EMS",), area_layer=layer), deal), "area")
        assert coarser[hidden] is None  # n0 lies in it
        assert sum(v is not None for v in coarser.values()) == len(coarser) - 1
    total = run(events, DataRequest(agencies=("EMS",)), deal)
    assert total.table.to_pylist() == [{"count": None, "suppressed": True}]
    base = {tuple(r.values()) for r in release.bases[0].cells.select(["area", "count"]).to_pylist()}
    assert base == {("n0", 3), ("n1", 12), ("n4", 15)}


def test_own_agency_data_is_never_suppressed() -> None:
    events = [event("PH", "n0", DAY, sector="public_health", kind="outreach_contact")] * 2
    release = run(events, DataRequest(area_layer="neighbourhood"), [])
    assert cells(release, "area") == {"n0": 2}
    assert release.suppressed_cells == 0


def test_mixed_cells_are_sums_of_released_parts_only() -> None:
    ems = agreement(id="A-1", provider="EMS", min_cell=5)
    gen = agreement(id="A-2", provider="GEN", min_cell=10)
    events = [event("EMS", "n0", DAY)] * 7 + [event("GEN", "n0", DAY)] * 3
    events += [event("EMS", "n1", DAY)] * 20 + [event("GEN", "n1", DAY)] * 15
    events += [event("EMS", "n2", DAY)] * 8
    events += [event("EMS", "n3", DAY)] * 20 + [event("GEN", "n3", DAY)] * 30
    by_agency = run(
        events,
        DataRequest(agencies=("EMS", "GEN"), area_layer="neighbourhood", by=("agency",)),
        [ems, gen],
    )
    split = cells(by_agency, "area", "agency")
    assert split[("n0", "GEN")] is None  # 3 < 10
    assert split[("n0", "EMS")] == 7  # 7 >= 5 under EMS's own agreement
    assert split[("n1", "GEN")] == 15
    combined = run(
        events, DataRequest(agencies=("EMS", "GEN"), area_layer="neighbourhood"), [ems, gen]
    )
    together = cells(combined, "area")
    # n0 = 10 would pass k=10, but 10 - 7 (EMS, released) gives GEN's hidden 3 away.
    assert together["n0"] is None
    # n2 = 8 is EMS's released 8 plus GEN's (released) zero: nothing new.
    assert together["n2"] == 8
    assert together["n1"] == 35
    assert together["n3"] == 50


def test_own_counts_are_added_only_to_released_cells() -> None:
    own = [event("PH", "n1", DAY, sector="public_health", kind="outreach_contact")] * 4
    own += [event("PH", "n0", DAY, sector="public_health", kind="outreach_contact")] * 50
    events = own + [event("EMS", "n1", DAY)] * 40 + [event("EMS", "n0", DAY)] * 2
    events += [event("EMS", "n2", DAY)] * 30
    release = run(events, DataRequest(area_layer="neighbourhood"), [agreement()])
    got = cells(release, "area")
    assert got["n1"] == 44
    # n0 = 52 looks safe, but 52 - 50 (the user's own count) is EMS's hidden 2.
    assert got["n0"] is None
    assert got["n2"] == 30


def test_out_of_scope_syndromes_never_appear_in_a_breakdown() -> None:
    events = [event("EMS", "n0", DAY, ("opioid_overdose", "homelessness"))] * 12
    release = run(events, DataRequest(agencies=("EMS",), by=("syndrome",)), [agreement()])
    assert set(release.table["syndrome"].to_pylist()) == {"opioid_overdose"}


def test_area_and_period_are_as_coarse_as_the_plan_says() -> None:
    a = agreement(finest_layer="beat", finest_period="month")
    events = [event("EMS", "n0", DAY)] * 12 + [event("EMS", "n3", DAY)] * 11
    request = DataRequest(agencies=("EMS",), area_layer="neighbourhood", period="day", coarsen=True)
    release = run(events, request, [a])
    assert release.table.column_names == ["area", "period", "count", "suppressed"]
    assert set(release.table["area"].to_pylist()) == {"b0", "b1"}
    assert set(release.table["period"].to_pylist()) == {date(2025, 6, 1)}


def _consent(token: str, **kw) -> Consent:
    values = dict(
        id=f"C-{token}",
        person_token=token,
        disclosing_agency="EMS",
        information="SUD treatment",
        recipients=frozenset({"PH"}),
        purpose="public_health_surveillance",
        signed_on=date(2025, 1, 1),
        expires_on=date(2025, 12, 31),
    )
    values.update(kw)
    return Consent(**values)


def test_part2_rows_flow_only_under_a_valid_consent_and_pseudonyms_are_rekeyed() -> None:
    a = agreement(
        granularity="person_level",
        finest_period="day",
        fields=frozenset({"person_token", "occurred_at", "syndromes"}),
    )
    events = [
        event("EMS", "n0", DAY, token="p1:aa", sensitivity=("part2",)),
        event("EMS", "n0", DAY, token="p1:bb", sensitivity=("part2",)),
        event("EMS", "n0", DAY, token="p1:cc"),
    ]
    request = DataRequest(
        kind="extract", agencies=("EMS",), columns=("person_token", "occurred_at", "syndromes")
    )
    release = run(events, request, [a], consents=[_consent("p1:aa")])
    assert release.withheld_part2_rows == 1
    assert release.table.num_rows == 2
    tokens = release.table["person_token"].to_pylist()
    assert all(t.startswith("r1:") for t in tokens)
    assert not {"p1:aa", "p1:bb", "p1:cc"} & set(tokens)
    assert release.table.column_names == ["agency", "person_token", "occurred_at", "syndromes"]
    assert {t.hour for t in release.table["occurred_at"].to_pylist()} == {0}
    assert any("42 CFR Part 2" in n for n in release.notes)

    # Revocation applies on the next read.
    revoked = _consent("p1:aa", revoked_at=datetime(2025, 6, 15, 11, tzinfo=UTC))
    again = run(events, request, [a], consents=[revoked])
    assert again.withheld_part2_rows == 2


def test_two_agreements_give_unjoinable_pseudonyms() -> None:
    fields = frozenset({"person_token"})
    a1 = agreement(id="A-1", granularity="person_level", fields=fields)
    a2 = agreement(id="A-2", recipient="MPD", granularity="person_level", fields=fields)
    events = [event("EMS", "n0", DAY, token="p1:aa")]
    request = DataRequest(kind="extract", agencies=("EMS",), columns=("person_token",))
    to_ph = run(events, request, [a1])
    mpd = UserContext("mpd.officer", "MPD", frozenset({"officer"}), person_level=True)
    to_mpd = run(events, request, [a2], user=mpd)
    assert to_ph.table["person_token"][0] != to_mpd.table["person_token"][0]


def test_own_extract_is_in_full() -> None:
    events = [event("PH", "n0", DAY, token="p1:aa", sensitivity=("part2",))]
    request = DataRequest(kind="extract", columns=("person_token", "occurred_at"))
    release = run(events, request, [])
    assert release.table["person_token"].to_pylist() == ["p1:aa"]
    assert release.table["occurred_at"].to_pylist()[0] == DAY
