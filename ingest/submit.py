"""Featuring papers on the daily list: users' submissions (/submit/) and the demo.

A paper joins a day's list once: `feature_paper` is a conditional UPDATE (WHERE
daily_date IS NULL AND NOT is_hidden), so two submissions of the same paper can't both
win; the loser reads the paper after its UPDATE to say who won. A pending submission
always ends: the fetch task fails it with a message when arXiv can't be reached or
anything unexpected happens, and SubmissionQuerySet.time_out() fails one whose task
never ran.
"""

import dataclasses
import datetime as dt
import logging
import math

from django import forms
from django.conf import settings
from django.db.models import ExpressionWrapper, F, FloatField, Value
from django.utils import timezone

from papers import ranking
from papers.arxiv_ids import parse_arxiv_id
from papers.models import Paper

from . import arxiv
from .models import Submission
from .records import PaperRecord, SourceError
from .upsert import ingest

log = logging.getLogger(__name__)


class SubmitPaperForm(forms.Form):
    paper = forms.CharField(
        label="arXiv id or link",
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "placeholder": "e.g. 2406.12345",
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
        help_text="A new id (2406.12345) or an old one (hep-th/9901001), with or without "
        "a version, or a link to its abstract, PDF or HTML page.",
    )

    def clean_paper(self) -> str:
        return parse_arxiv_id(self.cleaned_data["paper"]).id


def feature_paper(paper_id: int, user, day: dt.date | None = None) -> bool:
    """Put the paper on `day`'s list (today's by default) as submitted by `user`.
    False if it is already featured, or hidden by the moderators."""
    day = day or timezone.localdate()
    divisor = ranking.decay(day, timezone.now())
    return (
        Paper.objects.filter(pk=paper_id, daily_date__isnull=True, is_hidden=False).update(
            daily_date=day,
            submitted_by=user,
            rank_score=ExpressionWrapper(
                F("upvote_count") / Value(divisor), output_field=FloatField()
            ),
        )
        == 1
    )


HIDDEN = "This paper has been hidden by the moderators and can't be submitted."
UNREACHABLE = "arXiv could not be reached. Please try again later."


@dataclasses.dataclass
class Outcome:
    submission: Submission | None = None
    featured_paper: Paper | None = None  # refused: this paper is already featured
    refused: str = ""  # refused for another reason: why


def _not_featured(paper_id: int) -> Outcome:
    """Why feature_paper() said no, read after it did: another submission may have
    featured the paper (or a moderator hidden it) a moment before."""
    paper = Paper.objects.filter(pk=paper_id).first()
    if paper is None:
        return Outcome(refused="This paper was removed from the site a moment ago.")
    if paper.is_hidden:
        return Outcome(refused=HIDDEN)
    return Outcome(featured_paper=paper)


def submit_paper(user, arxiv_id: str) -> Outcome:
    """What /submit/ does with a valid id: refuse a featured or hidden paper, feature
    an indexed one at once, and otherwise record a pending submission for the fetch
    task."""
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper and (paper.daily_date or paper.is_hidden):
        return _not_featured(paper.pk)
    if paper:
        if feature_paper(paper.pk, user):
            submission = Submission.objects.create(
                user=user,
                arxiv_id=arxiv_id,
                paper=paper,
                status=Submission.Status.FEATURED,
                message="Added to today's list.",
            )
            return Outcome(submission=submission)
        return _not_featured(paper.pk)
    return Outcome(submission=Submission.objects.create(user=user, arxiv_id=arxiv_id))


def _finish(submission: Submission, status: str, message: str, paper: Paper | None = None):
    Submission.objects.filter(pk=submission.pk).update(
        status=status, message=message, paper=paper, updated_at=timezone.now()
    )


def process_submission(submission: Submission):
    """Fetch the submitted paper from the arXiv API, store it, feature it. Network
    errors and HTTP 5xx/429 propagate (the task retries); anything else ends the
    submission with a message the submit page shows."""
    try:
        items = list(arxiv.fetch_ids([submission.arxiv_id]))
    except SourceError as exc:
        _finish(submission, Submission.Status.FAILED, f"arXiv refused the request: {exc}")
        return
    records = [i for i in items if isinstance(i, PaperRecord)]
    if not records:
        _finish(
            submission,
            Submission.Status.FAILED,
            f"arXiv has no paper {submission.arxiv_id}. Check the id and try again.",
        )
        return
    result = ingest(records)
    paper_id = result.ids.get(submission.arxiv_id)
    if paper_id is None:
        _finish(submission, Submission.Status.FAILED, "; ".join(result.errors) or "Not stored.")
        return
    if feature_paper(paper_id, submission.user):
        paper = Paper.objects.get(pk=paper_id)
        _finish(submission, Submission.Status.FEATURED, "Added to today's list.", paper)
        return
    outcome = _not_featured(paper_id)
    if outcome.refused:
        _finish(submission, Submission.Status.FAILED, outcome.refused, outcome.featured_paper)
        return
    paper = outcome.featured_paper
    _finish(
        submission,
        Submission.Status.ALREADY_FEATURED,
        f"Already featured on {paper.daily_date:%-d %B %Y}.",
        paper,
    )


def next_try(submission: Submission, retries: int, exc: Exception) -> int | None:
    """Seconds before fetching again after a network error or HTTP 5xx/429, or None to
    give up now: the user is watching the page, so a couple of short waits at most, and
    only while they fit well within SUBMIT_PENDING_TIMEOUT."""
    if retries >= settings.SUBMIT_FETCH_RETRIES:
        return None
    retry_after = getattr(exc, "retry_after", None) or 0
    countdown = max(settings.SUBMIT_RETRY_DELAY * 2**retries, math.ceil(retry_after))
    deadline = submission.created_at + dt.timedelta(seconds=settings.SUBMIT_PENDING_TIMEOUT)
    if timezone.now() + dt.timedelta(seconds=2 * countdown) > deadline:
        return None
    return countdown


def wait_for_retry(submission: Submission, countdown: int):
    """Say on the submit page why it is still pending."""
    Submission.objects.filter(pk=submission.pk, status=Submission.Status.PENDING).update(
        message=f"arXiv did not answer; trying again in {countdown} seconds.",
        updated_at=timezone.now(),
    )


def give_up(submission: Submission, error: Exception):
    log.warning("Submission %s of %s failed: %s", submission.pk, submission.arxiv_id, error)
    _finish(submission, Submission.Status.FAILED, UNREACHABLE)


def fail_unexpectedly(submission: Submission, error: Exception):
    """A bug or a broken database, not the user's doing: logged with its traceback,
    and the submission ends instead of spinning on the page."""
    log.error(
        "Submission %s of %s failed unexpectedly",
        submission.pk,
        submission.arxiv_id,
        exc_info=error,
    )
    _finish(
        submission,
        Submission.Status.FAILED,
        "Something went wrong on our side while adding it. Please try again later.",
    )
