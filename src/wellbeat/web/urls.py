"""URL map: the hub's pages, the governance app's pages at the root, and the JSON API."""

from django.urls import include, path

from wellbeat.web.api import api
from wellbeat.web.governance.api import router as governance_router

api.add_router("/governance", governance_router)
api.add_router("/care", "wellbeat.web.care.api.router")
api.add_router("/surveillance", "wellbeat.web.surveillance.api.router")

urlpatterns = [
    path("", include("wellbeat.web.hub.urls")),
    path("accounts/", include("wellbeat.web.accounts.urls")),
    path("audit/", include("wellbeat.web.audit.urls")),
    path("surveillance/", include("wellbeat.web.surveillance.urls")),
    path("indicators/", include("wellbeat.web.indicators.urls")),
    path("api/", api.urls),
    path("", include("wellbeat.web.governance.urls")),
    path("", include("wellbeat.web.care.urls")),
]

handler403 = "wellbeat.web.hub.views.permission_denied"
handler404 = "wellbeat.web.hub.views.not_found"
handler500 = "wellbeat.web.hub.views.server_error"
