"""Digests (issue 5): an address verified through allauth joins its digest
subscription to the account (see papers.digests.subscribing.attach_to_account)."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from papers.digests.subscribing import attach_to_account


@receiver(email_confirmed, dispatch_uid="digests.join_subscription")
def join_digest_subscription(sender, email_address, **kwargs):
    attach_to_account(email_address.user, email_address.email, proven=True)
