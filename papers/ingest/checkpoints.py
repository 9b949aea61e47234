"""How far an OAI-PMH harvest got, so a retried or re-run harvest of the same window
goes on from there (papers.ingest.oai.Harvest). A row, not a cache entry: a backfill
runs for hours, across tasks and commands, and on the embedded default too."""

from django.db import models


class HarvestCheckpoint(models.Model):
    """One per window (metadata format, from, until, set). `token` is the
    resumptionToken of the first page whose records are not all committed yet;
    `pages` counts the pages read before it. Removed when the harvest completes."""

    window = models.CharField(max_length=255, unique=True)
    token = models.TextField()
    pages = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.window} at page {self.pages + 1}"
