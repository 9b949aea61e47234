from django.apps import AppConfig


class DigestsConfig(AppConfig):
    """Email digests: subscriptions, followed interests, deliveries, selection and
    sending. See docs/architecture.md."""

    name = "digests"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers; see docs/architecture.md)
