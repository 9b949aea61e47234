"""Tasks of the library: saving a paper that an import had to fetch from arXiv first."""

from celery import shared_task

from ingest.models import Submission

from .models import Collection, SavedPaper


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
    save_submitted(submission_id, collection_id)
