"""Differencing attacks on suppression (issue 8): one recipient asks many overlapping
questions and combines everything it received; no suppressed count may follow from it.

The attacker's unknowns are as fine as the data: one per distinct (agency, neighbourhood,
exact time, sector, kind, syndromes, sex, precinct attribute) of another agency's events, and it
knows every other combination is zero and its own agency's events exactly. Each released count
is an equation over those unknowns; a hidden count is recoverable when its vector lies in the
row space of the equations (exact rational elimination). See docs/threat-model.md section 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from fake_lake import NEIGHBOURHOODS, FakeEngine, area_of, event
from gov_world import HUB_KEY, LAYERS, NOW, agreement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wellbeat.governance import AttributeCondition, DataRequest, Plan, UserContext, plan
from wellbeat.governance.execute import run_plan
from wellbeat.governance.release import Release
from wellbeat.governance.resolution import period_start

PH = UserContext("ph.analyst", "PH", frozenset({"analyst"}))
PURPOSE = "public_health_surveillance"
START = datetime(2025, 5, 5, tzinfo=UTC)  # a Monday
SYNDROMES = ("overdose", "opioid_overdose", "self_harm")
KINDS = ("ems_response", "ems_transfer")
PRECINCTS = ("1", "2", None)  # None: the event carries no precinct attribute


class RowSpace:
    """The span of integer vectors, kept in reduced row echelon form over the rationals."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[int, Fraction]] = {}  # pivot column -> row (pivot entry 1)

    def _reduce(self, vector: dict[int, Fraction]) -> dict[int, Fraction]:
        v = {c: x for c, x in vector.items() if x}
        for pivot, row in self.rows.items():
            factor = v.get(pivot)
            if factor:
                for c, x in row.items():
                    updated = v.get(c, Fraction(0)) - factor * x
                    if updated:
                        v[c] = updated
                    else:
                        v.pop(c, None)
        return v

    def add(self, columns: Iterable[int]) -> None:
        residue = self._reduce({c: Fraction(1) for c in columns})
        if not residue:
            return
        pivot = min(residue)
        scale = residue[pivot]
        new = {c: x / scale for c, x in residue.items()}
        for other in self.rows.values():
            factor = other.get(pivot)
            if factor:
                for c, x in new.items():
                    updated = other.get(c, Fraction(0)) - factor * x
                    if updated:
                        other[c] = updated
                    else:
                        other.pop(c, None)
        self.rows[pivot] = new

    def contains(self, columns: Iterable[int]) -> bool:
        return not self._reduce({c: Fraction(1) for c in columns})


def test_the_row_space_check_finds_the_classic_differencing_attack() -> None:
    """The checker itself: two window totals one day apart determine that day's cell."""
    space = RowSpace()
    space.add([0, 1, 2])  # days 1-3
    space.add([0, 1, 2, 3])  # days 1-4
    assert space.contains([3])
    assert not space.contains([2])
    space.add([0, 1])
    assert space.contains([2])
    assert not space.contains([0])


