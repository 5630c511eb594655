"""Pages of the governance app, included by the hub at the site root."""

from django.urls import URLPattern, URLResolver, path

from wellbeat.web.governance import views

app_name = "governance"

urlpatterns: list[URLPattern | URLResolver] = [
    path("agreements/", views.agreement_list, name="agreements"),
    path("agreements/new/", views.agreement_new, name="agreement_new"),
    path("agreements/<str:code>/", views.agreement_detail, name="agreement"),
    path("agreements/<str:code>/approve/", views.agreement_approve, name="agreement_approve"),
    path("agreements/<str:code>/revoke/", views.agreement_revoke, name="agreement_revoke"),
    path("consents/", views.consent_list, name="consents"),
    path("consents/new/", views.consent_new, name="consent_new"),
    path("consents/<str:code>/revoke/", views.consent_revoke, name="consent_revoke"),
    path("query/", views.governed_query, name="query"),
]
