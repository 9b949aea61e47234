from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "papers"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deployment checks)
