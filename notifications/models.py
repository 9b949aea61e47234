"""The in-site inbox (/notifications/) and its optional emails (issue 14).

A Notification is one event for one reader: a reply to their comment, a mention of
them, a moderator hiding their comment. The database keeps it to one per reader, kind
and comment (`one_notification_per_event`), so a retried request or task, an edit
that keeps a mention, or two requests at once can't tell anyone twice.

Email is opt-in per kind (NotificationSettings), sent at once or folded into the
reader's digest (digest_section). Either way a notification is mailed at most once: its
`mailed_at` is claimed (a conditional UPDATE) before a mail at once, and set in the
transaction that claims the digest carrying it. Mails at once are also claimed per
discussion (MailClaim): at most one per reader and paper's discussion an hour.
"""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.utils import timezone

UNREAD_CACHE_SECONDS = 24 * 60 * 60


def unread_cache_key(user_id) -> str:
    return f"notifications:unread:{user_id}"


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)

    def for_inbox(self):
        return self.select_related("actor", "comment", "comment__paper").order_by(
            "-created_at", "-pk"
        )


class Notification(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", "Replies to my comments"
        MENTION = "mention", "Mentions of me"
        MODERATION = "moderation", "Moderation of my comments"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    comment = models.ForeignKey(
        "discussion.Comment", on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # When it went out by email, at once or in a digest: never a second time.
    mailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "comment"], name="one_notification_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(
                fields=["recipient"],
                name="notification_unread",
                condition=models.Q(read_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.kind} for {self.recipient_id} on comment {self.comment_id}"

    @classmethod
    def claim_mail(cls, pk) -> bool:
        """Take the right to mail this notification (once: a conditional UPDATE)."""
        return bool(
            cls.objects.filter(pk=pk, mailed_at__isnull=True).update(mailed_at=timezone.now())
        )

    @classmethod
    def mark_all_read(cls, user) -> int:
        count = cls.objects.filter(recipient=user).unread().update(read_at=timezone.now())
        transaction.on_commit(lambda: cache.delete(unread_cache_key(user.pk)))
        return count


def unread_count(user) -> int:
    """The header's count: cached until a notification arrives or is read."""
    key = unread_cache_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(recipient=user).unread().count()
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


class NotificationSettings(models.Model):
    """Which notifications a user also gets by email (none until they choose), and
    whether at once or folded into their digest."""

    class When(models.TextChoices):
        AT_ONCE = "at_once", "At once (at most one mail an hour per discussion)"
        DIGEST = "digest", "Folded into my email digest"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_reply = models.BooleanField(default=False)
    email_mention = models.BooleanField(default=False)
    email_moderation = models.BooleanField(default=False)
    email_when = models.CharField(max_length=10, choices=When.choices, default=When.AT_ONCE)

    def __str__(self):
        return f"notification settings of {self.user_id}"

    def wants_email(self, kind: str) -> bool:
        return getattr(self, f"email_{kind}", False)

    def kinds_by_email(self) -> list[str]:
        return [kind for kind in Notification.Kind.values if self.wants_email(kind)]

    @classmethod
    def of(cls, user) -> "NotificationSettings":
        return cls.objects.filter(user=user).first() or cls(user=user)


class MailClaim(models.Model):
    """The last notification mail a user got about a paper's discussion. A mail is sent
    only after claiming this row in one statement (claim): inserted, or moved forward
    if the last one is over MAIL_INTERVAL old. Two workers can't both claim it."""

    MAIL_INTERVAL = dt.timedelta(hours=1)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="one_mail_claim_per_thread")
        ]

    def __str__(self):
        return f"mail to {self.user_id} about {self.paper_id} at {self.sent_at}"

    @classmethod
    def claim(cls, user_id, paper_id, now=None) -> bool:
        now = now or timezone.now()
        table = cls._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} (user_id, paper_id, sent_at) VALUES (%s, %s, %s)
                ON CONFLICT (user_id, paper_id) DO UPDATE SET sent_at = EXCLUDED.sent_at
                WHERE {table}.sent_at <= %s
                RETURNING id
                """,
                [user_id, paper_id, now, now - cls.MAIL_INTERVAL],
            )
            return cursor.fetchone() is not None
