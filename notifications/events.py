"""The events that notify someone (see notifications.models): called by the discussion
in the transaction that records the event."""

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction

from papers.queueing import enqueue_on_commit

from .models import Notification, unread_cache_key
from .tasks import mail_notifications


def _create(rows: list[Notification]):
    """Insert each, skipping events already notified (the unique constraint decides,
    even between two requests at once); after commit, forget the cached unread counts
    and queue the mails of the new ones."""
    created = []
    for row in rows:
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            continue
        created.append(row)
    if not created:
        return

    def after_commit():
        cache.delete_many([unread_cache_key(row.recipient_id) for row in created])

    transaction.on_commit(after_commit)
    # A broker out of reach loses the mails (logged), never the comment.
    enqueue_on_commit(mail_notifications, [row.pk for row in created])


def for_new_comment(comment, mentions: list[str], replies=True):
    """A reply tells the parent's author; a mention tells the mentioned user (once: a
    mention in a reply to them is the reply). Nobody is told of their own words."""
    rows, told = [], {comment.author_id}
    Kind = Notification.Kind
    if replies and comment.parent_id:
        parent_author = comment.parent.author_id
        if parent_author not in told and comment.parent.deleted_at is None:
            rows.append(Notification(recipient_id=parent_author, kind=Kind.REPLY))
            told.add(parent_author)
    if mentions:
        users = get_user_model().objects.filter(username__in=mentions, is_active=True)
        for pk in users.values_list("pk", flat=True):
            if pk not in told:
                rows.append(Notification(recipient_id=pk, kind=Kind.MENTION))
                told.add(pk)
    for row in rows:
        row.comment, row.actor_id = comment, comment.author_id
    _create(rows)


def for_moderation(comment):
    """A moderator hid `comment`: its author is told."""
    kind = Notification.Kind.MODERATION
    _create([Notification(recipient_id=comment.author_id, kind=kind, comment=comment)])
