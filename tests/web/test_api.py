"""The JSON API: tokens (scoped, hashed, revocable), batch upload through the CLI's ingest
path, the audit endpoint for auditors, OpenAPI and a docs page without any CDN."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.web.api_support import tar_of, write_batch, zip_of

from wellbeat.web.accounts import actions
from wellbeat.web.accounts.models import ApiToken
from wellbeat.web.accounts.tokens import hash_token
from wellbeat.web.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def _token(
    world: Any, admin: str = "mpd_admin", scopes: tuple[str, ...] = ("batches:write",)
) -> str:
    return actions.do_create_api_token(world.users[admin], "test upload", list(scopes)).secret


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_tokens_are_stored_hashed_and_shown_once(client: Client, world: Any, login_as: Any) -> None:
    login_as(client, world.users["mpd_admin"])
    response = client.post(
        "/api/tokens",
        data=json.dumps({"name": "CAD nightly", "scopes": ["batches:write"]}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN="unused-in-tests",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["token"]
    stored = ApiToken.objects.get(prefix=body["prefix"])
    assert stored.token_hash == hash_token(secret)
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    listing = client.get("/api/tokens").json()
    assert [t["prefix"] for t in listing] == [body["prefix"]]
    assert "token" not in listing[0]
    assert AuditEntry.objects.filter(action="token.created", target=f"token:{body['prefix']}")


def test_upload_a_batch_archive_ingests_through_the_cli_path(
    client: Client, world: Any, hub_data_dir: Path, tmp_path: Path
) -> None:
    batch = write_batch(tmp_path / "b1", "MPD", n=6, bad=2)
    upload = SimpleUploadedFile("b1.tar.gz", tar_of(batch))
    response = client.post("/api/batches", {"archive": upload}, **_bearer(_token(world)))
    assert response.status_code == 201, response.content
    result = response.json()
    assert (result["rows_in"], result["committed"], result["quarantined"]) == (6, 4, 2)
    assert result["already_ingested"] is False
    assert list((hub_data_dir / "lake" / "manifest").glob("*.json"))
    again = client.post(
        "/api/batches",
        {"archive": SimpleUploadedFile("b1.zip", zip_of(batch))},
        **_bearer(_token(world)),
    )
    assert again.status_code == 200 and again.json()["already_ingested"] is True
    entry = AuditEntry.objects.filter(action="batch.uploaded").first()
    assert entry is not None and entry.agency_code == "MPD" and entry.details["committed"] == 4
    assert entry.actor_username.startswith("token:")


def test_upload_as_two_files(
    client: Client, world: Any, hub_data_dir: Path, tmp_path: Path
) -> None:
    batch = write_batch(tmp_path / "b2", "MPD", n=3)
    files = {
        "events": SimpleUploadedFile("events.parquet", (batch / "events.parquet").read_bytes()),
        "batch": SimpleUploadedFile("batch.json", (batch / "batch.json").read_bytes()),
    }
    response = client.post("/api/batches", files, **_bearer(_token(world)))
    assert response.status_code == 201 and response.json()["committed"] == 3


def test_a_token_uploads_only_its_own_agencys_batches(
    client: Client, world: Any, hub_data_dir: Path, tmp_path: Path
) -> None:
    batch = write_batch(tmp_path / "b3", "MPD", n=2)
    response = client.post(
        "/api/batches",
        {"archive": SimpleUploadedFile("b.tgz", tar_of(batch))},
        **_bearer(_token(world, admin="xpd_admin")),
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "agency_mismatch"
    assert error["details"] == {"batch_agency": "MPD", "token_agency": "XPD"}
    assert not (hub_data_dir / "lake" / "manifest").exists() or not list(
        (hub_data_dir / "lake" / "manifest").glob("*.json")
    )
    assert AuditEntry.objects.filter(action="batch.rejected").exists()


def test_revoked_tokens_and_missing_scopes_are_refused(
    client: Client, world: Any, hub_data_dir: Path, tmp_path: Path
) -> None:
    from wellbeat.web.accounts.tokens import register_scope

    register_scope("test:other", "a scope for this test")
    batch = write_batch(tmp_path / "b4", "MPD", n=2)
    other = _token(world, scopes=("test:other",))
    response = client.post(
        "/api/batches", {"archive": SimpleUploadedFile("b.tgz", tar_of(batch))}, **_bearer(other)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    secret = _token(world)
    token = ApiToken.objects.get(token_hash=hash_token(secret))
    actions.do_revoke_api_token(world.users["mpd_admin"], token)
    response = client.post(
        "/api/batches", {"archive": SimpleUploadedFile("b.tgz", tar_of(batch))}, **_bearer(secret)
    )
    assert response.status_code == 401


def test_archives_escaping_the_batch_folder_are_refused(
    client: Client, world: Any, hub_data_dir: Path
) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("../../etc/evil")
        payload = b"x"
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    response = client.post(
        "/api/batches",
        {"archive": SimpleUploadedFile("evil.tgz", buffer.getvalue())},
        **_bearer(_token(world)),
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsafe_archive"


def test_a_batch_the_ingest_rejects_is_a_422_without_server_paths(
    client: Client, world: Any, hub_data_dir: Path, tmp_path: Path
) -> None:
    batch = write_batch(tmp_path / "b5", "MPD", n=2)
    meta = json.loads((batch / "batch.json").read_text())
    meta["format"] = "something-else/9"
    (batch / "batch.json").write_text(json.dumps(meta))
    response = client.post(
        "/api/batches",
        {"archive": SimpleUploadedFile("b.tgz", tar_of(batch))},
        **_bearer(_token(world)),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "batch_rejected" and "format" in error["message"]
    assert "_uploads" not in error["message"]


def test_audit_api_is_for_auditors(client: Client, world: Any, login_as: Any) -> None:
    actions.do_set_roles(world.users["mpd_admin"], world.users["mpd_officer"], ["analyst"])
    login_as(client, world.users["mpd_analyst"])
    refused = client.get("/api/audit")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    login_as(client, world.users["mpd_auditor"])
    page = client.get("/api/audit", {"action": "user."})
    assert page.status_code == 200
    assert [e["action"] for e in page.json()["entries"]] == ["user.roles_changed"]
    assert client.get("/api/audit/verify").json()["ok"] is True


def test_openapi_and_docs_are_served_without_a_cdn(client: Client, world: Any) -> None:
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"/api/batches", "/api/tokens", "/api/audit"} <= set(paths)
    docs = client.get("/api/docs")
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
