"""The governed query service: the ONLY module of the web app that opens the lake's engine.

Every read by a page, an API endpoint or an export comes here with (who, purpose, request).
The service loads the agreements and consents in force right now (so a revocation applies to
the very next read), asks ``wellbeat.governance.plan`` for a decision, runs the plan on the
engine, releases the result and writes one audit entry, for a refusal too.
``tests/test_architecture.py`` fails if any other web module imports the lake or reads Parquet.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wellbeat.analytics.quality import SourceQuality, source_quality
from wellbeat.events.periods import local_date
from wellbeat.geo import load_layers
from wellbeat.governance import DataRequest, LayerOrder, Plan, Refusal, UserContext, plan
from wellbeat.governance.execute import request_filter, run_plan
from wellbeat.governance.release import Release
from wellbeat.lake.engine import Engine, open_engine
from wellbeat.lake.query import BY_DIMENSIONS as BY_DIMENSIONS  # what an aggregate groups by
from wellbeat.lake.query import AggregateQuery
from wellbeat.lake.query import QueryError as QueryError  # the lake cannot answer as asked
from wellbeat.lake.store import LakePaths, lake_time_zone
from wellbeat.privacy.keys import load_key, write_key_file
from wellbeat.web.accounts.models import Agency, ApiToken, User
from wellbeat.web.audit.actions import record
from wellbeat.web.governance.models import Agreement, Consent

GOVERNED_READ = "governed.read"
GOVERNED_REFUSED = "governed.refused"
GOVERNED_EXPORT = "export"

HUB_KEY_FILE = "hub.key"
"""File in the data directory holding the hub's re-keying secret (hex, mode 0600)."""


@dataclass(frozen=True)
class Requester:
    """Who reads: a signed-in user, or an agency API token (aggregates only, no roles)."""

    context: UserContext
    agency: Agency
    user: User | None = None
    label: str = ""


def requester_for_user(user: User) -> Requester:
    if user.agency is None:
        raise ValueError(f"user {user.username} belongs to no agency and cannot read data")
    return Requester(
        UserContext(
            username=user.username,
            agency=user.agency.code,
            roles=frozenset(user.roles or []),
            person_level=user.sees_person_level,
        ),
        user.agency,
        user=user,
    )


def requester_for_operator(agency: Agency, label: str) -> Requester:
    """The hub's operator at the command line, reading for ``agency`` (no roles; audited
    under ``label``, e.g. ``cli:alice``): the agency's own data in full, others' only as its
    agreements allow."""
    return Requester(UserContext(label, agency.code), agency, label=label)


def requester_for_token(token: ApiToken) -> Requester:
    label = f"token:{token.prefix}"
    return Requester(UserContext(label, token.agency.code), token.agency, label=label)


def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def hub_time_zone() -> str:
    """The hub's time zone: the lake's (``lake/settings.json``, set by ``wellbeat lake
    time-zone``). Every period and day bound a page reads is a local day in it."""
    return lake_time_zone(data_dir())


def hub_today() -> dt.date:
    """Today's local date in the hub's time zone."""
    return local_date(timezone.now(), hub_time_zone())


def hub_key() -> bytes:
    """The hub's secret for re-keying pseudonyms per agreement (created on first use)."""
    path = data_dir() / HUB_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_key_file(path)
    return load_key(path)


_LakeState = tuple[tuple[str, int, int], ...]
_THREAD = threading.local()
"""Per thread: ``engines``, data directory -> (lake state, engine)."""
_MAX_ENGINES = 4
_ABANDONED: list[object] = []
"""Engines a forked child inherited: kept referenced, never used or closed (see below)."""


def close_engines() -> None:
    """Close the engines this thread has cached. Call before forking worker processes (the
    demo runs detection in the process that then starts the server): a DuckDB connection
    does not survive a fork, since its worker threads stay behind in the parent."""
    engines: dict[str, tuple[_LakeState, Engine]] = _THREAD.__dict__.pop("engines", {})
    for _state, engine in engines.values():
        engine.close()


def _abandon_inherited_engines() -> None:
    # In a forked child an inherited connection would wait forever on threads that were not
    # copied, and closing or collecting it could too: set it aside and open a fresh one.
    engines = _THREAD.__dict__.pop("engines", None)
    if engines:
        _ABANDONED.append(engines)


os.register_at_fork(after_in_child=_abandon_inherited_engines)


def _lake_state(directory: Path) -> _LakeState:
    """Name, modification time and size of every manifest and area layer file: what the
    engine's views are built from (a directory listing, no file is read)."""
    paths = LakePaths(directory)
    files = [
        *(sorted(paths.manifests.glob("*.json")) if paths.manifests.is_dir() else []),
        *(sorted(paths.areas.glob("*.geojson")) if paths.areas.is_dir() else []),
    ]
    state = []
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed between the listing and the stat: skip it
            continue
        state.append((str(path.relative_to(directory)), stat.st_mtime_ns, stat.st_size))
    return tuple(state)


def lake_engine() -> Engine:
    """The engine over the hub's lake, opened once per data directory and thread and reused (a
    DuckDB connection and its views cost more to open than a small query; one per thread so
    concurrent requests do not queue on one connection). Opened afresh when the set of
    manifests or area layers changes, so a rewritten lake is never read through stale views;
    one it replaces (or evicts: at most ``_MAX_ENGINES`` data directories per thread) closes its
    connection once no read holds it any more."""
    directory = data_dir()
    key = str(directory.resolve())
    state = _lake_state(directory)
    engines: dict[str, tuple[_LakeState, Engine]] = _THREAD.__dict__.setdefault("engines", {})
    cached = engines.get(key)
    if cached is not None and cached[0] == state:
        return cached[1]
    engine = open_engine(directory)
    engines.pop(key, None)
    engines[key] = (state, engine)
    while len(engines) > _MAX_ENGINES:
        del engines[next(iter(engines))]
    return engine


