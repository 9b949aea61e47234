from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import digest_signals, signals  # noqa: F401  (digest_signals: issue 5)
