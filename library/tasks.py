"""Tasks of the library: fetching the papers an import named that the site lacks.

An import does not feature what it fetches: saving old papers to a library must not
put them on today's list. The papers come in through ingestion's own fetch by id
(ingest.tasks.enrich_from_arxiv: the arXiv API, throttled to one request every
ARXIV_REQUEST_INTERVAL seconds, up to ARXIV_PAGE_SIZE ids a request), which gives a
paper a daily list only where ingestion would anyway (new in DAILY_CATEGORIES).
"""

import logging

from celery import shared_task

from accounts.models import User
from ingest.models import Submission
from ingest.tasks import RETRYABLE, IngestTask, enrich_from_arxiv
from papers.models import Paper

from .models import Collection, SavedPaper

log = logging.getLogger(__name__)


def save_imported(user_id: int, arxiv_ids: list[str], collection_id: int | None) -> int:
    """Save the papers of `arxiv_ids` that the site now has to the user's library (and
    the collection the import was for), in the import's order; how many it found.
    Safe to repeat: saving and adding are idempotent."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:  # the account was deleted meanwhile
        return 0
    found = {p.arxiv_id: p for p in Paper.objects.visible().filter(arxiv_id__in=arxiv_ids)}
    papers = [found[arxiv_id] for arxiv_id in dict.fromkeys(arxiv_ids) if arxiv_id in found]
    SavedPaper.objects.bulk_create(
        [SavedPaper(user=user, paper=paper) for paper in papers], ignore_conflicts=True
    )
    if collection_id is not None and papers:
        collection = Collection.objects.filter(pk=collection_id, owner=user).first()
        if collection is not None:
            collection.add_papers(papers)
    return len(papers)


@shared_task(bind=True, base=IngestTask)
def fetch_imported_papers(
    self, user_id: int, arxiv_ids: list[str], collection_id: int | None = None
):
    """Fetch the papers from arXiv (not featuring them), then save them. Network errors
    and HTTP 5xx/429 retry this task with ingestion's backoff (IngestTask), except when
    tasks run in-process (no worker), where the import request itself would wait."""
    try:
        enrich_from_arxiv(arxiv_ids)
    except RETRYABLE as exc:
        if not self.request.is_eager:
            raise
        log.warning("Import of %d papers: arXiv could not be reached: %s", len(arxiv_ids), exc)
        return 0
    found = save_imported(user_id, arxiv_ids, collection_id)
    if found < len(arxiv_ids):
        log.info("Import: arXiv had %d of %d papers asked for", found, len(arxiv_ids))
    return found


def save_submitted(submission_id: int, collection_id: int | None) -> bool:
    """Once an imported paper's submission has fetched it, save it to the user's library
    (and the collection the import was for). False if the fetch failed. Safe to repeat:
    saving and adding are idempotent."""
    submission = Submission.objects.select_related("paper", "user").filter(pk=submission_id).first()
    if submission is None or submission.paper is None or submission.paper.is_hidden:
        return False
    SavedPaper.objects.save_paper(submission.user, submission.paper)
    if collection_id is not None:
        collection = Collection.objects.filter(pk=collection_id, owner=submission.user).first()
        if collection is not None:
            collection.add_paper(submission.paper)
    return True


@shared_task
def save_submitted_paper(submission_id: int, collection_id: int | None = None):
    """Imports used to fetch papers as submissions (which featured them) and chain this
    task; kept for one release so chains queued before the change still finish."""
    save_submitted(submission_id, collection_id)
