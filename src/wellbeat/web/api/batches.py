"""API: an agency uploads a prepared batch; the hub ingests it through the same path as
``wellbeat ingest`` (``wellbeat.ingest.ingest_batch``)."""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from wellbeat.web.api.auth import AgencyTokenAuth
from wellbeat.web.api.errors import ApiError
from wellbeat.web.audit import actions as audit

router = Router(tags=["batches"])

BATCH_JSON = "batch.json"
EVENTS_PARQUET = "events.parquet"


class IngestOut(Schema):
    batch_id: str
    rows_in: int
    committed: int
    quarantined: int
    already_ingested: bool
    quarantine_path: str | None


def _too_large(total: int) -> ApiError:
    limit = settings.API_UPLOAD_MAX_BYTES
    return ApiError(
        "payload_too_large",
        f"upload unpacks to {total} bytes; the hub accepts at most {limit} "
        "(WELLBEAT_UPLOAD_MAX_BYTES)",
        {"limit": limit},
        status=413,
    )


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise ApiError(
            "unsafe_archive",
            f"archive member {name!r} points outside the batch folder",
            {"member": name},
            status=422,
        )
    return path


def _unpack_zip(upload: UploadedFile, dest: Path) -> None:
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile:
        raise ApiError("bad_archive", "archive: not a readable zip file", status=422) from None
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > settings.API_UPLOAD_MAX_BYTES:
            raise _too_large(total)
        for member in members:
            _safe_member(member.filename)
        archive.extractall(dest)


def _unpack_tar(upload: UploadedFile, dest: Path) -> None:
    try:
        archive = tarfile.open(fileobj=upload, mode="r:*")  # noqa: SIM115 (closed below)
    except tarfile.TarError:
        raise ApiError(
            "bad_archive", "archive: not a readable zip or tar(.gz) file", status=422
        ) from None
    with archive:
        members = archive.getmembers()
        total = sum(m.size for m in members)
        if total > settings.API_UPLOAD_MAX_BYTES:
            raise _too_large(total)
        for member in members:
            _safe_member(member.name)
            if not (member.isfile() or member.isdir()):
                raise ApiError(
                    "unsafe_archive",
                    f"archive member {member.name!r} is a link or device; only plain files",
                    {"member": member.name},
                    status=422,
                )
        archive.extractall(dest, filter="data")


def _find_batch_dir(root: Path) -> Path:
    """The folder holding batch.json: the archive's root or its single top-level folder."""
    if (root / BATCH_JSON).is_file():
        return root
    candidates = [p.parent for p in root.glob(f"*/{BATCH_JSON}")]
    if len(candidates) == 1:
        return candidates[0]
    raise ApiError(
        "bad_batch",
        f"archive: expected {BATCH_JSON} and {EVENTS_PARQUET} at its root or in one folder "
        f"(found {len(candidates)} folders with {BATCH_JSON})",
        status=422,
    )