_ORDER_CACHE: dict[tuple[str, tuple[tuple[str, float], ...]], LayerOrder] = {}


def layer_order() -> LayerOrder:
    """Nesting of the hub's area layers, read from their parent-id properties (cached on the
    files' modification times)."""
    areas = data_dir() / "areas"
    files = sorted(areas.glob("*.geojson")) if areas.is_dir() else []
    key = (str(areas), tuple((p.name, p.stat().st_mtime) for p in files))
    if key not in _ORDER_CACHE:
        _ORDER_CACHE.clear()
        _ORDER_CACHE[key] = LayerOrder.from_area_layers(load_layers(areas) if files else [])
    return _ORDER_CACHE[key]


def _agreements_for(agency: Agency) -> list:
    rows = Agreement.objects.select_related("provider", "recipient").filter(recipient=agency)
    return [a.to_core() for a in rows]


def _consents_for(agency: Agency) -> list:
    rows = (
        Consent.objects.select_related("disclosing_agency")
        .prefetch_related("recipients")
        .filter(recipients=agency)
    )
    return [c.to_core() for c in rows]


def decide(requester: Requester, purpose: str, request: DataRequest) -> Plan | Refusal:
    """The decision alone (no read, no audit): used to explain what a request would get."""
    return plan(
        requester.context,
        purpose,
        request,
        _agreements_for(requester.agency),
        _consents_for(requester.agency),
        layer_order(),
        timezone.now(),
        time_zone=hub_time_zone(),
    )


def _audit(requester: Requester, action: str, target: str, details: dict) -> None:
    record(
        action,
        actor=requester.user,
        agency=requester.agency,
        target=target,
        details=details,
        actor_label=requester.label,
    )


def governed_read(
    requester: Requester, purpose: str, request: DataRequest, *, export: bool | str = False
) -> Release | Refusal:
    """Decide, read, release and audit one request (``export`` marks a file download: True
    for CSV, or the file format's name)."""
    decision = decide(requester, purpose, request)
    target = f"{request.kind}:{purpose}"
    if isinstance(decision, Refusal):
        with transaction.atomic():
            _audit(
                requester,
                GOVERNED_REFUSED,
                target,
                {
                    "purpose": purpose,
                    "kind": request.kind,
                    "agencies": list(request.agencies) if request.agencies else None,
                    "reasons": list(decision.reasons),
                },
            )
        return decision
    released = run_plan(decision, lake_engine(), hub_key())
    with transaction.atomic():
        _audit(
            requester,
            GOVERNED_EXPORT if export else GOVERNED_READ,
            target,
            {
                **released.audit_details(),
                "format": (export if isinstance(export, str) else "csv") if export else "table",
            },
        )
    return released


def governed_aggregate(
    user: User, purpose: str, request: DataRequest, *, export: bool | str = False
) -> Release | Refusal:
    """Counts for a signed-in user (see ``governed_read``)."""
    if request.kind != "aggregate":
        raise ValueError("governed_aggregate needs DataRequest(kind='aggregate')")
    return governed_read(requester_for_user(user), purpose, request, export=export)


def governed_extract(
    user: User, purpose: str, request: DataRequest, *, export: bool = False
) -> Release | Refusal:
    """Pseudonymous rows for a signed-in user with person-level access (see ``governed_read``)."""
    if request.kind != "extract":
        raise ValueError("governed_extract needs DataRequest(kind='extract')")
    return governed_read(requester_for_user(user), purpose, request, export=export)


SYSTEM_READ = "system.read"


def system_aggregate(job: str, request: DataRequest) -> pa.Table:
    """Counts for a scheduled hub job (alert detection), across every agency, unreleased.

    Not for pages or exports: the job keeps only derived signals, and what users then see of
    them is checked against their own agreements and read through ``governed_aggregate``. Each
    call writes a ``system.read`` audit entry naming the job."""
    if request.kind != "aggregate":
        raise ValueError("system_aggregate needs DataRequest(kind='aggregate')")
    problems = request.problems()
    if problems:
        raise ValueError("; ".join(problems))
    query = AggregateQuery(
        filter=request_filter(request),
        area_layer=request.area_layer,
        period=request.period,  # type: ignore[arg-type]
        by=request.by,
    )
    table = lake_engine().aggregate(query)
    with transaction.atomic():
        record(
            SYSTEM_READ,
            actor=None,
            agency=None,
            target=f"job:{job}",
            details={
                "job": job,
                "syndromes": list(request.syndromes) if request.syndromes else None,
                "sectors": list(request.sectors) if request.sectors else None,
                "kinds": list(request.kinds) if request.kinds else None,
                "attributes": [c.describe() for c in request.attributes] or None,
                "by": list(request.by),
                "area_layer": request.area_layer,
                "period": request.period,
                "start": request.start.isoformat() if request.start else None,
                "end": request.end.isoformat() if request.end else None,
                "rows": table.num_rows,
            },
            actor_label=f"job:{job}",
        )
    return table


def system_source_quality(job: str) -> list[SourceQuality]:
    """Per-source data-quality monitors (freshness, latency, volume, informative fields,
    invalid codes) for the hub's home page and the detection job: per-agency metrics, no event
    rows. Audited as ``system.read`` naming the job."""
    reports = source_quality(data_dir())
    with transaction.atomic():
        record(
            SYSTEM_READ,
            actor=None,
            agency=None,
            target=f"job:{job}",
            details={"job": job, "kind": "source_quality", "sources": len(reports)},
            actor_label=f"job:{job}",
        )
    return reports
