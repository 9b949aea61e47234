from django.apps import AppConfig


class CodeSignalsConfig(AppConfig):
    name = "codesignals"
    verbose_name = "Code signals"

    def ready(self):
        from . import signals  # noqa: F401
