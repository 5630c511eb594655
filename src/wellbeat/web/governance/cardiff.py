"""Reading the Cardiff violence picture through the governed service (page and CLI alike).

Two governed extracts, each audited: the ED's Cardiff Model assault attendances (kind
``assault_attendance``) and police-recorded violence (police incidents with ``violent_crime``).
Neither asks for a person column: the rows carry the time, place and the ISTV attributes the
analysis needs, and nothing that identifies anyone. Another agency's rows come only as an
extract agreement for ``violence_prevention`` allows (its ``fields`` must name each column
asked for); the reader's own agency's rows come in full. Extracts need a person-level role
(an analyst), as every extract does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

from wellbeat.analytics.cardiff import (
    ED_KIND,
    POLICE_KIND,
    POLICE_SECTOR,
    POLICE_SYNDROME,
    Violence,
    violence_rows,
)
from wellbeat.events.schema import AREA_PREFIX
from wellbeat.governance import DataRequest, Refusal
from wellbeat.web.governance.service import (
    Requester,
    _agreements_for,
    governed_read,
    hub_time_zone,
)

PURPOSE = "violence_prevention"
ED_COLUMNS = ("kind", "sector", "syndromes", "occurred_at", "attributes", "lat", "lon")
POLICE_COLUMNS = ("kind", "sector", "syndromes", "occurred_at")


class CardiffRefused(Exception):
    """A read the agreements do not allow; the message says which side and why."""


@dataclass
class CardiffRead:
    violence: Violence
    reads: int = 0
    notes: list[str] = field(default_factory=list)


def _extract(
    requester: Requester,
    purpose: str,
    what: str,
    request: DataRequest,
    export: bool | str,
) -> tuple[pa.Table, tuple[str, ...]]:
    released = governed_read(requester, purpose, request, export=export)
    if isinstance(released, Refusal):
        raise CardiffRefused(f"{what}: {released.message}")
    return released.table, released.notes


def governed_violence(
    requester: Requester,
    *,
    layer: str,
    start: dt.date,
    end: dt.date,
    purpose: str = PURPOSE,
    agencies: tuple[str, ...] | None = None,
    export: bool | str = False,
) -> CardiffRead:
    """ED and police violence rows from ``start`` to ``end`` (local days, end exclusive) at
    ``layer``, read as ``requester`` for ``purpose`` (two audited extracts)."""
    area = f"{AREA_PREFIX}{layer}"
    common = {"kind": "extract", "agencies": agencies, "start": start, "end": end}
    ed, ed_notes = _extract(
        requester,
        purpose,
        "ED assault attendances",
        DataRequest(kinds=(ED_KIND,), columns=(*ED_COLUMNS, area), **common),  # type: ignore[arg-type]
        export,
    )
    police, police_notes = _extract(
        requester,
        purpose,
        "police-recorded violence",
        DataRequest(
            sectors=(POLICE_SECTOR,),
            kinds=(POLICE_KIND,),
            syndromes=(POLICE_SYNDROME,),
            columns=(*POLICE_COLUMNS, area),
            **common,  # type: ignore[arg-type]
        ),
        export,
    )
    for name in ("attributes", "lat", "lon"):  # police rows carry no ISTV fields
        kind = ed.schema.field(name).type
        police = police.append_column(name, pa.nulls(police.num_rows, kind))
    police = police.select(ed.column_names)
    rows = pa.concat_tables([ed, police.cast(ed.schema)])
    notes = list(dict.fromkeys([*ed_notes, *police_notes]))
    if not ed.num_rows:
        notes.append("no ED assault attendances (Cardiff Model rows) in the window")
    if not police.num_rows:
        notes.append("no police-recorded violence in the window")
    return CardiffRead(violence_rows(rows, area, hub_time_zone()), 2, notes)


def sharing_min_cell(requester: Requester, recipient_code: str, today: dt.date) -> int | None:
    """The smallest count the reader's agency may publish to ``recipient_code`` in a Cardiff
    summary: the largest ``min_cell`` of its agreements in force with that recipient that
    cover assault attendances; None when no such agreement is in force."""
    from wellbeat.web.accounts.models import Agency

    recipient = Agency.objects.filter(code=recipient_code).first()
    if recipient is None:
        return None
    cells = [
        a.min_cell
        for a in _agreements_for(recipient)
        if a.provider == requester.agency.code
        and a.in_force(today)
        and (a.kinds is None or ED_KIND in a.kinds)
    ]
    return max(cells) if cells else None
