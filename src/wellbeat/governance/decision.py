"""Deciding a request: which agreements allow it, and how it must be narrowed and coarsened.

``plan`` is a pure function of (user, purpose, request, agreements, consents, layer order, now).
It returns either a :class:`Plan` (one :class:`Grant` per provider agency whose rows the user
may read, with the effective geography, period and columns) or a :class:`Refusal` whose reasons
name what is missing, e.g. ``no active agreement from MPD to PH covers syndrome opioid_overdose
at layer neighbourhood (finest allowed: district)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Literal

from wellbeat.events.periods import DEFAULT_TIME_ZONE, is_local_midnight, local_date
from wellbeat.events.schema import AREA_PREFIX
from wellbeat.governance.agreements import (
    AGGREGATE_DIMENSIONS,
    NEVER_RELEASED_COLUMNS,
    PURPOSES,
    SCOPED_DIMENSIONS,
    Agreement,
    AgreementStatus,
    Consent,
    Granularity,
    effective_status,
    is_aggregate_dimension,
)
from wellbeat.governance.resolution import (
    PERIODS,
    LayerOrder,
    coarsest_period,
    period_allowed,
    snap_window,
)
from wellbeat.lake.query import AttributeCondition, attribute_dimension, attribute_name


def _as_utc(value: date) -> date:
    """A datetime bound made comparable: naive ones are UTC, as the lake reads them."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


TIME_COLUMNS = ("occurred_at", "reported_at")
"""Extract columns governed by the agreement's finest period (truncated to it on release)."""

RequestKind = Literal["aggregate", "extract"]


@dataclass(frozen=True)
class UserContext:
    """Who is asking: the web app builds this from the logged-in user.

    ``person_level`` is True only when the user's roles may see person-level data and the
    session passed the second factor (CJIS); extracts need it even for the user's own agency.
    """

    username: str
    agency: str
    roles: frozenset[str] = frozenset()
    person_level: bool = False


@dataclass(frozen=True)
class DataRequest:
    """What a user asks for: counts (``aggregate``) or pseudonymous rows (``extract``).

    ``agencies`` of None means "every provider I may read for this purpose, and my own
    agency"; naming agencies makes the request all-or-nothing. ``coarsen=True`` lets the
    service coarsen place or time to what the agreements allow instead of refusing.
    """

    kind: RequestKind = "aggregate"
    agencies: tuple[str, ...] | None = None
    sectors: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    syndromes: tuple[str, ...] | None = None
    codes: tuple[str, ...] | None = None
    start: date | datetime | None = None
    """Inclusive: a ``date`` is a local day of the hub's zone, a ``datetime`` an instant."""
    end: date | datetime | None = None
    """Exclusive: a ``date`` is the first local day left out, a ``datetime`` an instant."""
    area_layer: str | None = None
    period: str | None = None
    by: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    limit: int | None = None
    coarsen: bool = False
    attributes: tuple[AttributeCondition, ...] = ()
    """Event attributes that must all hold (a missing attribute never matches). For another
    agency's rows each named attribute must be in the agreement's ``fields`` as
    ``attribute:<name>``, as must every ``attribute:<name>`` in ``by``."""

    @property
    def attribute_fields(self) -> tuple[str, ...]:
        """The agreement fields this request needs for its attributes (filters and ``by``),
        sorted: ``attribute:<name>`` for each."""
        named = {attribute_dimension(c.name) for c in self.attributes}
        named |= {d for d in self.by if attribute_name(d) is not None}
        return tuple(sorted(named))

    def problems(self) -> list[str]:
        """What is malformed in the request itself, each naming the field."""
        out: list[str] = []
        if self.agencies is not None and not self.agencies:
            out.append("field 'agencies': name at least one agency, or leave it out for all")
        if self.kind not in ("aggregate", "extract"):
            out.append(f"field 'kind': expected aggregate or extract, got {self.kind!r}")
        if self.period is not None and self.period not in PERIODS:
            out.append(f"field 'period': {self.period!r} is not one of {', '.join(PERIODS)}")
        unknown_by = [d for d in self.by if not is_aggregate_dimension(d)]
        if unknown_by:
            out.append(
                f"field 'by': {', '.join(unknown_by)} not among {', '.join(AGGREGATE_DIMENSIONS)} "
                "or attribute:<name> (name matching [a-z][a-z0-9_]*)"
            )
        for condition in self.attributes:
            out.extend(f"field 'attributes': {p}" for p in condition.problems())
        if len(set(self.by)) != len(self.by):
            out.append(f"field 'by': a dimension is listed twice in {list(self.by)}")
        if self.kind == "extract":
            if not self.columns:
                out.append("field 'columns': an extract needs at least one column")
            if self.by or self.period:
                out.append("field 'by'/'period': an extract returns rows, not counts")
        elif self.columns:
            out.append("field 'columns': only an extract selects columns")
        if (
            self.start is not None
            and self.end is not None
            and isinstance(self.start, datetime) == isinstance(self.end, datetime)
            and _as_utc(self.start) >= _as_utc(self.end)
        ):
            out.append(f"field 'end': {self.end} is not after start {self.start}")
        if self.limit is not None and self.limit < 1:
            out.append(f"field 'limit': must be >= 1, got {self.limit}")
        return out

    @property
    def area_layers(self) -> tuple[str, ...]:
        """Every layer the request touches: the aggregate's layer or the extract's area columns."""
        if self.kind == "aggregate":
            return () if self.area_layer is None else (self.area_layer,)
        return tuple(c.removeprefix(AREA_PREFIX) for c in self.columns if c.startswith(AREA_PREFIX))


