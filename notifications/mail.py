"""Notification mails at once: one per event when the reader asked for that kind by
email (and not in their digest: digest_section), at most one per reader and discussion
an hour (MailClaim), each with a signed one-click link that stops that kind of mail.
The same signed links stop the notifications folded into the digest (kind DIGEST)."""

import logging

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .models import MailClaim, Notification, NotificationSettings

log = logging.getLogger(__name__)

STOP_SALT = "notifications.stop"
# The stop link of the digest's notifications section: it stops every kind.
DIGEST = "digest"


def stop_token(user_id, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=STOP_SALT, compress=True)


def read_stop_token(token: str) -> tuple[int, str] | None:
    """(user id, kind) of a genuine link, else None. No expiry: a link in an old mail
    should still stop the mails."""
    try:
        data = signing.loads(token, salt=STOP_SALT)
        return int(data["u"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def send_notification_mail(notification_id: int) -> bool:
    """Send the mail of one notification, if its reader wants it and has not had one
    about this discussion within the hour. Returns whether a mail was sent."""
    notification = (
        Notification.objects.select_related("recipient", "actor", "comment__paper")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.read_at is not None:
        return False
    user = notification.recipient
    prefs = NotificationSettings.of(user)
    if not user.is_active or not prefs.wants_email(notification.kind):
        return False
    if prefs.email_when == NotificationSettings.When.DIGEST:
        return False  # the digest carries it (digest_section)
    address = EmailAddress.objects.filter(user=user, verified=True).order_by("-primary").first()
    if address is None:
        return False
    comment = notification.comment
    if not MailClaim.claim(user.pk, comment.paper_id):
        return False  # one about this discussion went out within the hour
    if not Notification.claim_mail(notification.pk):
        return False  # mailed already (a digest claimed it)
    stop_url = settings.SITE_URL + reverse(
        "notifications:stop", args=[stop_token(user.pk, notification.kind)]
    )
    context = {
        "notification": notification,
        "comment": comment,
        "paper": comment.paper,
        "actor": notification.actor,
        "comment_url": settings.SITE_URL + comment.get_absolute_url(),
        "inbox_url": settings.SITE_URL + reverse("notifications:inbox"),
        "stop_url": stop_url,
        "kind_label": notification.get_kind_display().lower(),
        "SITE_NAME": settings.SITE_NAME,
    }
    subject = render_to_string("notifications/emails/subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("notifications/emails/body.txt", context),
        to=[address.email],
        headers={"List-Unsubscribe": f"<{stop_url}>"},
    )
    message.attach_alternative(
        render_to_string("notifications/emails/body.html", context), "text/html"
    )
    message.send()
    return True
