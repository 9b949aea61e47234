from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)