@dataclass(frozen=True)
class Grant:
    """The rows of one provider agency a plan may read, and how they are released.

    ``agreement`` is None for the user's own agency (released in full: no suppression, no
    re-keying, no truncation). Scope sets are the effective row filter (None = any).
    """

    provider: str
    agreement: Agreement | None
    sectors: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    syndromes: frozenset[str] | None = None
    consented_tokens: frozenset[str] = frozenset()
    protected_by: tuple[Agreement, ...] = ()
    """Every agreement from this provider to the user's agency in force now (``agreement``
    first): the provider's counts for this recipient are protected in one base table fine
    enough for all of them, so answers under two agreements cannot be differenced
    (docs/governance.md)."""

    @property
    def own(self) -> bool:
        return self.agreement is None

    @property
    def base_agreements(self) -> tuple[Agreement, ...]:
        if self.agreement is None:
            return ()
        rest = tuple(a for a in self.protected_by if a.id != self.agreement.id)
        return (self.agreement, *rest)

    @property
    def base_min_cell(self) -> int:
        """The k of the provider's base table: the largest among ``base_agreements``."""
        return max((a.min_cell for a in self.base_agreements), default=1)

    @property
    def base_fields(self) -> frozenset[str]:
        return frozenset(f for a in self.base_agreements for f in a.fields)

    def base_scope(self, name: str) -> frozenset[str] | None:
        """The union of the base agreements' ``sectors`` / ``kinds`` / ``syndromes`` (None:
        any, when one of them allows any)."""
        scopes = [getattr(a, name) for a in self.base_agreements]
        if not scopes or any(s is None for s in scopes):
            return None
        return frozenset().union(*scopes)

    @property
    def min_cell(self) -> int:
        return 1 if self.agreement is None else self.agreement.min_cell

    @property
    def finest_period(self) -> str | None:
        return None if self.agreement is None else self.agreement.finest_period

    @property
    def finest_layer(self) -> str | None:
        return None if self.agreement is None else self.agreement.finest_layer


@dataclass(frozen=True)
class Plan:
    """An allowed request, narrowed and coarsened: what to query and how to release it."""

    user: UserContext
    purpose: str
    request: DataRequest
    grants: tuple[Grant, ...]
    area_layer: str | None
    period: str | None
    columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    start: date | datetime | None = None
    """The time window actually read (inclusive start): for aggregates, the request's window
    widened to whole local periods of the release's grid (``snap_window``: local days);
    else as requested."""
    end: date | datetime | None = None
    """Exclusive end of the window actually read (see ``start``)."""
    time_zone: str = DEFAULT_TIME_ZONE
    """The hub's time zone: periods and day bounds are local calendar days in it."""

    @property
    def kind(self) -> RequestKind:
        return self.request.kind

    @property
    def by(self) -> tuple[str, ...]:
        return self.request.by

    @property
    def agreement_ids(self) -> tuple[str, ...]:
        return tuple(g.agreement.id for g in self.grants if g.agreement is not None)

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(g.provider for g in self.grants)

    def grant_for(self, provider: str) -> Grant | None:
        return next((g for g in self.grants if g.provider == provider), None)

    @property
    def strictest_min_cell(self) -> int:
        """The k that applies to cells mixing several providers' rows: the largest."""
        return max((g.min_cell for g in self.grants if not g.own), default=1)


