from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Hash-chained audit log, its verifier and the auditor's viewer."""

    name = "wellbeat.web.audit"
    label = "audit"
    verbose_name = "Audit"
