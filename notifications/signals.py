from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .models import unread_count


@receiver(user_logged_in)
def prime_unread_count(sender, request, user, **kwargs):
    """Count the unread notifications at sign-in, so pages after it read the header's
    count from the cache rather than each paying for it on a miss."""
    unread_count(user)