@dataclass(frozen=True)
class Refusal:
    """A request the agreements do not allow; every reason names what is missing."""

    user: UserContext
    purpose: str
    request: DataRequest
    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class _Fit:
    """How one agreement measures up to a request."""

    agreement: Agreement
    scope_missing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    status_problem: str = ""
    layer_targets: dict[str, str] = field(default_factory=dict)
    period_target: str | None = None
    coarsened: int = 0


def _listing(name: str, values: Iterable[str]) -> str:
    listed = sorted(values)
    return f"{name}{'s' if len(listed) > 1 else ''} {', '.join(listed)}"


def _fit(
    agreement: Agreement,
    user: UserContext,
    purpose: str,
    request: DataRequest,
    layer_order: LayerOrder,
    today_status: AgreementStatus,
) -> _Fit:
    fit = _Fit(agreement)
    for name, asked, allowed in (
        ("sector", request.sectors, agreement.sectors),
        ("kind", request.kinds, agreement.kinds),
        ("syndrome", request.syndromes, agreement.syndromes),
    ):
        if asked is not None and allowed is not None:
            outside = set(asked) - allowed
            if outside:
                fit.scope_missing.append(_listing(name, outside))
    # Place.
    for layer in request.area_layers:
        finest = agreement.finest_layer
        if finest is None:
            fit.missing.append(f"at layer {layer} (the agreement allows no breakdown by place)")
        elif layer_order.allowed(layer, finest):
            fit.layer_targets[layer] = layer
        elif request.coarsen and (target := layer_order.join([layer, finest])) is not None:
            fit.layer_targets[layer] = target
            fit.coarsened += 1
        else:
            fit.missing.append(f"at layer {layer} (finest allowed: {finest})")
    # Time.
    wants_time = request.period is not None or any(c in TIME_COLUMNS for c in request.columns)
    if wants_time:
        asked_period = request.period or "day"
        finest_period = agreement.finest_period
        if finest_period is None:
            fit.missing.append("by time (the agreement allows no breakdown by time)")
        elif request.kind == "extract":
            fit.period_target = finest_period  # timestamps are truncated to it on release
        elif period_allowed(asked_period, finest_period):
            fit.period_target = asked_period
        elif request.coarsen:
            fit.period_target = finest_period
            fit.coarsened += 1
        else:
            fit.missing.append(f"by period {asked_period} (finest allowed: {finest_period})")
    if request.kind == "aggregate":
        if request.codes is not None:
            fit.missing.append(
                "filtered by code (codes cut cells finer than the agreement's grid; filter "
                "by syndrome, sector or kind instead)"
            )
        if (request.start or request.end) and agreement.finest_period is None:
            fit.missing.append(
                "within a time window (the agreement allows no breakdown by time, so only "
                "all-time counts)"
            )
    if agreement.purpose != purpose:
        fit.missing.append(
            f"for purpose {purpose} (agreement {agreement.id} is for {agreement.purpose})"
        )
    if agreement.recipient_roles and not (user.roles & agreement.recipient_roles):
        fit.missing.append(
            f"for {_listing('role', user.roles) if user.roles else 'a user without roles'} "
            f"(agreement {agreement.id} is limited to "
            f"{', '.join(sorted(agreement.recipient_roles))})"
        )
    if request.kind == "extract":
        if agreement.granularity is not Granularity.PERSON_LEVEL:
            fit.missing.append(
                f"as person-level rows (agreement {agreement.id} shares aggregates only)"
            )
        blocked = [
            c
            for c in request.columns
            if not c.startswith(AREA_PREFIX)
            and (c in NEVER_RELEASED_COLUMNS or c not in agreement.fields)
            and c != "agency"
        ]
        if blocked:
            allowed_fields = ", ".join(sorted(agreement.fields)) or "none"
            fit.missing.append(f"with {_listing('column', blocked)} (allowed: {allowed_fields})")
    else:
        quasi = [
            d
            for d in request.by
            if d not in SCOPED_DIMENSIONS
            and attribute_name(d) is None
            and d not in agreement.fields
        ]
        if quasi:
            fit.missing.append(f"broken down by {', '.join(quasi)}")
    unshared = [f for f in request.attribute_fields if f not in agreement.fields]
    if unshared:
        named = ", ".join(sorted(agreement.fields)) or "none"
        fit.missing.append(
            f"with {', '.join(unshared)} (a filter or breakdown by an event attribute needs it "
            f"in the agreement's fields, which name: {named})"
        )
    if today_status is not AgreementStatus.ACTIVE:
        fit.status_problem = _status_phrase(agreement, today_status)
    return fit


