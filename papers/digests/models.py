"""The delivery log: one row per subscription and period, queued by the planner and
claimed before sending; and the papers each subscription was sent."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def _reclaimable(now: dt.datetime) -> Q:
    lease = now - dt.timedelta(seconds=settings.DIGEST_CLAIM_LEASE)
    return (
        Q(status=DigestDelivery.Status.CLAIMED, claimed_at__lt=lease)
        | Q(status=DigestDelivery.Status.FAILED, next_attempt_at__lte=now)
    ) & Q(attempts__lt=settings.DIGEST_MAX_ATTEMPTS)


def _requeueable(now: dt.datetime) -> Q:
    lost = now - dt.timedelta(seconds=settings.DIGEST_QUEUE_LEASE)
    return _reclaimable(now) | Q(status=DigestDelivery.Status.QUEUED, claimed_at__lt=lost)


class DigestDeliveryQuerySet(models.QuerySet):
    def reclaimable(self, now: dt.datetime):
        """Rows a sender may claim again: a claim whose worker died (older than the
        lease, never marked sent) or a temporary failure whose backoff has passed."""
        return self.filter(_reclaimable(now))

    def claimable(self, now: dt.datetime):
        """Rows a batch may claim: queued for a batch (any batch of the period: the
        first to lock the subscription wins), or reclaimable."""
        return self.filter(Q(status=DigestDelivery.Status.QUEUED) | _reclaimable(now))

    def requeueable(self, now: dt.datetime):
        """Rows the planner queues again: reclaimable ones, and queued ones whose
        batch task never started within DIGEST_QUEUE_LEASE (the message was lost)."""
        return self.filter(_requeueable(now))

    def settled(self, now: dt.datetime):
        """Rows that mean "nothing for the planner to do for this period": sent,
        skipped, given up on, waiting for their backoff, queued for a batch task or
        being sent right now."""
        return self.exclude(_requeueable(now))


class DigestDelivery(models.Model):
    """One digest for one subscription and one period ("2025-01-14" for a daily issue,
    "2025-W03" for a weekly one), unique on the pair.

    The planner inserts it as `queued` (ON CONFLICT DO NOTHING) and enqueues a batch
    task only for the rows it inserted, so a backlog is never enqueued twice. The
    batch claims it before any mail is composed, and the statement that marks it sent
    is a compare-and-set on (status=claimed, attempts=n), run while the SMTP
    transaction is open but before the server is told the message is complete. See
    papers.digests.sending.

    status       queued -> claimed -> sent | failed | skipped; failed -> queued or
                 claimed (retry); a claim whose worker died -> queued or claimed
    attempts     how many times it was claimed (0 while first queued); a re-claim
                 increments it, so a stale owner's compare-and-set fails
    claimed_at   when it was last queued or claimed (the leases count from it)
    sections     what the digest holds, fixed at the first claim so a retry re-sends
                 the same papers: [{"kind", "label", "papers": [ids]}]. The papers
                 are also recorded in DigestSentPaper, which later digests consult.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued (batch task pending)"
        CLAIMED = "claimed", "Claimed (sending)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (nothing new)"

    # The unique (subscription, period) index leads with the subscription: a
    # single-column index would be one more write per digest.
    subscription = models.ForeignKey(
        "accounts.DigestSubscription",
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
    )
    period = models.CharField(max_length=16)
    frequency = models.CharField(max_length=8)
    status = models.CharField(max_length=8, choices=Status, default=Status.CLAIMED)
    attempts = models.PositiveSmallIntegerField(default=1)
    claimed_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="A failed delivery is retried after this; empty: never"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    sections = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DigestDeliveryQuerySet.as_manager()

    class Meta:
        app_label = "papers"
        verbose_name_plural = "digest deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period"], name="one_digest_per_subscription_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "claimed_at"], name="digest_by_status"),
        ]

    def __str__(self):
        return f"{self.period} to {self.subscription_id}: {self.status}"


class DigestSentPaperQuerySet(models.QuerySet):
    def prune(self, now: dt.datetime) -> int:
        """Forget pairs whose paper can never be offered again: featured, and first
        published, longer ago than any issue's window reaches back (selection.
        offer_reach_days). daily_date is set once and never moved (papers.ingest.
        upsert), so such a paper can't come back. Papers never featured stay: a user
        may submit one, and then it is trending."""
        from ..models import Paper
        from .selection import offer_reach_days

        cutoff = now - dt.timedelta(days=offer_reach_days())
        gone = Paper.objects.filter(daily_date__lt=cutoff.date()).filter(
            Q(published_at__isnull=True) | Q(published_at__lt=cutoff)
        )
        deleted, _ = self.filter(paper_id__in=gone.values("pk")).delete()
        return deleted


class DigestSentPaper(models.Model):
    """A paper that went (or is going) to a subscription in a digest: never again.

    Written in the claim's transaction, with the delivery row that fixes the digest's
    sections, while the subscription row is locked; the primary key makes a second
    record of the same pair fail rather than pass silently.

    Why a table of pairs rather than the deliveries' arrays of paper ids (with a
    GIN index), at 100,000 daily subscribers and ~10 papers an issue, ~1M pairs a
    weekday:

    - The question a batch asks is "which of these ~30-100 candidates has each of
      these 200 subscriptions had?". Here that is one index-only scan of the primary
      key per subscription: its own pairs, whatever everyone else was sent (PostgreSQL
      15, 6M pairs, 200 subscriptions with 60 each: 2 ms).
    - A GIN index on the papers of each delivery answers "which digests held any of
      these papers": for a trending paper, every subscriber's (~100,000 entries per
      candidate, for each of ~500 batches a day), filtered down to 200 afterwards. Read
      the other way, by subscription, it is every past digest of the batch's 200
      readers, with their arrays. An array per subscription, appended to, rewrites an
      ever longer row for each digest.
    - Size: ~85 bytes a pair (measured: heap and primary key; no id column, no index
      on paper), ~85 MB a weekday. prune() (daily, papers.tasks) drops the pairs of
      papers that can't be offered any more, which keeps about a month of trending
      papers per subscription plus the personal-section papers that were never
      featured: a few GB at that scale rather than ~20 GB more each year, and a
      bounded number of pairs for each subscription's scan above.

    `paper_id` is a plain column, not a foreign key: a foreign key needs an index on
    it for deleting a paper (~30 bytes more per pair), and a pair left by a deleted
    paper is harmless (ids aren't reused).
    """

    pk = models.CompositePrimaryKey("subscription", "paper_id")
    # Indexed by the primary key, which leads with it.
    subscription = models.ForeignKey(
        "accounts.DigestSubscription", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    paper_id = models.BigIntegerField()

    objects = DigestSentPaperQuerySet.as_manager()

    class Meta:
        app_label = "papers"

    def __str__(self):
        return f"paper {self.paper_id} to {self.subscription_id}"
