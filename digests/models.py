"""Digest subscriptions, followed interests and the delivery log.

A subscription belongs to an account, or to a bare address for visitors; it is keyed on
the address so one inbox gets one digest. Followed authors, categories and keywords
belong to accounts and add personal sections to their owner's digest (selection.py).
Deliveries record one digest per subscription and period; DigestSentPaper the papers
each subscription was sent.

The tables keep the names they had before the digests app existed (accounts_* and
papers_*, see migrations/0001_initial.py): the models moved, the rows did not.
"""

import calendar
import datetime as dt
import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from papers.models import Author, Paper

from .periods import offer_reach_days


@cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_time_zone(value: str):
    if value and value not in time_zone_names():
        raise ValidationError("%(value)s is not a time zone name.", params={"value": value})


def normalise_email(address: str) -> str:
    """The key subscriptions are unique on. Mailbox providers treat the local part
    case-insensitively in practice, so "Ada@Example.org" and "ada@example.org" are one
    subscriber (and one rate-limit bucket)."""
    return address.strip().lower()


class DigestSubscriptionQuerySet(models.QuerySet):
    def receiving(self):
        """Confirmed and not paused: the only subscriptions a digest is ever sent to."""
        return self.filter(confirmed_at__isnull=False, paused_at__isnull=True)


def weekly_day_name() -> str:
    """The day of the weekly issue (DIGEST_WEEKLY_DAY), e.g. "Monday"."""
    return calendar.day_name[settings.DIGEST_WEEKLY_DAY]


def frequency_choices() -> list[tuple[str, str]]:
    """The frequencies as people read them, with the weekly day as configured (the
    model's choices leave it out, so a setting doesn't change a migration)."""
    return [
        (DigestSubscription.Frequency.DAILY, "Daily (weekdays)"),
        (DigestSubscription.Frequency.WEEKLY, f"Weekly ({weekly_day_name()}s)"),
    ]


