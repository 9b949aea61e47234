"""Sending: claims, retries, bounces, concurrent planners, the commit point, and the
send_digests command. Against a real SMTP server (aiosmtpd) and real commits."""

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.mail import EmailMessage, get_connection
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app
from digests import smtp
from digests.compose import Mail
from digests.models import DigestDelivery, DigestSubscription
from digests.periods import Period
from digests.planning import plan
from digests.sending import RetryLater, claim, send_batch
from digests.tasks import plan_digests

from .conftest import ROOT, database_url_for_tests, free_port
from .digest_helpers import DAILY, NOON, featured, last_weekday, send_due
from .factories import DigestSubscriptionFactory

pytestmark = pytest.mark.django_db(transaction=True)
Status = DigestDelivery.Status


def test_a_rerun_sends_nothing_more(smtp_server):
    featured(2)
    subs = DigestSubscriptionFactory.create_batch(3)
    assert send_due().sent == 3
    again = send_batch([s.pk for s in subs], DAILY.key, now=NOON + dt.timedelta(minutes=5))
    assert again.sent == 0
    assert len(smtp_server.messages) == 3
    assert DigestDelivery.objects.filter(status=Status.SENT).count() == 3


def test_one_smtp_connection_serves_a_whole_batch(smtp_server, settings):
    featured(2)
    DigestSubscriptionFactory.create_batch(5)
    settings.DIGEST_BATCH_SIZE = 5
    send_due()
    assert len(smtp_server.envelopes) == 5
    assert len(set(smtp_server.peers)) == 1


def test_a_permanent_bounce_pauses_the_subscription_and_the_batch_goes_on(smtp_server):
    featured(2)
    gone = DigestSubscriptionFactory(email="gone@example.org")
    fine = DigestSubscriptionFactory(email="fine@example.org")
    smtp_server.refuse["gone@example.org"] = "550 5.1.1 No such user here"

    result = send_due()

    assert (result.sent, result.bounced) == (1, 1)
    assert smtp_server.recipients() == ["fine@example.org"]
    gone.refresh_from_db()
    assert gone.pause_reason == "bounced" and "No such user" in gone.pause_detail
    delivery = gone.deliveries.get()
    assert delivery.status == Status.FAILED and delivery.next_attempt_at is None
    assert "550" in delivery.error
    assert fine.deliveries.get().status == Status.SENT
    assert send_due(now=NOON + dt.timedelta(hours=3)).sent == 0  # paused: nothing more


def test_a_temporary_refusal_is_retried_after_a_backoff(smtp_server, settings):
    settings.DIGEST_RETRY_BACKOFF = 60
    featured(2)
    sub = DigestSubscriptionFactory(email="busy@example.org")
    smtp_server.refuse["busy@example.org"] = "451 4.3.0 Try again later"

    assert send_due().deferred == 1
    delivery = sub.deliveries.get()
    assert delivery.status == Status.FAILED and "451" in delivery.error
    retry_at = NOON + dt.timedelta(seconds=60)
    assert retry_at <= delivery.next_attempt_at < retry_at + dt.timedelta(seconds=5)
    sub.refresh_from_db()
    assert sub.is_receiving  # not a bounce

    del smtp_server.refuse["busy@example.org"]
    assert send_due(now=NOON + dt.timedelta(seconds=30)).sent == 0  # backing off
    assert send_due(now=NOON + dt.timedelta(seconds=70)).sent == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (Status.SENT, 2, "")


def test_an_unreachable_server_releases_the_batch_for_a_retry(settings):
    featured(2)
    subs = DigestSubscriptionFactory.create_batch(3)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens

    with pytest.raises(RetryLater) as raised:
        send_batch([s.pk for s in subs], DAILY.key, now=NOON)

    assert sorted(raised.value.subscription_ids) == sorted(s.pk for s in subs)
    assert raised.value.countdown == settings.DIGEST_RETRY_BACKOFF + settings.DIGEST_RETRY_MARGIN
    for delivery in DigestDelivery.objects.all():
        assert delivery.status == Status.FAILED
        assert "ConnectionRefusedError" in delivery.error
        assert delivery.next_attempt_at >= NOON + dt.timedelta(seconds=raised.value.countdown - 1)