def _batch_agency(batch_dir: Path) -> str:
    try:
        meta = json.loads((batch_dir / BATCH_JSON).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(
            "bad_batch", f"{BATCH_JSON}: not valid JSON ({exc})", {"file": BATCH_JSON}, 422
        ) from None
    agency = meta.get("agency") if isinstance(meta, dict) else None
    if not isinstance(agency, str) or not agency:
        raise ApiError(
            "bad_batch",
            f"{BATCH_JSON}: field 'agency' missing; expected the providing agency's code",
            {"file": BATCH_JSON, "field": "agency"},
            422,
        )
    return agency


def _stage_upload(
    tmp: Path, archive: UploadedFile | None, events: UploadedFile | None, batch: UploadedFile | None
) -> Path:
    if archive is not None and (events is not None or batch is not None):
        raise ApiError(
            "bad_request",
            "send either 'archive' or both 'events' and 'batch', not both forms",
            status=400,
        )
    if archive is not None:
        if archive.size is not None and archive.size > settings.API_UPLOAD_MAX_BYTES:
            raise _too_large(archive.size)
        root = tmp / "unpacked"
        root.mkdir()
        head = archive.read(4)
        archive.seek(0)
        if head.startswith(b"PK"):
            _unpack_zip(archive, root)
        else:
            _unpack_tar(archive, root)
        return _find_batch_dir(root)
    if events is None or batch is None:
        missing = [name for name, f in (("events", events), ("batch", batch)) if f is None]
        raise ApiError(
            "validation_error",
            "upload a batch as 'archive' (zip or tar of the batch folder) or as the two "
            f"files 'events' (events.parquet) and 'batch' (batch.json); missing: {missing}",
            [
                {"field": f"body.{m}", "message": "file required", "type": "missing"}
                for m in missing
            ],
            status=422,
        )
    total = (events.size or 0) + (batch.size or 0)
    if total > settings.API_UPLOAD_MAX_BYTES:
        raise _too_large(total)
    batch_dir = tmp / "batch"
    batch_dir.mkdir()
    for upload, name in ((events, EVENTS_PARQUET), (batch, BATCH_JSON)):
        with (batch_dir / name).open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    return batch_dir


@router.post(
    "",
    response={200: IngestOut, 201: IngestOut},
    auth=AgencyTokenAuth(scopes=["batches:write"]),
    summary="Upload a prepared batch and ingest it",
)
def upload_batch(
    request: HttpRequest,
    archive: UploadedFile | None = File(None),  # noqa: B008 (ninja's parameter marker)
    events: UploadedFile | None = File(None),  # noqa: B008
    batch: UploadedFile | None = File(None),  # noqa: B008
) -> Status[dict[str, Any]]:
    """Multipart upload of a `wellbeat prepare` batch: one ``archive`` (zip or tar[.gz] of the
    batch folder) or ``events`` + ``batch``. batch.json's agency must be the token's agency.
    201 when committed now, 200 when the same content was ingested before."""
    from wellbeat.ingest import BatchError, ingest_batch

    token = request.auth
    agency = token.agency
    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    uploads = data_dir / "_uploads"
    uploads.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="upload-", dir=uploads))
    try:
        batch_dir = _stage_upload(tmp, archive, events, batch)
        batch_agency = _batch_agency(batch_dir)
        if batch_agency != agency.code:
            with transaction.atomic():
                audit.record(
                    audit.BATCH_REJECTED,
                    actor=None,
                    agency=agency,
                    target=f"token:{token.prefix}",
                    details={"reason": "agency_mismatch", "batch_agency": batch_agency},
                    actor_label=f"token:{token.prefix}",
                )
            raise ApiError(
                "agency_mismatch",
                f"batch.json says agency {batch_agency!r} but this token belongs to "
                f"{agency.code!r}; an agency uploads only its own batches",
                {"batch_agency": batch_agency, "token_agency": agency.code},
                status=403,
            )
        try:
            result = ingest_batch(batch_dir, data_dir)
        except (BatchError, ValueError) as exc:
            with transaction.atomic():
                audit.record(
                    audit.BATCH_REJECTED,
                    actor=None,
                    agency=agency,
                    target=f"token:{token.prefix}",
                    details={"reason": str(exc).replace(str(batch_dir), "batch")[:500]},
                    actor_label=f"token:{token.prefix}",
                )
            # Name files relative to the batch, never the hub's temporary upload path.
            message = str(exc).replace(f"{batch_dir}/", "").replace(str(batch_dir), "batch")
            raise ApiError("batch_rejected", message, status=422) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    quarantine = result.quarantine_path
    body = {
        "batch_id": result.batch_id,
        "rows_in": result.rows_in,
        "committed": result.committed,
        "quarantined": result.quarantined,
        "already_ingested": result.already_ingested,
        "quarantine_path": str(quarantine) if quarantine else None,
    }
    with transaction.atomic():
        audit.record(
            audit.BATCH_UPLOADED,
            actor=None,
            agency=agency,
            target=f"batch:{result.batch_id}",
            details={k: v for k, v in body.items() if k != "quarantine_path"},
            actor_label=f"token:{token.prefix}",
        )
    return Status(200 if result.already_ingested else 201, body)