def _status_phrase(agreement: Agreement, status: AgreementStatus) -> str:
    who = f"agreement {agreement.id} from {agreement.provider} to {agreement.recipient}"
    if status is AgreementStatus.DRAFT and agreement.status is AgreementStatus.ACTIVE:
        return f"{who} takes effect on {agreement.valid_from}"
    if status is AgreementStatus.DRAFT:
        return f"{who} is a draft: it takes effect once an admin of each agency approves it"
    if status is AgreementStatus.EXPIRED:
        return f"{who} expired on {agreement.valid_to}"
    return f"{who} was revoked"


def _reason(provider: str, recipient: str, fits: Sequence[_Fit]) -> str:
    if not fits:
        return (
            f"no agreement from {provider} to {recipient} exists "
            "(an admin of each agency must draft and approve one)"
        )

    def distance(f: _Fit) -> tuple[int, int, str]:
        return (len(f.scope_missing) + len(f.missing), bool(f.status_problem), f.agreement.id)

    closest = min(fits, key=distance)
    if not closest.scope_missing and not closest.missing and closest.status_problem:
        return closest.status_problem
    what = " and ".join(closest.scope_missing) if closest.scope_missing else "this request"
    covered = " ".join([what, *closest.missing])
    text = f"no active agreement from {provider} to {recipient} covers {covered}"
    if closest.status_problem:
        text += f" (and {closest.status_problem})"
    return text


def _choose(fits: Sequence[_Fit]) -> _Fit | None:
    usable = [f for f in fits if not f.scope_missing and not f.missing and not f.status_problem]
    if not usable:
        return None
    return min(usable, key=lambda f: (f.coarsened, f.agreement.min_cell, f.agreement.id))


def _on_hub(agreement: Agreement, layer_order: LayerOrder) -> Agreement:
    """The agreement as this hub can apply it: a finest layer the hub does not hold allows no
    request by place (no known layer lies above it), so its grid has no place either."""
    if agreement.finest_layer is None or agreement.finest_layer in layer_order.coarser:
        return agreement
    return replace(agreement, finest_layer=None)


def _effective_scope(
    asked: tuple[str, ...] | None, allowed: frozenset[str] | None
) -> frozenset[str] | None:
    if asked is not None:
        return frozenset(asked) if allowed is None else frozenset(asked) & allowed
    return allowed