def test_a_claim_whose_worker_died_is_sent_after_the_lease(smtp_server, settings):
    featured(2)
    sub = DigestSubscriptionFactory()
    DigestDelivery.objects.create(
        subscription=sub,
        period=DAILY.key,
        frequency="daily",
        claimed_at=NOON,
        sections=[{"kind": "trending", "label": "", "papers": []}],
    )
    # Within the lease the claim may still be in progress elsewhere: hands off.
    assert send_due(now=NOON + dt.timedelta(seconds=settings.DIGEST_CLAIM_LEASE - 1)).sent == 0
    assert send_due(now=NOON + dt.timedelta(seconds=settings.DIGEST_CLAIM_LEASE + 1)).sent == 1
    delivery = sub.deliveries.get()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 2)


def test_a_delivery_is_given_up_after_the_last_attempt(settings):
    settings.DIGEST_MAX_ATTEMPTS = 2
    featured(1)
    sub = DigestSubscriptionFactory()
    DigestDelivery.objects.create(
        subscription=sub,
        period=DAILY.key,
        frequency="daily",
        status=Status.FAILED,
        attempts=2,
        next_attempt_at=NOON,
    )
    assert send_due(now=NOON + dt.timedelta(hours=1)).as_dict() == {
        "sent": 0,
        "skipped": 0,
        "deferred": 0,
        "failed": 0,
        "bounced": 0,
        "lost": 0,
    }


def test_nothing_is_delivered_if_the_commit_point_is_refused(smtp_server):
    """A sender that lost its claim stops before the final "." and the server
    discards the half-sent message."""
    backend = get_connection()
    backend.open()
    message = EmailMessage("Hi", "Body", "noreply@localhost", ["x@example.org"])
    mail = Mail(
        sender="noreply@localhost",
        recipients=["x@example.org"],
        data=message.message().as_bytes(linesep="\r\n"),
        message=lambda: message,
    )
    assert smtp.send(backend, mail, commit=lambda: False) is False
    backend.close()  # the abandoned transaction closed the connection
    backend.open()
    assert smtp.send(backend, mail, commit=lambda: True) is True
    backend.close()
    assert smtp_server.recipients() == ["x@example.org"]  # only the second one


def test_sending_refuses_to_run_inside_a_transaction():
    with transaction.atomic(), pytest.raises(RuntimeError, match="inside a transaction"):
        send_batch([1], DAILY.key)


def test_the_planner_task_fans_out_batches(smtp_server, settings):
    settings.DIGEST_BATCH_SIZE = 2
    week = Period.weekly(timezone.now().date())
    featured(2, day=week.last)
    DigestSubscriptionFactory.create_batch(5, frequency="weekly", send_hour=0)

    assert plan_digests.delay().get() == 3  # eager here; a real worker in test_digests_worker
    assert sorted(Counter(smtp_server.recipients()).values()) == [1] * 5