class Attacker:
    """Everything one recipient received, as equations over the other agencies' events."""

    def __init__(self, events: Sequence[dict[str, Any]], recipient: str) -> None:
        self.recipient = recipient
        self.events = events
        self.unknown: dict[tuple[Any, ...], int] = {}
        for e in events:
            if e["agency"] != recipient:
                self.unknown.setdefault(fine_key(e), len(self.unknown))
        self.space = RowSpace()
        self.hidden: list[tuple[str, frozenset[int]]] = []

    def receive(self, decided: Plan, release: Release) -> None:
        dims = [d for d in release.table.column_names if d not in ("count", "suppressed")]
        for row in release.table.to_pylist():
            members = [e for e in self.events if counts_in(decided, e, row, dims)]
            others = frozenset(self.unknown[fine_key(e)] for e in members if self._other(e))
            if row["suppressed"]:
                assert row["count"] is None
                self.hidden.append((f"{decided.request} -> {row}", others))
                continue
            # The release says what each number counts; check it holds, then learn it.
            assert row["count"] == len(members), (decided.request, row)
            self.space.add(others)

    def _other(self, e: dict[str, Any]) -> bool:
        return e["agency"] != self.recipient

    def cells_of_grid(self, provider: str, deal: Any) -> dict[tuple[Any, ...], frozenset[int]]:
        """The provider's events grouped by its agreement's finest grid (computed here from
        the agreement, independently of the release code)."""
        cells: dict[tuple[Any, ...], set[int]] = {}
        for e in self.events:
            if e["agency"] != provider or e["sector"] not in (deal.sectors or {e["sector"]}):
                continue
            shared = in_scope(e, deal.syndromes)
            if deal.syndromes is not None and not shared:
                continue
            key = (
                area_of(e["neighbourhood"], deal.finest_layer),
                period_start(e["occurred_at"].date(), deal.finest_period),
                e["sector"],
                e["kind"],
                shared,
                e["sex"] if "sex" in deal.fields else None,
                precinct(e) if "attribute:precinct" in deal.fields else None,
            )
            cells.setdefault(key, set()).add(self.unknown[fine_key(e)])
        return {k: frozenset(v) for k, v in cells.items()}

    def recoverable(self) -> list[str]:
        return [what for what, cols in self.hidden if cols and self.space.contains(cols)]


def fine_key(e: dict[str, Any]) -> tuple[Any, ...]:
    return (
        e["agency"],
        e["neighbourhood"],
        e["occurred_at"],
        e["sector"],
        e["kind"],
        frozenset(e["syndromes"]),
        e["sex"],
        precinct(e),
    )


def precinct(e: dict[str, Any]) -> str | None:
    value: str | None = (e.get("attributes") or {}).get("precinct")
    return value


def in_scope(e: dict[str, Any], scope: frozenset[str] | None) -> frozenset[str]:
    return frozenset(e["syndromes"]) & scope if scope is not None else frozenset(e["syndromes"])


def _as_bound(when: datetime, bound: date) -> date:
    """``when`` as a window bound compares it: an instant, or its (UTC = local) day."""
    return when if isinstance(bound, datetime) else when.date()


def counts_in(decided: Plan, e: dict[str, Any], row: dict[str, Any], dims: list[str]) -> bool:
    """Whether event ``e`` is counted in released ``row``, by the release's stated meaning:
    the plan's providers and scope, the window it reports (a period of another agency's grid
    belongs to the window and coarser period holding its first day), the plan's layer."""
    grant = decided.grant_for(e["agency"])
    if grant is None:
        return False
    if grant.sectors is not None and e["sector"] not in grant.sectors:
        return False
    if grant.kinds is not None and e["kind"] not in grant.kinds:
        return False
    deal = grant.agreement
    labels = in_scope(e, None if deal is None else deal.syndromes)
    if grant.syndromes is not None and not labels & grant.syndromes:
        return False
    conditions = decided.request.attributes
    if not all(c.matches((e.get("attributes") or {}).get(c.name)) for c in conditions):
        return False
    day = e["occurred_at"].date()
    if deal is not None and deal.finest_period is not None:
        first = period_start(day, deal.finest_period)
        when = datetime(first.year, first.month, first.day, tzinfo=UTC)
    else:
        when = e["occurred_at"]
    if decided.start is not None and _as_bound(when, decided.start) < decided.start:
        return False
    if decided.end is not None and _as_bound(when, decided.end) >= decided.end:
        return False
    for dim in dims:
        if dim == "area" and area_of(e["neighbourhood"], decided.area_layer or "") != row[dim]:
            return False
        if dim == "period" and period_start(when.date(), decided.period or "") != row[dim]:
            return False
        if dim == "agency" and e["agency"] != row[dim]:
            return False
        if dim == "syndrome":
            allowed = labels if grant.syndromes is None else labels & grant.syndromes
            if row[dim] not in allowed:
                return False
        if dim in ("sex", "kind", "sector") and e[dim] != row[dim]:
            return False
        if dim == "attribute:precinct" and precinct(e) != row[dim]:
            return False
    return True


