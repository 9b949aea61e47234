"""The double opt-in mail, sent by the send_digest_confirmation task that
subscribing.request_confirmation queues."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from . import tokens
from .compose import absolute
from .models import DigestSubscription


def send_confirmation(sub: DigestSubscription, connection=None):
    """The double opt-in mail: one signed link, valid DIGEST_CONFIRM_MAX_AGE."""
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "subscription": sub,
        "confirm_url": absolute(reverse("digests:confirm", args=[tokens.confirm_token(sub)])),
        "valid_days": max(settings.DIGEST_CONFIRM_MAX_AGE // 86400, 1),
    }
    subject = render_to_string("emails/digest/confirm_subject.txt", context)
    text = render_to_string("emails/digest/confirm_body.txt", context)
    html = render_to_string("emails/digest/confirm_body.html", context)
    message = EmailMultiAlternatives(
        " ".join(subject.split()),
        text,
        settings.DIGEST_FROM_EMAIL,
        [sub.email],
        connection=connection,
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    message.send()