def test_two_planners_at_once_send_one_mail_each(smtp_server):
    """Two `send_digests` processes started together, each seeing every subscription
    due: the claims decide, each subscriber gets one digest."""
    week = Period.weekly(timezone.now().date())
    featured(3, day=week.last)
    subs = DigestSubscriptionFactory.create_batch(24, frequency="weekly", send_hour=0)
    smtp_server.data_delay = 0.05  # long enough that the two runs overlap
    env = os.environ | {
        "DATABASE_URL": database_url_for_tests(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "DIGEST_BATCH_SIZE": "4",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", "send_digests"]
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]

    assert all(run.returncode == 0 for run in runs), outputs
    assert Counter(smtp_server.recipients()) == Counter({s.email: 1 for s in subs})
    assert all("Done in" in out for out in outputs)
    assert DigestDelivery.objects.filter(status=Status.SENT).count() == 24


def test_send_digests_dry_run_lists_what_is_due_and_sends_nothing(smtp_server):
    monday = last_weekday(0)
    featured(2, day=monday - dt.timedelta(days=3))
    DigestSubscriptionFactory.create_batch(2, frequency="weekly", send_hour=0)
    DigestSubscriptionFactory(frequency="daily", send_hour=0, time_zone="Etc/GMT+12")

    out = StringIO()
    call_command("send_digests", "--dry-run", "--period", "weekly", stdout=out)
    week = Period.weekly(timezone.now().date())
    assert f"{week.key}: 2 subscriptions due" in out.getvalue()
    assert "Dry run: 2 due, nothing sent." in out.getvalue()
    assert smtp_server.messages == [] and not DigestDelivery.objects.exists()

    out = StringIO()
    call_command("send_digests", "--period", "weekly", stdout=out, verbosity=0)
    assert "2 sent" in out.getvalue()
    assert len(smtp_server.messages) == 2
    out = StringIO()
    call_command("send_digests", "--period", "weekly", stdout=out, verbosity=0)
    assert "Nothing is due." in out.getvalue()


def test_the_admin_lists_deliveries_by_status_and_finds_subscriptions(client, smtp_server):
    from .factories import UserFactory

    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    featured(1)
    DigestSubscriptionFactory(email="found@example.org")
    send_due()
    listing = client.get("/admin/digests/digestdelivery/?status__exact=sent")
    assert listing.status_code == 200 and "found@example.org" in listing.content.decode()
    assert (
        "found@example.org"
        not in client.get("/admin/digests/digestdelivery/?status__exact=failed").content.decode()
    )
    search = client.get("/admin/digests/digestsubscription/?q=found")
    assert search.status_code == 200 and "found@example.org" in search.content.decode()
    delivery = DigestDelivery.objects.get()
    assert client.get(f"/admin/digests/digestdelivery/{delivery.pk}/change/").status_code == 200
    assert DigestSubscription.objects.count() == 1


def test_send_digests_stops_with_an_error_when_the_mail_server_is_down(settings):
    from django.core.management.base import CommandError

    week = Period.weekly(timezone.now().date())
    featured(1, day=week.last)
    DigestSubscriptionFactory.create_batch(2, frequency="weekly", send_hour=0)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    out = StringIO()
    with pytest.raises(CommandError, match="mail server is unreachable"):
        call_command("send_digests", stdout=out, verbosity=0)
    assert "0 sent, 0 skipped, 2 deferred" in out.getvalue()
    assert DigestDelivery.objects.filter(status=Status.FAILED).count() == 2


# --- Planning: a backlog is enqueued once -----------------------------------------------


def broker_backlog() -> int:
    """Messages waiting in the Redis queue."""
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue="celery", passive=True).message_count


