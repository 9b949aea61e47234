"""Deployment checks (`manage.py check --deploy`) for settings that work but would make
production quietly worse."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_services(app_configs, **kwargs):
    warnings = []
    if not settings.REDIS_URL:
        warnings.append(
            Warning(
                "REDIS_URL is not set: the cache is per process (rate limits count per "
                "worker) and Celery tasks run inside web requests.",
                hint="Set REDIS_URL, e.g. redis://127.0.0.1:6379/0, and run a worker and beat.",
                id="dailypapers.W001",
            )
        )
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        warnings.append(
            Warning(
                "EMAIL_URL is not set: verification and digest mail is printed, not sent.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587.",
                id="dailypapers.W002",
            )
        )
    return warnings
