"""Subscribing, confirming and joining accounts: the state changes of a
DigestSubscription that start from a person rather than from the sender."""

import calendar

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import DigestSubscription, normalise_email

from . import tokens
from .compose import absolute


def email_is_verified(user, email: str) -> bool:
    """Has `user` proved they own `email` (allauth's verification)? Without allauth
    nobody has, and account holders confirm by email like visitors."""
    if not apps.is_installed("allauth.account"):
        return False
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def _get_or_create(email: str, **defaults) -> tuple[DigestSubscription, bool]:
    """The unique constraint on email decides between two racing requests."""
    try:
        with transaction.atomic():
            return DigestSubscription.objects.get_or_create(email=email, defaults=defaults)
    except IntegrityError:
        return DigestSubscription.objects.get(email=email), False


def subscribe_visitor(email: str, frequency: str, time_zone: str = "") -> DigestSubscription:
    """A visitor asked for the digest at `email`. Sends a confirmation unless the
    address already receives it or was mailed one recently. The caller says the
    same thing in every case, so the form doesn't reveal who is subscribed."""
    email = normalise_email(email)
    sub, created = _get_or_create(email, frequency=frequency, time_zone=time_zone)
    if sub.is_receiving:
        return sub
    if not created:
        # Not receiving yet, so no one's mail changes: take the latest choice.
        sub.frequency, sub.time_zone = frequency, time_zone or sub.time_zone
        sub.save(update_fields=["frequency", "time_zone"])
    request_confirmation(sub)
    return sub


def request_confirmation(sub: DigestSubscription) -> bool:
    """Queue a confirmation mail if the throttle allows it (one per
    DIGEST_CONFIRM_RESEND_HOURS, DIGEST_CONFIRM_MAX_SENDS in all until confirmed)."""
    from ..tasks import send_digest_confirmation

    if not sub.claim_confirmation_mail():
        return False
    send_digest_confirmation.delay_on_commit(sub.pk)
    return True


def send_confirmation(sub: DigestSubscription, connection=None):
    """The double opt-in mail: one signed link, valid DIGEST_CONFIRM_MAX_AGE."""
    from django.core.mail import EmailMultiAlternatives

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


def confirm(sub: DigestSubscription, user=None) -> DigestSubscription:
    """The owner clicked the link in the confirmation mail. Signed in with that
    address, the subscription also joins their account."""
    sub.confirm()
    if user is not None and user.is_authenticated:
        attach_to_account(user, sub.email, proven=True)
        sub.refresh_from_db()
    return sub


def attach_to_account(user, email: str, proven: bool) -> DigestSubscription | None:
    """`user` owns `email` (`proven`: they verified it with allauth, or clicked the
    confirmation link mailed to it while signed in): a visitor subscription to it
    becomes theirs, and their own pending one is confirmed. An account has one
    subscription; if it already has another, the visitor one is left alone."""
    if not proven:
        return None
    with transaction.atomic():
        sub = (
            DigestSubscription.objects.select_for_update()
            .filter(email=normalise_email(email))
            .first()
        )
        if sub is None:
            return None
        if sub.user_id is None:
            if DigestSubscription.objects.filter(user=user).exists():
                return None
            sub.user = user
            sub.save(update_fields=["user"])
        if sub.user_id == user.pk and sub.is_pending:
            sub.confirm()
    return sub


def save_for_user(user, enabled: bool, frequency: str, send_hour, time_zone: str) -> str:
    """Apply the /settings/digest/ form. Returns what happened, for the message:
    "on", "off", "confirm" (a confirmation mail is on its way) or "no-email"."""
    if not enabled:
        sub = DigestSubscription.objects.filter(user=user).first()
        if sub is not None:
            sub.pause(DigestSubscription.PauseReason.UNSUBSCRIBED)
        return "off"
    if not user.email:
        return "no-email"
    email = normalise_email(user.email)
    verified = email_is_verified(user, email)
    choices = {"frequency": frequency, "send_hour": send_hour, "time_zone": time_zone}
    sub = DigestSubscription.objects.filter(user=user).first()
    if sub is None:
        attach_to_account(user, email, proven=verified)
        sub = DigestSubscription.objects.filter(user=user).first()
    if sub is None:
        sub, created = _get_or_create(email, user=user, **choices)
        if not created and sub.user_id != user.pk:
            # Someone subscribed this address as a visitor; only the inbox's owner
            # can join it to the account, by the link we mail there.
            request_confirmation(sub)
            return "confirm"
    if sub.email != email:
        _move_to(sub, email, verified)
    for name, value in choices.items():
        setattr(sub, name, value)
    sub.save(update_fields=list(choices))
    if sub.paused_at is not None:
        sub.resume()
    if sub.confirmed_at is None:
        if verified:
            sub.confirm()
        else:
            request_confirmation(sub)
            return "confirm"
    return "on"


def _move_to(sub: DigestSubscription, email: str, verified: bool):
    """The account's address changed: the digest follows it, confirmed again unless
    the new address is verified. If another subscription has that address, the
    account's stays where it is (its owner can unsubscribe the other from its mails)."""
    try:
        with transaction.atomic():
            DigestSubscription.objects.filter(pk=sub.pk).update(
                email=email, confirmed_at=sub.confirmed_at if verified else None
            )
    except IntegrityError:
        return
    sub.refresh_from_db()


def schedule(sub: DigestSubscription) -> str:
    """When the digest arrives, in words: "every weekday at 07:00 (Europe/Paris)"."""
    hour = settings.DIGEST_SEND_HOUR if sub.send_hour is None else sub.send_hour
    zone_name = sub.time_zone or settings.DIGEST_TIME_ZONE
    if sub.frequency == DigestSubscription.Frequency.DAILY:
        when = "every weekday"
    else:
        when = f"every {calendar.day_name[settings.DIGEST_WEEKLY_DAY]}"
    return f"{when} at {hour:02d}:00 ({zone_name})"
