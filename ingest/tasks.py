"""Ingestion's Celery tasks. Each takes plain arguments (ids, dates as ISO strings),
re-fetches what it needs and calls a plain function that a management command and a
test can call too. The periodic ones are on the beat schedule in config/celery.py.

Ingestion tasks retry on network errors and on HTTP 5xx/429 (TransientSourceError)
with exponential backoff, and no sooner than a Retry-After; any other failure (a bad
response, an error feed) is logged and not retried, since asking again would get the
same answer.

Until the next release they also answer to their names from before ingest was an app
(papers.tasks.<name>: papers.queueing.moved_task).
"""

import datetime as dt
import logging
import math

import httpx
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.utils import timezone

from papers.queueing import moved_task

from . import arxiv, hf, oai
from .locks import source_lock
from .models import Submission
from .records import IngestResult, TransientSourceError
from .submit import fail_unexpectedly, give_up, next_try, process_submission, wait_for_retry
from .upsert import ingest

log = logging.getLogger(__name__)

# Worth retrying: the network failed (timeouts included) or the source is overloaded.
RETRYABLE = (httpx.TransportError, TransientSourceError)


def retry_countdown(retries: int, retry_after: float | None = None) -> int:
    """Seconds before the next try: exponential backoff with full jitter, but never
    sooner than the source's Retry-After, and never longer than INGEST_RETRY_BACKOFF_MAX
    (settings check the visibility timeout against that)."""
    backoff = get_exponential_backoff_interval(
        factor=settings.INGEST_RETRY_BACKOFF,
        retries=retries,
        maximum=settings.INGEST_RETRY_BACKOFF_MAX,
        full_jitter=True,
    )
    waited = max(backoff, math.ceil(retry_after or 0))
    return min(waited, settings.INGEST_RETRY_BACKOFF_MAX)


class IngestTask(DjangoTask):
    """Retries on RETRYABLE errors, up to INGEST_MAX_RETRIES times, after
    retry_countdown(): Celery's autoretry can't see a 503's Retry-After and would ask
    again too soon."""

    max_retries = settings.INGEST_MAX_RETRIES

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except RETRYABLE as exc:
            countdown = retry_countdown(self.request.retries, getattr(exc, "retry_after", None))
            raise self.retry(exc=exc, countdown=countdown) from exc


def _report(source: str, result: IngestResult) -> dict:
    log.info("%s: %s", source, result.summary())
    for error in result.errors[:20]:
        log.warning("%s: %s", source, error)
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "failed": result.failed,
    }


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@moved_task("papers.tasks", base=IngestTask)
def ingest_arxiv(categories: list[str] | None = None, since: str | None = None):
    """Periodic: new papers in settings.ARXIV_CATEGORIES from the arXiv API."""
    categories = sorted(categories or settings.ARXIV_CATEGORIES)
    since_day = (
        _day(since) or (timezone.now() - dt.timedelta(days=settings.ARXIV_LOOKBACK_DAYS)).date()
    )
    window = f"arxiv:{','.join(categories)}:{since_day}:{timezone.now().date()}"
    with source_lock(window) as mine:
        if not mine:
            log.info("arXiv API: %s is being fetched by another worker", window)
            return None
        result = ingest(arxiv.fetch_new(categories, since_day), keep_ids=False)
    return _report("arXiv API", result)


@moved_task("papers.tasks", base=IngestTask)
def ingest_hf_daily(day: str | None = None, days_ago: int = 0):
    """Periodic: the Hugging Face daily list (today's, or `days_ago` days back), then
    arXiv's own metadata for the papers it brought in."""
    featured = _day(day) or timezone.now().date() - dt.timedelta(days=days_ago)
    with source_lock(f"hf:{featured}") as mine:
        if not mine:
            log.info("Hugging Face: %s is being fetched by another worker", featured)
            return None
        result = ingest(hf.fetch(featured))
    if result.created_ids:
        enrich_from_arxiv.delay_on_commit(result.created_ids)
    return _report(f"Hugging Face {featured}", result)


@moved_task("papers.tasks", base=IngestTask)
def enrich_from_arxiv(arxiv_ids: list[str]):
    """arXiv's metadata (categories, comments, DOI, versions) for papers that came from
    Hugging Face, which doesn't carry them."""
    return _report("arXiv API (by id)", ingest(arxiv.fetch_ids(arxiv_ids)))


@moved_task("papers.tasks", base=IngestTask)
def ingest_oai(
    from_date: str | None = None,
    set_spec: str | None = None,
    metadata_prefix: str = "arXiv",
    until: str | None = None,
):
    """Backfill through OAI-PMH (not scheduled: sent by hand). It goes on from the
    window's checkpoint (oai.Harvest): a retry continues where the failed try stopped,
    and a backfill longer than the soft time limit queues its own continuation."""
    kwargs = {
        "from_date": from_date,
        "set_spec": set_spec,
        "metadata_prefix": metadata_prefix,
        "until": until,
    }
    window = "oai:" + oai.window_key(metadata_prefix, _day(from_date), _day(until), set_spec)
    carry_on = False
    with source_lock(window) as mine:
        if not mine:
            log.info("OAI-PMH: %s is being harvested by another worker", window)
            return None
        try:
            result, _ = oai.ingest_window(
                metadata_prefix=metadata_prefix,
                from_date=_day(from_date),
                until=_day(until),
                set_spec=set_spec,
            )
        except SoftTimeLimitExceeded as exc:
            # What was read is committed and checkpointed (ingest flushes on the way out).
            result = getattr(exc, "partial_result", None) or IngestResult()
            carry_on = True
    if carry_on:
        # Queued once the lock is released, or the continuation would find it taken.
        log.info("OAI-PMH: %s reached the time limit; a new task continues it", window)
        ingest_oai.apply_async(kwargs=kwargs, countdown=1)
    return _report("arXiv OAI-PMH", result)


@moved_task("papers.tasks", bind=True, max_retries=None)
def fetch_submission(self, submission_id: int):
    """A user's submission (/submit/): fetch the paper from arXiv and feature it. The
    user is watching the page, so it retries a network error or HTTP 5xx/429 only a
    couple of times and soon (submit.next_try), and not at all when tasks run
    in-process (no worker: the request itself is waiting). Whatever happens, the
    submission ends with a message the page shows, never pending for ever."""
    submission = (
        Submission.objects.select_related("user")
        .filter(pk=submission_id, status=Submission.Status.PENDING)
        .first()
    )
    if submission is None:
        return
    try:
        process_submission(submission)
    except RETRYABLE as exc:
        countdown = (
            None if self.request.is_eager else next_try(submission, self.request.retries, exc)
        )
        if countdown is None:
            give_up(submission, exc)
            return
        wait_for_retry(submission, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except Exception as exc:
        fail_unexpectedly(submission, exc)
