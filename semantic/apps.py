from django.apps import AppConfig


class SemanticConfig(AppConfig):
    name = "semantic"
    verbose_name = "Search by meaning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import digest_section, signals  # noqa: F401  (connects the Celery signal)

        digest_section.register()  # the personal digest's "Recommended for you"
