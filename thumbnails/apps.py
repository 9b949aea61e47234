from django.apps import AppConfig


class ThumbnailsConfig(AppConfig):
    name = "thumbnails"
    verbose_name = "Thumbnails"

    def ready(self):
        from . import signals  # noqa: F401