# -- the attack, reproduced ------------------------------------------------------------


def _ask(events: list[dict[str, Any]], request: DataRequest, deals: list[Any]) -> Release:
    decided = plan(PH, PURPOSE, request, deals, [], LAYERS, NOW)
    assert isinstance(decided, Plan), decided
    return run_plan(decided, FakeEngine(events), HUB_KEY)


def _total(release: Release) -> int | None:
    rows = release.table.to_pylist()
    assert len(rows) == 1, rows
    count: int | None = rows[0]["count"]
    return count


def test_windows_a_day_or_four_hours_apart_reveal_nothing_hidden() -> None:
    """Issue 8: under a daily k = 10 agreement, totals whose ``end`` differed by a day gave a
    suppressed day's 5, and ends four hours apart gave a single event away."""
    deals = [agreement()]
    events = [
        event("EMS", "n0", START + timedelta(days=d, hours=9)) for d in range(20) for _ in range(12)
    ]
    day21 = START + timedelta(days=20)
    events += [event("EMS", "n0", day21 + timedelta(hours=h)) for h in (1, 2, 9, 13, 20)]
    asked = DataRequest(agencies=("EMS",), start=START)

    before = _ask(events, DataRequest(**{**asked.__dict__, "end": day21}), deals)
    assert _total(before) == 240
    after = _ask(events, DataRequest(**{**asked.__dict__, "end": day21 + timedelta(days=1)}), deals)
    assert _total(after) is None  # day 21 (5 events) is hidden, so is any total holding it

    four = _ask(events, DataRequest(**{**asked.__dict__, "end": day21 + timedelta(hours=4)}), deals)
    eight = _ask(
        events, DataRequest(**{**asked.__dict__, "end": day21 + timedelta(hours=8)}), deals
    )
    for release in (four, eight):
        # The window actually read is whole local days (dates since local time zones).
        assert (release.plan.start, release.plan.end) == (
            START.date(),
            (day21 + timedelta(days=1)).date(),
        )
        assert any("time window widened to whole days" in n for n in release.notes)
        assert _total(release) is None
    # A window starting mid-day is widened back to midnight: the same whole days are counted.
    late = _ask(
        events,
        DataRequest(agencies=("EMS",), start=START + timedelta(hours=10), end=day21),
        deals,
    )
    assert late.plan.start == START.date() and _total(late) == 240

    attacker = Attacker(events, "PH")
    for release in (before, after, four, eight, late):
        attacker.receive(release.plan, release)
    assert attacker.hidden and not attacker.recoverable()


def test_a_parent_syndrome_minus_its_child_reveals_nothing_hidden() -> None:
    """Differencing across filters: overdose (12 + 3 events) minus opioid overdose (12)."""
    deals = [agreement()]
    events = [event("EMS", "n0", START, ("overdose", "opioid_overdose"))] * 12
    events += [event("EMS", "n0", START, ("overdose",))] * 3
    wide = _ask(events, DataRequest(agencies=("EMS",), syndromes=("overdose",)), deals)
    narrow = _ask(events, DataRequest(agencies=("EMS",), syndromes=("opioid_overdose",)), deals)
    split = _ask(events, DataRequest(agencies=("EMS",), by=("syndrome",)), deals)
    assert _total(narrow) == 12
    assert _total(wide) is None  # it holds the 3 events with overdose alone
    assert {r["syndrome"]: r["count"] for r in split.table.to_pylist()} == {
        "overdose": None,
        "opioid_overdose": 12,
    }
    attacker = Attacker(events, "PH")
    for release in (wide, narrow, split):
        attacker.receive(release.plan, release)
    assert not attacker.recoverable()