def plan(
    user: UserContext,
    purpose: str,
    request: DataRequest,
    agreements: Iterable[Agreement],
    consents: Iterable[Consent],
    layer_order: LayerOrder,
    now: datetime,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> Plan | Refusal:
    """Decide ``request`` for ``user`` and ``purpose`` under the agreements in force at ``now``.

    ``time_zone`` is the hub's (the lake's) zone: windows snap to its local periods.

    Each provider is governed by its own best-fitting agreement (no coarsening needed first,
    then the smallest k, then the lowest id); the user's own agency is always read in full.
    """

    def refuse(reasons: Iterable[str]) -> Refusal:
        return Refusal(user, purpose, request, tuple(reasons))

    problems = request.problems()
    if purpose not in PURPOSES:
        problems.append(f"field 'purpose': {purpose!r} is not one of {', '.join(sorted(PURPOSES))}")
    for layer in request.area_layers:
        if layer not in layer_order.coarser:
            known = ", ".join(layer_order.layers) or "none"
            problems.append(f"area layer {layer!r} is unknown (known layers: {known})")
    if problems:
        return refuse(problems)
    if request.kind == "extract" and not user.person_level:
        return refuse(
            [
                f"user {user.username} may not read person-level rows: it needs a role that "
                "may see person-level data and a session that passed the second factor"
            ]
        )

    today = local_date(now, time_zone)  # agreements run by the hub's local days
    mine = sorted((a for a in agreements if a.recipient == user.agency), key=lambda a: a.id)
    explicit = request.agencies is not None
    providers = (
        list(dict.fromkeys(request.agencies or ()))
        if explicit
        else sorted({user.agency} | {a.provider for a in mine})
    )
    chosen: dict[str, _Fit] = {}
    reasons: list[str] = []
    for provider in providers:
        if provider == user.agency:
            continue
        fits = [
            _fit(a, user, purpose, request, layer_order, effective_status(a, today))
            for a in mine
            if a.provider == provider
        ]
        best = _choose(fits)
        if best is None:
            reasons.append(_reason(provider, user.agency, fits))
        else:
            chosen[provider] = best
    if explicit and reasons:
        return refuse(reasons)
    notes = [f"not included: {r}" for r in reasons]

    # One geography and one period for the whole release: the finest every provider allows.
    layer_map: dict[str, str] = {}
    for layer in request.area_layers:
        targets = {layer} | {f.layer_targets[layer] for f in chosen.values()}
        effective = layer_order.join(targets)
        if effective is None:
            return refuse(
                [
                    f"the providers' agreements allow no common area layer for {layer} "
                    f"(finest allowed: {', '.join(sorted(targets - {layer}))})"
                ]
            )
        layer_map[layer] = effective
        if effective != layer:
            notes.append(
                f"area layer coarsened from {layer} to {effective} (agreements allow no finer)"
            )
    period = request.period
    if request.kind == "aggregate" and period is not None:
        targets_p = [period] + [f.period_target for f in chosen.values() if f.period_target]
        period = coarsest_period(targets_p, prefer=period)
        if period != request.period:
            notes.append(
                f"period coarsened from {request.period} to {period} (agreements allow no finer)"
            )
    if request.kind == "extract":
        for f in chosen.values():
            if f.period_target and any(c in TIME_COLUMNS for c in request.columns):
                notes.append(
                    f"{f.agreement.provider}'s timestamps truncated to {f.period_target} "
                    f"(agreement {f.agreement.id})"
                )

    start, end = request.start, request.end
    grid_periods = [f.agreement.finest_period for f in chosen.values() if f.agreement.finest_period]
    if request.kind == "aggregate" and chosen and (period or grid_periods):
        unit = period or coarsest_period(grid_periods, prefer=grid_periods[0])
        start, end = snap_window(request.start, request.end, unit, time_zone)
        asked = tuple(
            local_date(t, time_zone)
            if isinstance(t, datetime) and is_local_midnight(t, time_zone)
            else t
            for t in (request.start, request.end)
        )
        if (start, end) != asked:
            shown = ["open" if t is None else t.isoformat() for t in (start, end)]
            notes.append(
                f"time window widened to whole {unit.replace('_', ' ')}s: {shown[0]} to "
                f"{shown[1]} (local days, {time_zone}), end excluded (agreements release "
                "whole periods only)"
            )

    columns: tuple[str, ...] = ()
    if request.kind == "extract":
        mapped = [
            f"{AREA_PREFIX}{layer_map[c.removeprefix(AREA_PREFIX)]}"
            if c.startswith(AREA_PREFIX)
            else c
            for c in request.columns
        ]
        columns = tuple(dict.fromkeys(mapped))

    grants: list[Grant] = []
    for provider in providers:
        if provider == user.agency:
            grants.append(
                Grant(
                    provider,
                    None,
                    _effective_scope(request.sectors, None),
                    _effective_scope(request.kinds, None),
                    _effective_scope(request.syndromes, None),
                )
            )
        elif provider in chosen:
            a = chosen[provider].agreement
            in_force = tuple(
                _on_hub(other, layer_order)
                for other in mine
                if other.provider == provider
                and effective_status(other, today) is AgreementStatus.ACTIVE
            )
            tokens: frozenset[str] = frozenset()
            if request.kind == "extract":
                tokens = frozenset(
                    c.person_token
                    for c in consents
                    if c.permits(provider, user.agency, purpose, now)
                )
            grants.append(
                Grant(
                    provider,
                    _on_hub(a, layer_order),
                    _effective_scope(request.sectors, a.sectors),
                    _effective_scope(request.kinds, a.kinds),
                    _effective_scope(request.syndromes, a.syndromes),
                    tokens,
                    in_force,
                )
            )
    return Plan(
        user=user,
        purpose=purpose,
        request=request,
        grants=tuple(grants),
        area_layer=layer_map.get(request.area_layer) if request.area_layer else None,
        period=period,
        columns=columns,
        notes=tuple(notes),
        start=start,
        end=end,
        time_zone=time_zone,
    )
