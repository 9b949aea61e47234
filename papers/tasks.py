import smtplib

from celery import shared_task
from django.utils import timezone

from accounts.models import DigestSubscription

from .digests.sending import RetryLater, due_batches, send_batch
from .digests.subscribing import send_confirmation
from .models import Paper


@shared_task
def refresh_rank_scores():
    """Periodic (config/celery.py): let trending scores decay as papers age."""
    return Paper.objects.refresh_rank_scores()


# --- Digests (issue 5) ------------------------------------------------------------------


@shared_task
def plan_digests():
    """Periodic (config/celery.py): fan out what is due now, one task per batch.
    Running twice (two beats, an overlap) only queues batches that claim nothing."""
    batches = 0
    for period, subscription_ids in due_batches(timezone.now()):
        send_digest_batch.delay(subscription_ids, period)
        batches += 1
    return batches


@shared_task(bind=True, max_retries=None)
def send_digest_batch(self, subscription_ids, period):
    """Send one batch of one period's digests on one SMTP connection. A lost
    connection retries the unsent part with backoff; each delivery gives up after
    DIGEST_MAX_ATTEMPTS claims (papers.digests.sending)."""
    try:
        return send_batch(subscription_ids, period).as_dict()
    except RetryLater as exc:
        raise self.retry(
            args=[exc.subscription_ids, period], countdown=exc.countdown, exc=exc
        ) from exc


@shared_task(
    autoretry_for=(
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
        ConnectionError,
        TimeoutError,
    ),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=5,
)
def send_digest_confirmation(subscription_id):
    """The double opt-in mail (also how an account proves it owns an address that
    already has a subscription). Queued after commit by papers.digests.subscribing,
    which has claimed the right to send it (claim_confirmation_mail)."""
    sub = DigestSubscription.objects.filter(pk=subscription_id).first()
    if sub is None:
        return False
    send_confirmation(sub)
    return True
