"""The home page: the state of the hub's sources, for every signed-in user."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from wellbeat.web.hub.status import hub_status


@login_required
def home(request: HttpRequest) -> HttpResponse:
    status = hub_status(Path(settings.DATA_DIR))
    return render(request, "wellbeat/hub/home.html", {"status": status})


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception and str(exception) else "You may not open this page."
    return render(request, "wellbeat/403.html", {"message": message}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "wellbeat/404.html", {"path": request.path}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "wellbeat/500.html", status=500)