@pytest.fixture
def no_worker():
    """Tasks go to Redis and stay there: no worker takes them."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield
    celery_app.control.purge()


def test_the_planner_enqueues_a_waiting_backlog_once(no_worker, settings):
    settings.DIGEST_BATCH_SIZE = 2
    week = Period.weekly(timezone.now().date())
    featured(2, day=week.last)
    DigestSubscriptionFactory.create_batch(5, frequency="weekly", send_hour=0)

    assert plan_digests() == 3
    assert broker_backlog() == 3
    # Five minutes later the batches still wait for a worker: nothing more goes out.
    assert plan_digests() == 0
    assert broker_backlog() == 3
    assert Counter(DigestDelivery.objects.values_list("status", "attempts")) == {
        (Status.QUEUED, 0): 5
    }


def test_the_batch_task_claims_what_the_planner_queued(smtp_server):
    featured(2)
    subs = DigestSubscriptionFactory.create_batch(3)
    [(key, ids)] = plan(NOON)
    assert sorted(ids) == sorted(s.pk for s in subs)

    assert send_batch(ids, key, now=NOON + dt.timedelta(minutes=1)).sent == 3
    assert sorted(Counter(smtp_server.recipients()).values()) == [1, 1, 1]
    assert set(DigestDelivery.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}
    assert list(plan(NOON + dt.timedelta(minutes=5))) == []
    assert send_batch(ids, key, now=NOON + dt.timedelta(minutes=6)).sent == 0


def test_a_batch_whose_task_was_lost_is_queued_again_after_the_lease(smtp_server, settings):
    featured(2)
    DigestSubscriptionFactory.create_batch(3)
    [(key, ids)] = plan(NOON)  # ... and the task never reaches a worker
    lease = dt.timedelta(seconds=settings.DIGEST_QUEUE_LEASE)

    assert list(plan(NOON + lease - dt.timedelta(seconds=1))) == []
    assert list(plan(NOON + lease + dt.timedelta(seconds=1))) == [(key, ids)]
    assert send_batch(ids, key, now=NOON + lease + dt.timedelta(seconds=2)).sent == 3
    # The lost task turns up after all: nothing left for it.
    assert send_batch(ids, key, now=NOON + lease + dt.timedelta(seconds=3)).sent == 0
    assert len(smtp_server.recipients()) == 3


def test_the_planner_takes_over_a_claim_whose_worker_died(smtp_server, settings):
    featured(2)
    sub = DigestSubscriptionFactory()
    [(key, ids)] = plan(NOON)
    claims, _ = claim(ids, Period.from_key(key), NOON)  # ... and the worker dies
    sections = claims[0].sections
    after_lease = NOON + dt.timedelta(seconds=settings.DIGEST_CLAIM_LEASE + 1)

    assert list(plan(NOON + dt.timedelta(minutes=5))) == []  # within the lease
    assert list(plan(after_lease)) == [(key, ids)]
    assert send_batch(ids, key, now=after_lease).sent == 1
    delivery = sub.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.sections) == (Status.SENT, 2, sections)


def test_a_queued_digest_for_someone_who_left_is_settled(smtp_server):
    featured(2)
    staying, leaving = DigestSubscriptionFactory.create_batch(2)
    [(key, ids)] = plan(NOON)
    leaving.pause(DigestSubscription.PauseReason.UNSUBSCRIBED)

    assert send_batch(ids, key, now=NOON).sent == 1
    assert smtp_server.recipients() == [staying.email]
    assert leaving.deliveries.get().status == Status.SKIPPED


# --- Settings that keep Celery from running a task twice ---------------------------------


def load_settings(**env) -> subprocess.CompletedProcess:
    keep = ("PATH", "HOME", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SITE_URL")
    base = {k: os.environ[k] for k in keep if k in os.environ}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=base | {"DJANGO_SETTINGS_MODULE": "config.settings"} | env,
        capture_output=True,
        text=True,
    )


def test_the_visibility_timeout_must_cover_the_longest_digest_retry():
    """A retry waits up to DIGEST_RETRY_BACKOFF_MAX plus the margin in an unacknowledged
    message, then runs up to the time limit: Redis must not re-deliver it meanwhile."""
    times = {
        "CELERY_TASK_TIME_LIMIT": "100",
        "CELERY_TASK_SOFT_TIME_LIMIT": "90",
        "INGEST_RETRY_BACKOFF_MAX": "10",
        "DIGEST_RETRY_BACKOFF_MAX": "50",
    }
    longest = 100 + 50 + django_settings.DIGEST_RETRY_MARGIN
    too_short = load_settings(**times, CELERY_VISIBILITY_TIMEOUT=str(longest))
    assert too_short.returncode != 0
    assert "ImproperlyConfigured" in too_short.stderr and "DIGEST_RETRY" in too_short.stderr
    enough = load_settings(**times, CELERY_VISIBILITY_TIMEOUT=str(longest + 1))
    assert enough.returncode == 0, enough.stderr


def test_every_periodic_task_expires_before_its_next_run():
    """So a busy worker doesn't find a pile of the same beat message and run it again
    and again."""

    def shortest_gap(schedule) -> int:
        """Minutes between two runs of a crontab (any day of the week and month)."""
        runs = sorted(h * 60 + m for h in schedule.hour for m in schedule.minute)
        return min(b - a for a, b in zip(runs, runs[1:] + [runs[0] + 24 * 60], strict=True))

    for name, entry in celery_app.conf.beat_schedule.items():
        expires = entry.get("options", {}).get("expires")
        assert expires, f"{name} has no expires"
        assert 0 < expires < shortest_gap(entry["schedule"]) * 60, name
