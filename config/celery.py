"""The Celery app. Settings come from Django's (CELERY_* names); tasks from each app's
tasks.py. The beat schedule lives here, in code, so it is reviewed like any change."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dailypapers")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each entry expires (`options.expires`, seconds) before its next run is due: a worker
# busy for hours (a digest backlog) would otherwise find a pile of identical beat
# messages and run them all; the next run does the same work anyway.
app.conf.beat_schedule = {
    "refresh-rank-scores": {
        "task": "papers.tasks.refresh_rank_scores",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 9 * 60},
    },
    # New papers in settings.ARXIV_CATEGORIES, looking back ARXIV_LOOKBACK_DAYS days:
    # every three hours is well within arXiv's rate limits and catches each daily
    # announcement (about 20:00 US Eastern) within hours.
    "ingest-arxiv": {
        "task": "ingest.tasks.ingest_arxiv",
        "schedule": crontab(minute=20, hour="*/3"),
        "options": {"expires": 170 * 60},
    },
    # Hugging Face's list for today grows during the day: every hour.
    "ingest-hf-daily": {
        "task": "ingest.tasks.ingest_hf_daily",
        "schedule": crontab(minute=5),
        "options": {"expires": 55 * 60},
    },
    # ... and yesterday's once more after midnight (UTC), for its late additions.
    "ingest-hf-daily-yesterday": {
        "task": "ingest.tasks.ingest_hf_daily",
        "schedule": crontab(minute=35, hour=0),
        "kwargs": {"days_ago": 1},
        "options": {"expires": 23 * 60 * 60},
    },
    # Digests (issue 5): send hours are whole local hours; planning every 5 minutes
    # sends within minutes of them and re-plans deliveries whose worker died.
    "plan-digests": {
        "task": "digests.tasks.plan_digests",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    # Search by meaning: papers are embedded after each ingestion batch; this catches
    # any that were missed (a worker down, a model change) and updates the index.
    "embed-new-papers": {
        "task": "semantic.tasks.embed_new_papers",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    # "Did you mean" (search.spelling) learns the words of new titles; about 30 s at
    # a million papers.
    "refresh-search-words": {
        "task": "search.tasks.refresh_search_words",
        "schedule": crontab(minute=25, hour="*/6"),
        "options": {"expires": 5 * 60 * 60},
    },
    # Papers sent in digests that no issue can offer again (DigestSentPaper.prune).
    "prune-digest-history": {
        "task": "digests.tasks.prune_digest_history",
        "schedule": crontab(minute=45, hour=3),
        "options": {"expires": 23 * 60 * 60},
    },
    # Issue 13: thumbnails of featured papers the ingestion hooks missed (and fetches
    # that failed), and code signals, recent papers most often (codesignals.service).
    "queue-missing-thumbnails": {
        "task": "thumbnails.tasks.queue_missing_thumbnails",
        "schedule": crontab(minute="15,45"),
        "options": {"expires": 25 * 60},
    },
    "refresh-code-signals": {
        "task": "codesignals.tasks.refresh_code_signals",
        "schedule": crontab(minute=50),
        "options": {"expires": 55 * 60},
    },
}
