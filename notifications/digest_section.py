"""Notifications folded into the reader's digest (issue 14: "optional email, immediate,
or folded into the user's digest"), registered with digests.sections from
AppConfig.ready(), so digests does not import this app.

A reader who chose "Folded into my email digest" gets, in their next digest, the
notifications of the kinds they asked for by email that are still unread and were
never mailed (Notification.mailed_at), newest first, with a signed link that stops
them. The digest's claim marks them mailed in its own transaction (claimed), so each
goes out in one digest at most, and the mails at once skip them (notifications.mail).
"""

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from digests.sections import Notice, Notices, register_notices

from .mail import DIGEST, stop_token
from .models import Notification, NotificationSettings

KIND = "notifications"
HEADING = "Your notifications"
MOST = 20  # per digest; the rest wait for the next one (the inbox has them all)

_SAID = {
    Notification.Kind.REPLY: "replied to your comment on",
    Notification.Kind.MENTION: "mentioned you on",
    Notification.Kind.MODERATION: "A moderator hid your comment on",
}


def text(notification) -> str:
    paper = notification.comment.paper
    title = f"“{' '.join(paper.title.split())}”"
    said = _SAID[notification.kind]
    if notification.kind == Notification.Kind.MODERATION:
        return f"{said} {title}"
    who = notification.actor.public_name if notification.actor else "Someone"
    return f"{who} {said} {title}"


def collect(user_ids, since: dt.date) -> dict[int, Notices]:
    """{user id: Notices} for the readers among `user_ids` who take their notifications
    in the digest: unread, never mailed, since `since`, of the kinds they chose."""
    wanted = {
        prefs.user_id: set(prefs.kinds_by_email())
        for prefs in NotificationSettings.objects.filter(
            user_id__in=user_ids, email_when=NotificationSettings.When.DIGEST
        )
    }
    wanted = {user_id: kinds for user_id, kinds in wanted.items() if kinds}
    if not wanted:
        return {}
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    rows = (
        Notification.objects.unread()
        .filter(recipient_id__in=wanted, mailed_at__isnull=True, created_at__gte=start)
        .select_related("actor", "comment__paper")
        .order_by("recipient_id", "-created_at", "-pk")
    )
    found: dict[int, list[Notification]] = {}
    for notification in rows:
        mine = found.setdefault(notification.recipient_id, [])
        if notification.kind in wanted[notification.recipient_id] and len(mine) < MOST:
            mine.append(notification)
    inbox = settings.SITE_URL + reverse("notifications:inbox")
    return {
        user_id: Notices(
            items=[Notice(text(n), settings.SITE_URL + n.comment.get_absolute_url()) for n in mine],
            ids=[n.pk for n in mine],
            stop_url=settings.SITE_URL
            + reverse("notifications:stop", args=[stop_token(user_id, DIGEST)]),
            more_url=inbox,
        )
        for user_id, mine in found.items()
        if mine
    }


def claimed(notification_ids):
    """In the digest's claim: these are mailed now (and by nothing else after)."""
    Notification.objects.filter(pk__in=notification_ids, mailed_at__isnull=True).update(
        mailed_at=timezone.now()
    )


def register():
    register_notices(KIND, HEADING, collect, claimed)
