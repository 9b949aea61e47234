"""The papers app's Celery task: trending scores decay as papers age (periodic, on the
beat schedule in config/celery.py). Ingestion's tasks are in ingest/tasks.py, the
digests' in digests/tasks.py."""

from celery import shared_task

from .models import Paper


@shared_task
def refresh_rank_scores():
    """Periodic (config/celery.py): let trending scores decay as papers age."""
    return Paper.objects.refresh_rank_scores()