def test_two_agreements_from_one_provider_share_one_protected_table() -> None:
    """A district/month total under one agreement minus the released days of another (from
    the same provider to the same recipient) would give a hidden day away."""
    daily = agreement(id="A-1", finest_layer="neighbourhood", finest_period="day", min_cell=10)
    monthly = agreement(id="A-2", finest_layer="district", finest_period="month", min_cell=3)
    events = [event("EMS", "n0", START + timedelta(days=d)) for d in range(3) for _ in range(10)]
    events += [event("EMS", "n0", START + timedelta(days=3))] * 4
    month = _ask(
        events,
        DataRequest(agencies=("EMS",), area_layer="district", period="month"),
        [daily, monthly],
    )
    assert month.plan.grants[0].agreement == monthly
    assert _total(month) is None  # it holds the hidden day of 4 (k = 10 under the daily one)
    days = _ask(
        events,
        DataRequest(agencies=("EMS",), area_layer="neighbourhood", period="day"),
        [daily, monthly],
    )
    assert [r["count"] for r in days.table.to_pylist()] == [10, 10, 10, None]
    attacker = Attacker(events, "PH")
    for release in (month, days):
        attacker.receive(release.plan, release)
    assert not attacker.recoverable()


def test_code_filters_on_another_agencys_counts_are_refused() -> None:
    decided = plan(
        PH,
        PURPOSE,
        DataRequest(agencies=("EMS",), codes=("icd10cm:T40*",)),
        [agreement()],
        [],
        LAYERS,
        NOW,
    )
    assert not isinstance(decided, Plan)
    assert "filtered by code" in decided.message


# -- the attacker, at random --------------------------------------------------------------------


