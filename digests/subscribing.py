"""Subscribing, confirming and joining accounts: the state changes of a
DigestSubscription that start from a person rather than from the sender."""

import logging

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from papers.queueing import QueueUnavailable, enqueue_on_commit

from .models import (
    DigestDelivery,
    DigestSentPaper,
    DigestSubscription,
    normalise_email,
    weekly_day_name,
)
from .tasks import send_digest_confirmation

log = logging.getLogger(__name__)


def email_is_verified(user, email: str) -> bool:
    """Has `user` proved they own `email` (allauth's verification)?"""
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
    same thing in every case, so the form doesn't reveal who is subscribed.

    An account's subscription is never changed from here (anyone can type any
    address): it keeps its frequency, time zone and pause. If it isn't receiving,
    the address gets the same confirmation mail as anyone's, which names no account;
    the link restarts the digest as the account set it."""
    email = normalise_email(email)
    sub, created = _get_or_create(email, frequency=frequency, time_zone=time_zone)
    if sub.is_receiving:
        return sub
    if not created and sub.user_id is None:
        # A visitor's, not receiving yet, so no one's mail changes: take the latest
        # choice. The filter keeps it off a row an account took meanwhile.
        time_zone = time_zone or sub.time_zone
        DigestSubscription.objects.filter(pk=sub.pk, user__isnull=True).update(
            frequency=frequency, time_zone=time_zone
        )
        sub.frequency, sub.time_zone = frequency, time_zone
    request_confirmation(sub)
    return sub


def request_confirmation(sub: DigestSubscription) -> bool:
    """Queue a confirmation mail if the throttle allows it (one per
    DIGEST_CONFIRM_RESEND_HOURS, DIGEST_CONFIRM_MAX_SENDS in all until confirmed).
    Raises QueueUnavailable if the task broker is down; the mail is then not counted
    against the throttle, so asking again later works."""
    if not sub.claim_confirmation_mail():
        return False

    def unsent():
        sub.release_confirmation_mail()
        raise QueueUnavailable

    enqueue_on_commit(send_digest_confirmation, sub.pk, on_failure=unsent)
    return True


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
        sub = follow_address(user, email, verified) or sub
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


def follow_address(user, email: str, verified: bool) -> DigestSubscription | None:
    """The account's address is now `email` (allauth's email_changed, or the settings
    form after a change made elsewhere): its subscription moves there. Confirmed
    already if `verified`; otherwise a confirmation goes to the new address and
    nothing more is sent until it is used. A bounce pause is lifted: it was the old
    address that bounced. If a visitor subscribed the new address, the two merge
    (merge_visitor_into). Returns the account's subscription, or None without one."""
    email = normalise_email(email)
    with transaction.atomic():
        # Both rows, in id order as claim() locks them: no deadlock with a batch.
        rows = list(
            DigestSubscription.objects.select_for_update()
            .filter(Q(user=user) | Q(email=email))
            .order_by("pk")
        )
        sub = next((r for r in rows if r.user_id == user.pk), None)
        if sub is None or sub.email == email:
            return sub
        other = next((r for r in rows if r.pk != sub.pk), None)
        if other is not None:
            if other.user_id is not None:
                # Another account's subscription: not ours to take.
                log.warning(
                    "Subscription %s not moved: %s belongs to another account", sub.pk, email
                )
                return sub
            merge_visitor_into(sub, other)
            verified = verified or other.is_receiving
        changes = {"email": email}
        if not verified:
            changes["confirmed_at"] = None
        if sub.pause_reason == DigestSubscription.PauseReason.BOUNCED:
            changes |= {"paused_at": None, "pause_reason": "", "pause_detail": ""}
        DigestSubscription.objects.filter(pk=sub.pk).update(**changes)
        sub.refresh_from_db()
        if not verified:
            request_confirmation(sub)
    return sub


def merge_visitor_into(sub: DigestSubscription, visitor: DigestSubscription):
    """`visitor` (no account, same inbox as `sub` will have) joins `sub`, which keeps
    its settings: the papers it was sent (so the inbox doesn't get them again) and
    its deliveries of periods `sub` has none for (so it doesn't get a second issue of
    one) move over; `sub` resumes if the visitor one was receiving. The caller holds
    both rows locked, in a transaction."""
    DigestSentPaper.objects.bulk_create(
        [
            DigestSentPaper(subscription_id=sub.pk, paper_id=paper_id)
            for paper_id in DigestSentPaper.objects.filter(subscription=visitor).values_list(
                "paper_id", flat=True
            )
        ],
        ignore_conflicts=True,
    )
    ours = DigestDelivery.objects.filter(subscription=sub).values("period")
    DigestDelivery.objects.filter(subscription=visitor).exclude(period__in=ours).update(
        subscription=sub
    )
    if visitor.is_receiving and not sub.is_receiving:
        DigestSubscription.objects.filter(pk=sub.pk).update(
            confirmed_at=visitor.confirmed_at, paused_at=None, pause_reason="", pause_detail=""
        )
    visitor.delete()


def schedule(sub: DigestSubscription) -> str:
    """When the digest arrives, in words: "every weekday at 07:00 (Europe/Paris)"."""
    hour = settings.DIGEST_SEND_HOUR if sub.send_hour is None else sub.send_hour
    zone_name = sub.time_zone or settings.DIGEST_TIME_ZONE
    if sub.frequency == DigestSubscription.Frequency.DAILY:
        when = "every weekday"
    else:
        when = f"every {weekly_day_name()}"
    return f"{when} at {hour:02d}:00 ({zone_name})"