class DigestSubscription(models.Model):
    """An inbox that asked for the trending-papers digest.

    Nothing but the confirmation email is sent until `confirmed_at` is set (double
    opt-in). `paused_at` stops all mail at once: the subscriber unsubscribed, turned
    the digest off, or the address bounced permanently (`pause_reason` says which).
    Confirmation mails are throttled by `confirmation_sent_at`/`confirmations_sent`,
    so an address typed by someone else can't be mailed repeatedly.
    """

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily (weekdays)"
        WEEKLY = "weekly", "Weekly"  # on DIGEST_WEEKLY_DAY: see frequency_choices

    class PauseReason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Address bounced"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="digest_subscription",
        help_text="Empty for a visitor who subscribed with an address only",
    )
    email = models.EmailField(unique=True, help_text="Stored lower-cased (normalise_email)")
    frequency = models.CharField(max_length=8, choices=Frequency, default=Frequency.DAILY)
    send_hour = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(23)],
        help_text="Local hour to send at; empty for the site default (DIGEST_SEND_HOUR)",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/Paris; empty for DIGEST_TIME_ZONE",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmations_sent = models.PositiveSmallIntegerField(
        default=0, help_text="Confirmation mails since the address was last confirmed"
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=16, choices=PauseReason, blank=True)
    pause_detail = models.TextField(blank=True, help_text="e.g. the SMTP reply of a bounce")
    created_at = models.DateTimeField(default=timezone.now)

    objects = DigestSubscriptionQuerySet.as_manager()

    class Meta:
        db_table = "accounts_digestsubscription"
        indexes = [
            models.Index(
                fields=["time_zone", "frequency"],
                name="digest_sub_receiving",
                condition=models.Q(confirmed_at__isnull=False, paused_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.email} ({self.frequency})"

    @property
    def is_receiving(self) -> bool:
        return self.confirmed_at is not None and self.paused_at is None

    @property
    def is_pending(self) -> bool:
        return self.confirmed_at is None and self.paused_at is None

    def pause(self, reason: str, detail: str = "", now=None) -> bool:
        """Stop all mail to this subscription at once. Returns False if it was already
        paused. A single UPDATE, so it takes effect even mid-batch (the sender
        re-checks `paused_at` in the statement that marks each mail sent)."""
        now = now or timezone.now()
        updated = DigestSubscription.objects.filter(pk=self.pk, paused_at__isnull=True).update(
            paused_at=now, pause_reason=reason, pause_detail=detail[:2000]
        )
        self.paused_at, self.pause_reason, self.pause_detail = now, reason, detail[:2000]
        return bool(updated)

    def resume(self):
        self.paused_at, self.pause_reason, self.pause_detail = None, "", ""
        self.save(update_fields=["paused_at", "pause_reason", "pause_detail"])

    def undo_unsubscribe(self) -> bool:
        """Resubscribe from the link in a digest: only undoes an unsubscribe. A bounce
        pause stays (the address didn't take mail; a fresh confirmation or the
        account's settings lift it), and so does one that never was confirmed."""
        undone = DigestSubscription.objects.filter(
            pk=self.pk,
            pause_reason=self.PauseReason.UNSUBSCRIBED,
            confirmed_at__isnull=False,
        ).update(paused_at=None, pause_reason="", pause_detail="")
        self.refresh_from_db()
        return bool(undone)

    def confirm(self, now=None):
        """The owner of the address said yes: start sending (again)."""
        now = now or timezone.now()
        DigestSubscription.objects.filter(pk=self.pk).update(
            confirmed_at=Coalesce("confirmed_at", models.Value(now)),
            confirmations_sent=0,
            paused_at=None,
            pause_reason="",
            pause_detail="",
        )
        self.refresh_from_db()

    def claim_confirmation_mail(self, now=None) -> bool:
        """May a confirmation mail go out now? At most one per
        DIGEST_CONFIRM_RESEND_HOURS and DIGEST_CONFIRM_MAX_SENDS in all until the
        address is confirmed. A conditional UPDATE decides, so two requests racing
        for the same address send one mail."""
        now = now or timezone.now()
        cutoff = now - dt.timedelta(hours=settings.DIGEST_CONFIRM_RESEND_HOURS)
        claimed = (
            DigestSubscription.objects.filter(
                pk=self.pk, confirmations_sent__lt=settings.DIGEST_CONFIRM_MAX_SENDS
            )
            .filter(
                models.Q(confirmation_sent_at__isnull=True)
                | models.Q(confirmation_sent_at__lt=cutoff)
            )
            .update(
                confirmation_sent_at=now,
                confirmations_sent=models.F("confirmations_sent") + 1,
            )
        )
        return bool(claimed)

    def release_confirmation_mail(self):
        """Undo claim_confirmation_mail() for a mail that could not be queued."""
        DigestSubscription.objects.filter(pk=self.pk, confirmations_sent__gt=0).update(
            confirmation_sent_at=None, confirmations_sent=models.F("confirmations_sent") - 1
        )


class FollowedAuthor(models.Model):
    # Indexed by the unique constraint, which leads with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="followed_authors",
        db_index=False,
    )
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_followedauthor"
        ordering = ["author__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "author"], name="follow_author_once"),
        ]

    def __str__(self):
        return f"{self.user} follows {self.author}"


validate_category = RegexValidator(
    r"^[a-z][a-z\-]*(\.([A-Za-z][A-Za-z\-]*|\*))?$",
    "Use an arXiv category such as cs.CL, math.PR, hep-th, or a whole archive as cs.*",
)


class FollowedCategory(models.Model):
    """An arXiv category (cs.CL) or a whole archive (cs.*); see Paper.in_category."""

    # Indexed by the unique constraint, which leads with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="followed_categories",
        db_index=False,
    )
    category = models.CharField(max_length=32, validators=[validate_category])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_followedcategory"
        ordering = ["category"]
        verbose_name_plural = "followed categories"
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="follow_category_once"),
        ]

    def __str__(self):
        return f"{self.user} follows {self.category}"


class FollowedKeyword(models.Model):
    """A word or phrase matched against new papers' titles and abstracts."""

    # Indexed by the unique constraint, which leads with the user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="followed_keywords",
        db_index=False,
    )
    keyword = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_followedkeyword"
        ordering = ["keyword"]
        constraints = [
            models.UniqueConstraint(fields=["user", "keyword"], name="follow_keyword_once"),
        ]

    def __str__(self):
        return f"{self.user} follows “{self.keyword}”"


MAX_FOLLOWS = 100  # per kind: authors, categories, keywords


def add_interest(model, user, **fields) -> bool | None:
    """Follow something (a FollowedAuthor/Category/Keyword). Idempotent: True if
    added, False if already followed, None at MAX_FOLLOWS. The unique constraint
    settles a race between two requests."""
    if model.objects.filter(user=user, **fields).exists():
        return False
    if model.objects.filter(user=user).count() >= MAX_FOLLOWS:
        return None
    try:
        with transaction.atomic():
            model.objects.create(user=user, **fields)
    except IntegrityError:
        return False
    return True


# --- The delivery log -----------------------------------------------------------------


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
    digests.sending.

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
        DigestSubscription,
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
        db_table = "papers_digestdelivery"  # made in papers (migration 0005), kept in place
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
        offer_reach_days). daily_date is set once and never moved (ingest.
        upsert), so such a paper can't come back. Papers never featured stay: a user
        may submit one, and then it is trending."""
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
        DigestSubscription, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    paper_id = models.BigIntegerField()

    objects = DigestSentPaperQuerySet.as_manager()

    class Meta:
        db_table = "papers_digestsentpaper"  # made in papers (migration 0006), kept in place

    def __str__(self):
        return f"paper {self.paper_id} to {self.subscription_id}"
