from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from . import digest_section, signals  # noqa: F401  (connects the receivers)

        # Notifications folded into the digest (digests.sections), as semantic's section.
        digest_section.register()
