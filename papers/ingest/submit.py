"""Featuring papers on the daily list: users' submissions (/submit/) and the demo.

A paper joins a day's list once: `feature_paper` is a conditional UPDATE (WHERE
daily_date IS NULL), so two submissions of the same paper can't both win.
"""

import dataclasses
import datetime as dt
import logging

from django import forms
from django.db.models import ExpressionWrapper, F, FloatField, Value
from django.utils import timezone

from .. import ranking
from ..arxiv_ids import parse_arxiv_id
from ..models import Paper, Submission
from . import arxiv
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
    False if it is already featured."""
    day = day or timezone.localdate()
    divisor = ranking.decay(day, timezone.now())
    return (
        Paper.objects.filter(pk=paper_id, daily_date__isnull=True).update(
            daily_date=day,
            submitted_by=user,
            rank_score=ExpressionWrapper(
                F("upvote_count") / Value(divisor), output_field=FloatField()
            ),
        )
        == 1
    )


@dataclasses.dataclass
class Outcome:
    submission: Submission | None = None
    featured_paper: Paper | None = None  # refused: this paper is already featured


def submit_paper(user, arxiv_id: str) -> Outcome:
    """What /submit/ does with a valid id: refuse a featured paper, feature an indexed
    one at once, and otherwise record a pending submission for the fetch task."""
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    if paper and paper.daily_date:
        return Outcome(featured_paper=paper)
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
        # Featured by someone else a moment ago.
        return Outcome(featured_paper=Paper.objects.get(pk=paper.pk))
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
    paper = Paper.objects.get(pk=paper_id)
    if feature_paper(paper_id, submission.user):
        _finish(submission, Submission.Status.FEATURED, "Added to today's list.", paper)
    else:
        _finish(
            submission,
            Submission.Status.ALREADY_FEATURED,
            f"Already featured on {paper.daily_date:%-d %B %Y}.",
            paper,
        )


def give_up(submission: Submission, error: Exception):
    log.warning("Submission %s of %s failed: %s", submission.pk, submission.arxiv_id, error)
    _finish(
        submission,
        Submission.Status.FAILED,
        "arXiv could not be reached. Please try again later.",
    )
