from celery import shared_task

from .models import Paper


@shared_task
def refresh_rank_scores():
    """Periodic (config/celery.py): let trending scores decay as papers age."""
    return Paper.objects.refresh_rank_scores()
