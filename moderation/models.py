"""Moderation in the open (issue 14): every moderator action is a ModerationAction row,
listed publicly at /moderation/ (and its Atom feed), as Lobsters' moderation log.

The actions themselves are the functions below: each changes the state and logs itself
in one transaction, so the log can't miss an action or show one that didn't happen.
"""

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from discussion.models import Comment, Flag, LockedThread, Suspension, recount_papers
from notifications import events
from papers.models import Paper


class ModerationAction(models.Model):
    class Kind(models.TextChoices):
        HIDE_COMMENT = "hide_comment", "Hid a comment"
        UNHIDE_COMMENT = "unhide_comment", "Showed a comment again"
        DISMISS_FLAGS = "dismiss_flags", "Dismissed reports on a comment"
        LOCK_THREAD = "lock_thread", "Locked a discussion"
        UNLOCK_THREAD = "unlock_thread", "Unlocked a discussion"
        SUSPEND_USER = "suspend_user", "Suspended a user"
        UNSUSPEND_USER = "unsuspend_user", "Lifted a suspension"
        HIDE_PAPER = "hide_paper", "Hid a paper"
        UNHIDE_PAPER = "unhide_paper", "Showed a paper again"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # SET_NULL: the log outlives the accounts and rows it names.
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paper = models.ForeignKey(
        Paper, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_received",
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    @classmethod
    def log_papers(cls, moderator, papers, hidden: bool):
        """The admin's hide/unhide action on `papers` (those it changed), through the
        papers_hidden signal (moderation.signals)."""
        kind = cls.Kind.HIDE_PAPER if hidden else cls.Kind.UNHIDE_PAPER
        cls.objects.bulk_create([cls(kind=kind, moderator=moderator, paper=p) for p in papers])


# --- The actions -------------------------------------------------------------------


def _log(kind, moderator, reason="", **targets):
    return ModerationAction.objects.create(kind=kind, moderator=moderator, reason=reason, **targets)


def hide_comment(moderator, comment, reason: str) -> bool:
    with transaction.atomic():
        now = timezone.now()
        changed = Comment.objects.filter(pk=comment.pk, hidden_at__isnull=True).update(
            hidden_at=now, hidden_reason=reason
        )
        if not changed:
            return False
        Flag.objects.filter(comment=comment, resolved_at__isnull=True).update(resolved_at=now)
        comment.refresh_from_db()
        comment._recount_paper()
        _log(
            ModerationAction.Kind.HIDE_COMMENT,
            moderator,
            reason,
            comment=comment,
            paper_id=comment.paper_id,
            target_user_id=comment.author_id,
        )
        events.for_moderation(comment)
    return True


def unhide_comment(moderator, comment, reason: str = "") -> bool:
    with transaction.atomic():
        changed = Comment.objects.filter(pk=comment.pk, hidden_at__isnull=False).update(
            hidden_at=None, hidden_reason=""
        )
        if not changed:
            return False
        comment.refresh_from_db()
        comment._recount_paper()
        _log(
            ModerationAction.Kind.UNHIDE_COMMENT,
            moderator,
            reason,
            comment=comment,
            paper_id=comment.paper_id,
            target_user_id=comment.author_id,
        )
    return True


def dismiss_flags(moderator, comment, reason: str = "") -> int:
    with transaction.atomic():
        count = Flag.objects.filter(comment=comment, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
        if count:
            _log(
                ModerationAction.Kind.DISMISS_FLAGS,
                moderator,
                reason,
                comment=comment,
                paper_id=comment.paper_id,
                target_user_id=comment.author_id,
            )
    return count


def lock_thread(moderator, paper, reason: str) -> bool:
    with transaction.atomic():
        _, created = LockedThread.objects.get_or_create(paper=paper, defaults={"reason": reason})
        if created:
            _log(ModerationAction.Kind.LOCK_THREAD, moderator, reason, paper=paper)
    return created


def unlock_thread(moderator, paper, reason: str = "") -> bool:
    with transaction.atomic():
        deleted, _ = LockedThread.objects.filter(paper=paper).delete()
        if deleted:
            _log(ModerationAction.Kind.UNLOCK_THREAD, moderator, reason, paper=paper)
    return bool(deleted)


def suspend_user(moderator, user, reason: str) -> bool:
    with transaction.atomic():
        _, created = Suspension.objects.get_or_create(user=user, defaults={"reason": reason})
        if created:
            recount_papers(user.comments.values_list("paper_id", flat=True))
            _log(ModerationAction.Kind.SUSPEND_USER, moderator, reason, target_user=user)
    return created


def unsuspend_user(moderator, user, reason: str = "") -> bool:
    with transaction.atomic():
        deleted, _ = Suspension.objects.filter(user=user).delete()
        if deleted:
            recount_papers(user.comments.values_list("paper_id", flat=True))
            _log(ModerationAction.Kind.UNSUSPEND_USER, moderator, reason, target_user=user)
    return bool(deleted)
