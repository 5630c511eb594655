"""Property tests over random agreements, users, requests and events: whatever the mix, a
release never holds a small cell, a finer place or time than allowed, a column it may not, or
a row of an agency the user has no agreement with, and nothing hidden can be recovered."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fake_lake import NEIGHBOURHOODS, FakeEngine, area_of, event, truncate
from gov_world import HUB_KEY, LAYERS, NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wellbeat.governance import (
    Agreement,
    AgreementStatus,
    DataRequest,
    Plan,
    Refusal,
    UserContext,
    plan,
)
from wellbeat.governance.execute import run_plan
from wellbeat.governance.resolution import PERIOD_RANK

AGENCIES = ("EMS", "GEN", "MPD", "PH")
SYNDROMES = ("overdose", "opioid_overdose", "self_harm", "assault_injury")
PURPOSE = "public_health_surveillance"
START = datetime(2025, 5, 1, tzinfo=UTC)

maybe_set = st.none() | st.frozensets(st.sampled_from(SYNDROMES), min_size=1)


@st.composite
def agreements(draw: Any, recipient_hint: str, in_force: bool = False) -> list[Agreement]:
    """Mostly agreements to ``recipient_hint`` and mostly active, so many requests are allowed;
    the rest (other recipients, drafts, revoked, expired, other purposes) must never leak."""
    out = []
    for i in range(draw(st.integers(0, 5))):
        provider, recipient = draw(st.permutations(AGENCIES))[:2]
        if recipient != recipient_hint and (in_force or draw(st.integers(0, 3)) > 0):
            provider = recipient if provider == recipient_hint else provider
            recipient = recipient_hint
        out.append(
            Agreement(
                id=f"A-{i}",
                provider=provider,
                recipient=recipient,
                purpose=PURPOSE
                if in_force
                else draw(st.sampled_from([PURPOSE] * 3 + ["research"])),
                granularity="aggregate",
                finest_layer=draw(
                    st.sampled_from(["neighbourhood", "beat", "district"] * 3 + [None])
                ),
                finest_period=draw(st.sampled_from(["day", "week", "month", "year"] * 3 + [None])),
                min_cell=draw(st.integers(1, 12)),
                valid_from=date(2025, 1, 1),
                valid_to=draw(
                    st.sampled_from(
                        [None, date(2026, 1, 1)] + ([] if in_force else [date(2025, 6, 1)])
                    )
                ),
                status=AgreementStatus.ACTIVE
                if in_force
                else draw(st.sampled_from([AgreementStatus.ACTIVE] * 4 + list(AgreementStatus))),
                syndromes=draw(maybe_set),
                recipient_roles=frozenset()
                if in_force
                else draw(
                    st.sampled_from(
                        [frozenset(), frozenset(), frozenset({"analyst"}), frozenset({"officer"})]
                    )
                ),
            )
        )
    return out


@st.composite
def events(draw: Any) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 120))):
        agency = draw(st.sampled_from(AGENCIES))
        out.append(
            event(
                agency,
                draw(st.sampled_from(NEIGHBOURHOODS)),
                START + timedelta(days=draw(st.integers(0, 40)), hours=draw(st.integers(0, 23))),
                tuple(
                    draw(st.lists(st.sampled_from(SYNDROMES), min_size=1, max_size=2, unique=True))
                ),
            )
        )
    return out


requests = st.builds(
    DataRequest,
    agencies=st.none()
    | st.none()
    | st.lists(st.sampled_from(AGENCIES), min_size=1, max_size=2, unique=True).map(tuple),
    syndromes=st.none()
    | st.none()
    | st.lists(st.sampled_from(SYNDROMES), min_size=1, unique=True).map(tuple),
    area_layer=st.sampled_from([None, "neighbourhood", "beat", "district"]),
    period=st.sampled_from([None, "day", "week", "month", "year"]),
    by=st.sampled_from([(), ("agency",), ("syndrome",), ("agency", "syndrome")]),
    coarsen=st.sampled_from([True, True, False]),
)
users = st.builds(
    UserContext,
    username=st.just("someone"),
    agency=st.sampled_from(AGENCIES),
    roles=st.sampled_from([frozenset({"analyst"}), frozenset({"officer"})]),
)


def _in_force(a: Agreement, user: UserContext) -> bool:
    return (
        a.recipient == user.agency
        and a.purpose == PURPOSE
        and a.in_force(NOW.date())
        and (not a.recipient_roles or bool(a.recipient_roles & user.roles))
    )


def _brute_force(decided: Plan, evs: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """What each cell holds, counted directly from the events the plan may read."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for e in evs:
        grant = decided.grant_for(e["agency"])
        if grant is None:
            continue
        wanted = decided.request.syndromes
        scope = grant.syndromes
        if wanted is not None and not set(e["syndromes"]) & set(wanted):
            continue
        if scope is not None and not set(e["syndromes"]) & scope:
            continue
        key: tuple[Any, ...] = ()
        if decided.area_layer:
            key += (area_of(e["neighbourhood"], decided.area_layer),)
        if decided.period:
            # Another agency's period of its grid counts in the period holding its first day.
            day = e["occurred_at"].date()
            if grant.finest_period is not None:
                day = truncate(day, grant.finest_period)
            key += (truncate(day, decided.period),)
        keys = [key]
        for dim in decided.by:
            if dim == "agency":
                keys = [(*k, e["agency"]) for k in keys]
            else:
                allowed = set(e["syndromes"]) & (scope if scope is not None else set(SYNDROMES))
                keys = [(*k, s) for k in keys for s in sorted(allowed)]
        for k in keys:
            counts[k] += 1
    return counts


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data(), users, requests, events())
def test_a_release_never_exceeds_its_agreements(
    data: st.DataObject, user: UserContext, request: DataRequest, evs: list[dict[str, Any]]
) -> None:
    """Any agreements at all: drafts, revoked, expired, other purposes, roles, recipients."""
    check_release(data.draw(agreements(user.agency)), user, request, evs)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data(), users, requests, events())
