from django.urls import path

from wellbeat.web.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_viewer, name="viewer"),
    path("export.csv", views.audit_export, name="export"),
]
