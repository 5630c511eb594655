from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Agencies, users, roles and API tokens."""

    name = "wellbeat.web.accounts"
    label = "accounts"
    verbose_name = "Accounts"
