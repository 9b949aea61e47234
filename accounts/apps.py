from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import digest_signals  # noqa: F401  (digests: join on email verification)
