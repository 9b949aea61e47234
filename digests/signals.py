"""Digests (issue 5): an address verified through allauth joins its digest
subscription to the account, and the account's subscription follows its address when
it changes (see digests.subscribing)."""

from allauth.account.signals import email_changed, email_confirmed
from django.dispatch import receiver

from .subscribing import attach_to_account, follow_address


@receiver(email_confirmed, dispatch_uid="digests.join_subscription")
def join_digest_subscription(sender, email_address, **kwargs):
    attach_to_account(email_address.user, email_address.email, proven=True)


@receiver(email_changed, dispatch_uid="digests.follow_address")
def follow_changed_address(sender, user, to_email_address, **kwargs):
    """The primary address changed (a new one verified with ACCOUNT_CHANGE_EMAIL, or
    another one marked primary): the digest goes there from now on."""
    follow_address(user, to_email_address.email, verified=to_email_address.verified)
