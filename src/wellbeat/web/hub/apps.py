from django.apps import AppConfig


class HubConfig(AppConfig):
    """Home page and the hub's navigation links."""

    name = "wellbeat.web.hub"
    label = "hub"
    verbose_name = "Hub"

    def ready(self) -> None:
        from wellbeat.web.accounts.models import Role
        from wellbeat.web.nav import NavLink, register

        register(NavLink("Home", "hub:home", None, order=0))
        register(NavLink("Audit log", "audit:viewer", frozenset({Role.AUDITOR}), 80))
        register(NavLink("Users", "accounts:agency_users", frozenset({Role.AGENCY_ADMIN}), 90))
        register(
            NavLink("API tokens", "accounts:agency_tokens", frozenset({Role.AGENCY_ADMIN}), 91)
        )
