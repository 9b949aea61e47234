"""Task names across the move of tasks into their apps (issue 11): the beat schedule names
registered tasks, and the names used before the move (papers.tasks.<name>) still run the
same tasks for one release, so messages queued before a deploy are not lost."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from digests import tasks as digest_tasks
from digests.models import DigestSentPaper
from digests.periods import offer_reach_days
from ingest import tasks as ingest_tasks

from .factories import DigestSubscriptionFactory, PaperFactory

MOVED = {
    "papers.tasks.ingest_arxiv": ingest_tasks.ingest_arxiv,
    "papers.tasks.ingest_hf_daily": ingest_tasks.ingest_hf_daily,
    "papers.tasks.enrich_from_arxiv": ingest_tasks.enrich_from_arxiv,
    "papers.tasks.ingest_oai": ingest_tasks.ingest_oai,
    "papers.tasks.fetch_submission": ingest_tasks.fetch_submission,
    "papers.tasks.plan_digests": digest_tasks.plan_digests,
    "papers.tasks.prune_digest_history": digest_tasks.prune_digest_history,
    "papers.tasks.send_digest_batch": digest_tasks.send_digest_batch,
    "papers.tasks.send_digest_confirmation": digest_tasks.send_digest_confirmation,
}


@pytest.fixture(scope="module")
def registered():
    celery_app.loader.import_default_modules()
    return celery_app.tasks


def test_every_beat_entry_names_a_registered_task_under_its_new_name(registered):
    for entry, schedule in celery_app.conf.beat_schedule.items():
        assert schedule["task"] in registered, entry
        assert not schedule["task"].startswith("papers.tasks.") or entry == "refresh-rank-scores"


@pytest.mark.parametrize("old_name", sorted(MOVED))
def test_a_moved_task_still_answers_to_its_old_name(registered, old_name):
    new = MOVED[old_name]
    assert new.name == old_name.replace("papers.tasks.", new.__module__ + ".")
    alias = registered[old_name]
    # The same function, with the same options (retries, backoff, base), under both names.
    assert function_of(alias) is function_of(new)
    assert alias.max_retries == new.max_retries
    assert getattr(alias, "autoretry_for", ()) == getattr(new, "autoretry_for", ())
    assert isinstance(alias, ingest_tasks.IngestTask) == isinstance(new, ingest_tasks.IngestTask)


def function_of(task):
    run = task.__wrapped__
    return getattr(run, "__func__", run)  # a bound task's is a method


def test_the_refresh_task_kept_its_name(registered):
    assert "papers.tasks.refresh_rank_scores" in registered


def test_a_message_queued_under_an_old_name_is_run_by_a_worker(celery_worker):
    """What a deploy meets: a message sent by the previous release, in the queue when
    the new worker starts."""
    long_ago = timezone.now() - dt.timedelta(days=offer_reach_days() + 2)
    old = PaperFactory(daily_date=long_ago.date(), published_at=long_ago)
    DigestSentPaper.objects.create(subscription=DigestSubscriptionFactory(), paper_id=old.pk)

    celery_app.send_task("papers.tasks.prune_digest_history")

    deadline = time.monotonic() + 60
    while DigestSentPaper.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not DigestSentPaper.objects.exists(), celery_worker.output()[-4000:]
