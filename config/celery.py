"""The Celery app. Settings come from Django's (CELERY_* names); tasks from each app's
tasks.py. The beat schedule lives here, in code, so it is reviewed like any change."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dailypapers")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "refresh-rank-scores": {
        "task": "papers.tasks.refresh_rank_scores",
        "schedule": crontab(minute="*/10"),
    },
    # Digests (issue 5): send hours are whole local hours; planning every 5 minutes
    # sends within minutes of them and re-plans deliveries whose worker died.
    "plan-digests": {
        "task": "papers.tasks.plan_digests",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
}
