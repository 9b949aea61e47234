"""The delivery log: one row per subscription and period, claimed before sending."""

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


class DigestDeliveryQuerySet(models.QuerySet):
    def reclaimable(self, now: dt.datetime):
        """Rows a sender may claim again: a claim whose worker died (older than the
        lease, never marked sent) or a temporary failure whose backoff has passed."""
        return self.filter(_reclaimable(now))

    def settled(self, now: dt.datetime):
        """Rows that mean "nothing to do for this period": sent, skipped, given up on,
        waiting for their backoff, or being sent right now."""
        return self.exclude(_reclaimable(now))


class DigestDelivery(models.Model):
    """One digest for one subscription and one period ("2025-01-14" for a daily issue,
    "2025-W03" for a weekly one), unique on the pair.

    The row is the claim: it is inserted (ON CONFLICT DO NOTHING) before any mail is
    composed, and the statement that marks it sent is a compare-and-set on
    (status=claimed, attempts=n), run while the SMTP transaction is open but before
    the server is told the message is complete. See papers.digests.sending.

    status       claimed -> sent | failed | skipped; failed -> claimed (retry)
    attempts     how many times it was claimed; a re-claim increments it, so a stale
                 owner's compare-and-set fails
    sections     what the digest holds, fixed at the first claim so a retry re-sends
                 the same papers: [{"kind", "label", "papers": [ids]}]
    paper_ids    every paper in `sections`; later digests leave these out
    """

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Claimed (sending)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (nothing new)"

    # The unique (subscription, period) and digest_history indexes lead with the
    # subscription: a single-column index would be one more write per digest.
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
    paper_ids = models.JSONField(default=list, blank=True)
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
            models.Index(fields=["subscription", "created_at"], name="digest_history"),
            models.Index(fields=["status", "claimed_at"], name="digest_by_status"),
        ]

    def __str__(self):
        return f"{self.period} to {self.subscription_id}: {self.status}"
