from django.apps import AppConfig


class CareConfig(AppConfig):
    """Care coordination and co-response."""

    name = "wellbeat.web.care"
    label = "care"
    verbose_name = "Care coordination"

    def ready(self) -> None:
        from wellbeat.web.nav import NavLink, register

        register(NavLink("Care", "care:home", roles=None, order=40))
        register(
            NavLink(
                "New encounter",
                "care:encounter_new",
                roles=frozenset({"officer", "clinician"}),
                order=41,
            )
        )
        register(NavLink("Directory", "care:directory", roles=None, order=45))
