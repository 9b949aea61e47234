"""Exactly once with a real worker: a `celery worker` process against Redis and the
test database, killed (SIGKILL, parent and child) in the middle of a batch and started
again. Redis re-delivers the unacknowledged batch task after the visibility timeout;
the re-run re-claims the deliveries whose claim went stale (the lease) and sends
only those."""

import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from config.celery import app as celery_app
from digests.models import DigestDelivery
from digests.periods import Period
from digests.tasks import plan_digests, send_digest_batch

from .conftest import _Inbox, free_port
from .digest_helpers import featured
from .factories import DigestSubscriptionFactory

pytestmark = pytest.mark.worker
Status = DigestDelivery.Status
# Settings insist that the visibility timeout (after which Redis re-delivers a task
# that wasn't acknowledged) exceeds the time limit plus the longest retry countdown
# (backoff + margin): all short here.
SHORT_TIMES = {
    "CELERY_VISIBILITY_TIMEOUT": "6",
    "CELERY_TASK_TIME_LIMIT": "3",
    "CELERY_TASK_SOFT_TIME_LIMIT": "2",
    "INGEST_RETRY_BACKOFF_MAX": "1",
    "DIGEST_RETRY_BACKOFF": "1",
    "DIGEST_RETRY_BACKOFF_MAX": "1",
    "LOG_LEVEL": "WARNING",
}
# The crash tests wait out the visibility timeout before each restart, and never retry:
# no backoff, so the timeout can be shorter.
VISIBILITY = 5
CRASH_ENV = SHORT_TIMES | {
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    "INGEST_RETRY_BACKOFF_MAX": "0",
    "DIGEST_RETRY_BACKOFF": "0",
    "DIGEST_RETRY_BACKOFF_MAX": "0",
    "DIGEST_CLAIM_LEASE": "2",  # a dead worker's claims: 2 s
}


def wait_for(condition, timeout=30, message="condition", worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    log = f"\nworker log:\n{worker.output()[-4000:]}" if worker else ""
    raise AssertionError(f"Timed out waiting for {message}{log}")


def statuses():
    return Counter(DigestDelivery.objects.values_list("status", flat=True))


def this_weeks_readers(count):
    week = Period.weekly(timezone.now().date())
    featured(3, day=week.last)
    return week, DigestSubscriptionFactory.create_batch(count, frequency="weekly", send_hour=0)


def _redis():
    return celery_app.connection_for_write().default_channel.client


def restart_after_a_crash(worker):
    """Start the worker again once Redis would re-deliver what the dead one held:
    a worker restores, as it starts, the messages delivered longer than the
    visibility timeout ago (kombu's unacked_index holds when)."""
    delivered = [score for _, score in _redis().zrange("unacked_index", 0, -1, withscores=True)]
    assert delivered, "the killed worker held no message"
    time.sleep(max(max(delivered) + VISIBILITY + 0.2 - time.time(), 0))
    worker.start()


def wait_until_idle(worker):
    """Nothing left that could run again: no message queued, none held unacknowledged
    (a duplicate would have to come from one of them)."""
    client = _redis()
    wait_for(
        lambda: client.llen("celery") == 0 and client.zcard("unacked_index") == 0,
        worker=worker,
        message="the worker to go idle",
    )


@pytest.mark.worker_env(**CRASH_ENV)
def test_a_worker_killed_while_the_server_replies_sends_each_digest_once(
    smtp_server, celery_worker
):
    """Killed after the third message was complete, before its 250 came back: the row
    was marked sent just before the final ".", so the re-run doesn't send it again."""
    _, readers = this_weeks_readers(8)
    smtp_server.data_delay = 0.3

    plan_digests.delay()
    wait_for(lambda: len(smtp_server.envelopes) >= 3, worker=celery_worker, message="3 mails")
    celery_worker.kill()

    assert len(smtp_server.envelopes) == 3
    assert statuses() == {Status.SENT: 3, Status.CLAIMED: 5}
    smtp_server.data_delay = 0
    restart_after_a_crash(celery_worker)
    wait_for(lambda: statuses()[Status.SENT] == 8, worker=celery_worker, message="8 digests sent")
    wait_until_idle(celery_worker)
    assert Counter(smtp_server.recipients()) == Counter({r.email: 1 for r in readers})
    attempts = Counter(DigestDelivery.objects.values_list("attempts", flat=True))
    assert attempts == {1: 3, 2: 5}  # the 5 unsent were re-claimed once


@pytest.mark.worker_env(**CRASH_ENV)
def test_a_worker_killed_before_a_message_was_complete_sends_it_after_the_restart(
    smtp_server, celery_worker
):
    """Killed while the server held the third RCPT: the row was still `claimed`, the
    server dropped the half-done transaction, and the re-run sends it."""
    week, readers = this_weeks_readers(6)
    third = sorted(readers, key=lambda r: r.pk)[2]
    smtp_server.stall[third.email] = 10

    send_digest_batch.delay([r.pk for r in readers], week.key)
    assert smtp_server.stalled.wait(30), celery_worker.output()
    celery_worker.kill()

    assert len(smtp_server.envelopes) == 2
    assert statuses() == {Status.SENT: 2, Status.CLAIMED: 4}
    restart_after_a_crash(celery_worker)
    wait_for(lambda: statuses()[Status.SENT] == 6, worker=celery_worker, message="6 digests sent")
    wait_until_idle(celery_worker)
    assert Counter(smtp_server.recipients()) == Counter({r.email: 1 for r in readers})
    assert DigestDelivery.objects.get(subscription=third).attempts == 2


@pytest.fixture
def unreachable_smtp(settings):
    """Mail settings pointing at a port nobody listens on (yet)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    return settings.EMAIL_PORT


@pytest.mark.worker_env(**SHORT_TIMES)
def test_a_batch_retries_with_backoff_until_the_server_is_back(unreachable_smtp, celery_worker):
    week, readers = this_weeks_readers(3)

    send_digest_batch.delay([r.pk for r in readers], week.key)
    wait_for(
        lambda: DigestDelivery.objects.filter(error__contains="ConnectionRefused").count() == 3,
        worker=celery_worker,
        message="the failure to be recorded",
    )
    assert statuses() == {Status.FAILED: 3}

    inbox = _Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=unreachable_smtp)
    server.start()
    try:
        wait_for(lambda: statuses()[Status.SENT] == 3, worker=celery_worker, message="the retry")
    finally:
        server.stop()
    assert Counter(inbox.recipients()) == Counter({r.email: 1 for r in readers})
    assert all(n >= 2 for n in DigestDelivery.objects.values_list("attempts", flat=True))
    assert not DigestDelivery.objects.exclude(error="").exists()
