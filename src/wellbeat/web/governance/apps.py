from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Agreements, consent and the governed query service."""

    name = "wellbeat.web.governance"
    label = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from wellbeat.web.accounts.tokens import register_scope
        from wellbeat.web.nav import NavLink, register

        register(NavLink("Governed query", "governance:query", roles=None, order=20))
        register(NavLink("Agreements", "governance:agreements", roles=None, order=30))
        register(NavLink("Consents", "governance:consents", roles=None, order=35))
        register_scope(
            "governance:read",
            "governed aggregate queries of the token's agency, under its agreements",
        )
