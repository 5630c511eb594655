from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    """Custom indicators per agency, and the equity analysis of stops and use of force."""

    name = "wellbeat.web.indicators"
    label = "indicators"
    verbose_name = "Indicators"

    def ready(self) -> None:
        from wellbeat.web.accounts.models import Role
        from wellbeat.web.nav import NavLink, register

        analysts = frozenset({Role.ANALYST.value})
        register(NavLink("My indicators", "indicators:list", roles=analysts, order=15))
        register(NavLink("Equity", "indicators:equity", roles=analysts, order=17))