def test_releases_under_agreements_in_force_stay_safe(
    data: st.DataObject, user: UserContext, request: DataRequest, evs: list[dict[str, Any]]
) -> None:
    """Only agreements in force, so most requests are allowed and suppression is exercised."""
    check_release(data.draw(agreements(user.agency, in_force=True)), user, request, evs)


def check_release(
    deals: list[Agreement], user: UserContext, request: DataRequest, evs: list[dict[str, Any]]
) -> None:
    decided = plan(user, PURPOSE, request, deals, [], LAYERS, NOW)
    if isinstance(decided, Refusal):
        assert decided.reasons and all(decided.reasons)
        return
    allowed_providers = {user.agency} | {a.provider for a in deals if _in_force(a, user)}
    # Only agencies with an agreement in force (or the user's own) are read.
    assert set(decided.providers) <= allowed_providers
    # Geography and time no finer than any used agreement allows.
    for grant in decided.grants:
        if grant.agreement is None:
            continue
        a = grant.agreement
        assert _in_force(a, user)
        if decided.area_layer is not None:
            assert a.finest_layer is not None and LAYERS.allowed(decided.area_layer, a.finest_layer)
        if decided.period is not None:
            assert a.finest_period is not None
            assert PERIOD_RANK[decided.period] >= PERIOD_RANK[a.finest_period]

    release = run_plan(decided, FakeEngine(evs), HUB_KEY)
    dims = (["area"] if decided.area_layer else []) + (["period"] if decided.period else [])
    dims += list(decided.by)
    assert release.table.column_names == [*dims, "count", "suppressed"]

    truth = _brute_force(decided, evs)
    own = Counter(
        {
            k: v
            for k, v in _brute_force(
                Plan(**{**decided.__dict__, "grants": tuple(g for g in decided.grants if g.own)}),
                evs,
            ).items()
        }
    )
    by_agency = "agency" in decided.by
    for row in release.table.to_pylist():
        key = tuple(row[d] for d in dims)
        if by_agency:
            assert row["agency"] in allowed_providers
        if row["suppressed"]:
            assert row["count"] is None
            continue
        # Every released count is exactly the governed truth: no rows from elsewhere.
        assert row["count"] == truth[key]
        if by_agency:
            grant = decided.grant_for(row["agency"])
            assert grant is not None
            others = 0 if grant.own else row["count"]
            k = grant.min_cell
        else:
            # A mix is a sum of released parts, each 0 or at least its provider's k.
            others = row["count"] - own[tuple(row[d] for d in dims if d != "agency")]
            k = min((g.min_cell for g in decided.grants if not g.own), default=1)
        assert not 1 <= others <= k - 1, (row, k)

    # Every base cell of another agency is hidden exactly when it is small (1..k-1).
    for base in release.bases:
        grant = decided.grant_for(base.provider)
        assert grant is not None
        for cell in base.cells.to_pylist():
            assert cell["suppressed"] == (1 <= cell["count"] < grant.base_min_cell), cell