@st.composite
def worlds(draw: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """Agreements from EMS (neighbourhood/day or beat/week) and GEN to PH, and events of EMS,
    GEN and PH itself over two weeks, with counts around k so that both sides occur."""
    deals = [
        agreement(
            id="A-1",
            provider="EMS",
            min_cell=draw(st.integers(2, 6)),
            finest_layer=draw(st.sampled_from(["neighbourhood", "beat"])),
            finest_period=draw(st.sampled_from(["day", "week"])),
            syndromes=draw(st.sampled_from([None, frozenset({"overdose", "opioid_overdose"})])),
            fields=draw(
                st.sampled_from(
                    [
                        frozenset(),
                        frozenset({"sex"}),
                        frozenset({"attribute:precinct"}),
                        frozenset({"sex", "attribute:precinct"}),
                    ]
                )
            ),
        ),
        agreement(
            id="A-2",
            provider="GEN",
            min_cell=draw(st.integers(2, 6)),
            finest_layer=draw(st.sampled_from(["beat", "district"])),
            finest_period=draw(st.sampled_from(["day", "week", "month"])),
            syndromes=None,
            fields=draw(st.sampled_from([frozenset(), frozenset({"attribute:precinct"})])),
        ),
    ]
    if draw(st.booleans()):  # a second agreement from EMS, on another grid
        layer, period = draw(
            st.sampled_from([("district", "month"), ("beat", "week"), ("neighbourhood", "day")])
        )
        deals.append(
            agreement(
                id="A-3",
                provider="EMS",
                min_cell=draw(st.integers(2, 6)),
                finest_layer=layer,
                finest_period=period,
                syndromes=draw(st.sampled_from([None, frozenset({"self_harm", "overdose"})])),
            )
        )
    spread = st.just(draw(st.integers(1, 4)))  # few places and days: cells big enough to show
    evs = []
    for _ in range(draw(st.integers(0, 60))):
        agency = draw(st.sampled_from(["EMS", "EMS", "GEN", "PH"]))
        evs.append(
            event(
                agency,
                draw(st.sampled_from(NEIGHBOURHOODS[: draw(spread)])),
                START
                + timedelta(
                    days=draw(st.integers(0, draw(spread) * 3)), hours=draw(st.integers(0, 23))
                ),
                tuple(
                    draw(st.lists(st.sampled_from(SYNDROMES), min_size=1, max_size=2, unique=True))
                ),
                kind=draw(st.sampled_from(KINDS)),
                sex=draw(st.sampled_from(["female", "male"])),
                attributes=(
                    {} if (p := draw(st.sampled_from(PRECINCTS))) is None else {"precinct": p}
                ),
            )
        )
    # Repeat some events so that cells at or above k occur.
    evs += [dict(e) for e in evs[: draw(st.integers(0, len(evs)))]] * draw(st.integers(0, 3))
    return deals, evs


moments = st.builds(
    lambda d, h: START + timedelta(days=d, hours=h), st.integers(-3, 16), st.integers(0, 23)
)


@st.composite
def attacks(draw: Any) -> list[DataRequest]:
    out = []
    for _ in range(draw(st.integers(2, 7))):
        start = draw(st.none() | moments)
        end = draw(st.none() | moments)
        if start is not None and end is not None and start >= end:
            start, end = end, max(start, end + timedelta(hours=1))
        out.append(
            DataRequest(
                agencies=draw(st.sampled_from([None, ("EMS",), ("GEN",), ("EMS", "GEN")])),
                syndromes=draw(
                    st.none()
                    | st.lists(st.sampled_from(SYNDROMES), min_size=1, unique=True).map(tuple)
                ),
                kinds=draw(st.sampled_from([None, None, (KINDS[0],), KINDS])),
                start=start,
                end=end,
                area_layer=draw(st.sampled_from([None, "neighbourhood", "beat", "district"])),
                period=draw(st.sampled_from([None, "day", "week", "month"])),
                by=draw(
                    st.sampled_from(
                        [
                            (),
                            ("agency",),
                            ("syndrome",),
                            ("sex",),
                            ("kind",),
                            ("attribute:precinct",),
                            ("attribute:precinct", "sex"),
                        ]
                    )
                ),
                attributes=draw(
                    st.sampled_from(
                        [
                            (),
                            (),
                            (AttributeCondition("precinct", equals=("1",)),),
                            (AttributeCondition("precinct", equals=("1", "2")),),
                            (AttributeCondition("precinct", greater_than=1),),
                        ]
                    )
                ),
                coarsen=True,
            )
        )
    return out


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(worlds(), attacks())
def test_no_sequence_of_requests_recovers_a_suppressed_cell(
    world: tuple[list[Any], list[dict[str, Any]]], asked: list[DataRequest]
) -> None:
    deals, events = world
    attacker = Attacker(events, "PH")
    engine = FakeEngine(events)
    for request in asked:
        decided = plan(PH, PURPOSE, request, deals, [], LAYERS, NOW)
        if not isinstance(decided, Plan):
            continue
        attacker.receive(decided, run_plan(decided, engine, HUB_KEY))
    assert not attacker.recoverable()
    # Nor is any small cell of an agreement's finest grid, whether or not a request showed it.
    for deal in deals:
        for key, cols in attacker.cells_of_grid(deal.provider, deal).items():
            size = sum(1 for e in events if attacker.unknown.get(fine_key(e)) in cols)
            if 1 <= size < deal.min_cell:
                assert not attacker.space.contains(cols), (deal.provider, key)


def test_a_window_already_on_the_grid_is_kept_without_a_note() -> None:
    naive = START.replace(tzinfo=None)
    release = _ask(
        [event("EMS", "n0", START)] * 12,
        DataRequest(agencies=("EMS",), start=naive, end=naive + timedelta(days=7), period="week"),
        [agreement()],
    )
    assert (release.plan.start, release.plan.end) == (
        START.date(),
        (START + timedelta(days=7)).date(),
    )
    assert not any("widened" in n for n in release.notes)
    assert release.table.to_pylist() == [{"period": START.date(), "count": 12, "suppressed": False}]
