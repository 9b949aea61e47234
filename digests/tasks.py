"""Digest tasks: the planner (periodic, config/celery.py), one task per batch, the
history's pruning and the double opt-in mail. Each calls plain functions of this app.

Until the next release they also answer to their names from before digests was an app
(papers.tasks.<name>: papers.queueing.moved_task).
"""

import smtplib

from django.conf import settings
from django.utils import timezone

from papers.queueing import moved_task

from .confirmation import send_confirmation
from .models import DigestSentPaper, DigestSubscription
from .planning import plan
from .sending import RetryLater, send_batch


@moved_task("papers.tasks")
def plan_digests():
    """Periodic (config/celery.py): fan out what is due now, one task per batch, for
    the deliveries this run queued. Batches still waiting for a worker are not
    queued again by the next run, nor by a second planner running at the same time."""
    batches = 0
    for period, subscription_ids in plan(timezone.now()):
        send_digest_batch.delay(subscription_ids, period)
        batches += 1
    return batches


@moved_task("papers.tasks")
def prune_digest_history():
    """Periodic: forget papers sent in digests that can't be offered again."""
    return DigestSentPaper.objects.prune(timezone.now())


@moved_task("papers.tasks", bind=True, max_retries=None)
def send_digest_batch(self, subscription_ids, period):
    """Send one batch of one period's digests on one SMTP connection. A lost
    connection retries the unsent part with backoff; each delivery gives up after
    DIGEST_MAX_ATTEMPTS claims (digests.sending)."""
    try:
        return send_batch(subscription_ids, period).as_dict()
    except RetryLater as exc:
        raise self.retry(
            args=[exc.subscription_ids, period], countdown=exc.countdown, exc=exc
        ) from exc


@moved_task(
    "papers.tasks",
    autoretry_for=(
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
        ConnectionError,
        TimeoutError,
    ),
    # The digest retry settings, which config/settings.py checks against the visibility
    # timeout.
    retry_backoff=settings.DIGEST_RETRY_BACKOFF,
    retry_backoff_max=settings.DIGEST_RETRY_BACKOFF_MAX,
    max_retries=5,
)
def send_digest_confirmation(subscription_id):
    """The double opt-in mail (also how an account proves it owns an address that
    already has a subscription). Queued after commit by digests.subscribing,
    which has claimed the right to send it (claim_confirmation_mail)."""
    sub = DigestSubscription.objects.filter(pk=subscription_id).first()
    if sub is None:
        return False
    send_confirmation(sub)
    return True
