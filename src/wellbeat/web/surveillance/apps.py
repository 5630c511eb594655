from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    """Alerts, subscriptions, delivery and dashboards over governed reads."""

    name = "wellbeat.web.surveillance"
    label = "surveillance"
    verbose_name = "Surveillance"

    def ready(self) -> None:
        from wellbeat.web.nav import NavLink, register

        register(NavLink("Overview", "surveillance:overview", roles=None, order=10))
        register(NavLink("Alerts", "surveillance:alerts", roles=None, order=12))
        register(NavLink("Explorer", "surveillance:explorer", roles=None, order=14))
        register(NavLink("Subscriptions", "surveillance:subscriptions", roles=None, order=16))
