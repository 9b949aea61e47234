"""Ingestion's rows: users' submissions of papers, and how far an OAI-PMH harvest got.

The tables keep the names they had in papers (papers_submission,
papers_harvestcheckpoint; see migrations/0001_initial.py): the models moved, the rows
did not.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from papers.models import Paper


class SubmissionQuerySet(models.QuerySet):
    def time_out(self) -> int:
        """Fail the pending submissions older than SUBMIT_PENDING_TIMEOUT, so none can
        spin for ever on the submit page: their task was lost, or waited behind others
        too long (a task that runs later finds them no longer pending)."""
        now = timezone.now()
        cutoff = now - dt.timedelta(seconds=settings.SUBMIT_PENDING_TIMEOUT)
        return self.filter(status=Submission.Status.PENDING, created_at__lt=cutoff).update(
            status=Submission.Status.FAILED,
            message="arXiv could not be reached in time. Please try again later.",
            updated_at=now,
        )


class Submission(models.Model):
    """A signed-in user's request to feature an arXiv paper (/submit/). The paper's
    metadata is fetched by a task (ingest.tasks.fetch_submission), which records how it
    went in `status` and `message` (while pending, `message` says why it is waiting);
    the submit page polls it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Fetching from arXiv"
        FEATURED = "featured", "Added to the daily list"
        ALREADY_FEATURED = "already_featured", "Already featured"
        FAILED = "failed", "Could not be added"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    arxiv_id = models.CharField(max_length=64)
    paper = models.ForeignKey(
        Paper, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        db_table = "papers_submission"  # made in papers (migration 0003), kept in place
        indexes = [models.Index(fields=["user", "-created_at"], name="submission_by_user")]

    def __str__(self):
        return f"{self.arxiv_id} by {self.user} ({self.status})"

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING

    def fail_unqueued(self):
        """Its fetch could not be queued (the task broker is down): say so at once
        rather than spin until SUBMIT_PENDING_TIMEOUT."""
        Submission.objects.filter(pk=self.pk, status=self.Status.PENDING).update(
            status=self.Status.FAILED,
            message="Submissions are paused for a moment. Please try again in a few minutes.",
            updated_at=timezone.now(),
        )


class HarvestCheckpoint(models.Model):
    """How far an OAI-PMH harvest got, so a retried or re-run harvest of the same window
    goes on from there (oai.Harvest). A row, not a cache entry: a backfill runs for
    hours, across tasks and commands, and on the embedded default too.

    One per window (metadata format, from, until, set). `token` is the
    resumptionToken of the first page whose records are not all committed yet;
    `pages` counts the pages read before it. Removed when the harvest completes."""

    window = models.CharField(max_length=255, unique=True)
    token = models.TextField()
    pages = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "papers_harvestcheckpoint"  # made in papers (migration 0007), kept in place

    def __str__(self):
        return f"{self.window} at page {self.pages + 1}"
