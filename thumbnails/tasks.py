"""Thumbnail tasks. A paper that joins a daily list gets one: ingestion sends
papers.hooks.papers_featured and thumbnails.signals queues the renders (when
THUMBNAILS_AUTO is on); the periodic sweep (config/celery.py) catches any they missed
and retries failed fetches. Each paper is a task of its own, so one bad PDF is one
failed task."""

import datetime as dt
import logging

import httpx
from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ingest.records import TransientSourceError
from papers.models import Paper

from .models import Thumbnail
from .service import make_thumbnail

log = logging.getLogger(__name__)


def missing(since: dt.date | None = None, paper_ids=None):
    """Featured papers (since `since`) without a thumbnail, or whose PDF could not be
    fetched fewer than THUMBNAIL_MAX_ATTEMPTS times. Refused PDFs are not tried again."""
    papers = Paper.objects.visible().featured()
    if since:
        papers = papers.filter(daily_date__gte=since)
    if paper_ids is not None:
        papers = papers.filter(pk__in=paper_ids)
    retry = Q(
        thumbnail__status=Thumbnail.Status.FAILED,
        thumbnail__attempts__lt=settings.THUMBNAIL_MAX_ATTEMPTS,
    )
    return papers.filter(Q(thumbnail__isnull=True) | retry).order_by("-daily_date", "-id")


@shared_task(bind=True, max_retries=3)
def render_thumbnail(self, paper_id: int, force: bool = False):
    """Fetch and render one paper's thumbnail (idempotent: a ready one is kept unless
    `force`). Network errors and arXiv 5xx/429 are retried with backoff, never sooner
    than arXiv's Retry-After."""
    paper = Paper.objects.filter(pk=paper_id).first()
    if paper is None:
        return None
    if not force and Thumbnail.objects.ready().filter(pk=paper_id).exists():
        return "ready"
    try:
        return make_thumbnail(paper).status
    except (httpx.TransportError, TransientSourceError) as exc:
        backoff = get_exponential_backoff_interval(
            factor=60, retries=self.request.retries, maximum=30 * 60, full_jitter=True
        )
        countdown = max(backoff, int(getattr(exc, "retry_after", None) or 0))
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def queue_missing_thumbnails(day: str | None = None, limit: int | None = None):
    """Queue a render for each featured paper missing a thumbnail: of `day`, or (the
    periodic sweep) of the last THUMBNAIL_SWEEP_DAYS days, newest first."""
    if day:
        papers = missing().filter(daily_date=dt.date.fromisoformat(day))
    else:
        since = timezone.now().date() - dt.timedelta(days=settings.THUMBNAIL_SWEEP_DAYS)
        papers = missing(since)
    ids = list(papers.values_list("pk", flat=True)[: limit or settings.THUMBNAIL_SWEEP_LIMIT])
    for paper_id in ids:
        render_thumbnail.delay(paper_id)
    return len(ids)
