"""Periodic ingestion in a real Celery worker against Redis, fed by a local HTTP server
that answers with recorded arXiv and Hugging Face responses."""

import os
import subprocess
import sys
import time

import pytest

from config.celery import app as celery_app
from ingest.models import HarvestCheckpoint, Submission
from ingest.tasks import fetch_submission, retry_countdown
from papers.models import Paper

from .conftest import ROOT
from .recorded_http import RecordedServer

pytestmark = pytest.mark.worker

HF_FILE = "hf-daily-papers/daily_papers_2024-10-25.json"
PAPER_1707 = "arxiv-api/2026/id_1707.08567_s0_m100_6a1afebfc6a3.xml"
OAI_PAGE = "arxiv-oai/arxiv-format/listrecords-hep-th-2017-12-14.xml"
PAGE = "arxiv-api/2026/q_testing_s{}_m10_{}.xml"
PAGES = {
    "0": "bc5a6c384fe9",
    "10": "34e56e15aaac",
    "20": "348a237fecab",
}


def wait_for(condition, timeout=60, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    log = worker.output()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting; worker log:\n{log}")


@pytest.fixture
def sources():
    with RecordedServer() as server:
        yield server


@pytest.fixture
def worker_env(sources, monkeypatch):
    """The sources' URLs and short retry delays, in the environment the worker is
    started with (it reads its settings from there, like any deployment)."""
    monkeypatch.setenv("ARXIV_API_URL", f"{sources.url}/api/query")
    monkeypatch.setenv("HF_DAILY_PAPERS_URL", f"{sources.url}/api/daily_papers")
    monkeypatch.setenv("ARXIV_OAI_URL", f"{sources.url}/oai2")
    monkeypatch.setenv("ARXIV_REQUEST_INTERVAL", "0")
    monkeypatch.setenv("INGEST_RETRY_BACKOFF", "1")
    monkeypatch.setenv("INGEST_RETRY_BACKOFF_MAX", "2")


@pytest.fixture
def worker(worker_env, celery_worker):
    # Declared, not requested with getfixturevalue: that way pytest-django sets up
    # the test database before the worker is given its URL.
    return celery_worker


def send_beat_entry(name):
    """Send a beat schedule entry's task exactly as celery beat would."""
    entry = celery_app.conf.beat_schedule[name]
    celery_app.send_task(entry["task"], args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))


def test_the_hourly_hugging_face_entry_features_the_days_papers(worker, sources):
    sources.add("/api/daily_papers", file=HF_FILE)
    # The task then asks arXiv for the metadata of the papers it created.
    sources.add("/api/query", file="arxiv-api/2026/id_0000.0000_s0_m100_8b51d9633a68.xml")

    send_beat_entry("ingest-hf-daily")

    wait_for(lambda: Paper.objects.filter(daily_date__isnull=False).count() == 29, worker=worker)
    wait_for(lambda: sources.requests_to("/api/query"), worker=worker)
    hf_request = sources.requests_to("/api/daily_papers")[0]
    assert hf_request.params["date"] == time.strftime("%Y-%m-%d", time.gmtime())
    assert "Daily Papers" in hf_request.headers["User-Agent"]
    enrich = sources.requests_to("/api/query")[0]
    assert "2410.17243" in enrich.params["id_list"].split(",")
    paper = Paper.objects.get(arxiv_id="2410.17243")
    assert paper.title.startswith("Breaking the Memory Barrier")
    assert paper.source["hf"]["paper"]["upvotes"] == 64


def test_the_arxiv_entry_retries_with_backoff_after_a_503(worker, sources):
    # arXiv is overloaded for the first request (no Retry-After: the task's own backoff
    # applies), then answers; the query pages through two pages and an empty one.
    sources.add("/api/query", status=503, body="Service Unavailable", times=1)
    for start, digest in PAGES.items():
        sources.add("/api/query", file=PAGE.format(start, digest), when={"start": start})
    sources.add("/api/query", file="arxiv-api/2026/id_0000.0000_s0_m100_8b51d9633a68.xml")

    send_beat_entry("ingest-arxiv")

    wait_for(lambda: Paper.objects.count() == 30, worker=worker)
    requests = sources.requests_to("/api/query")
    assert requests[0].params["start"] == requests[1].params["start"] == "0"
    assert "Retry in" in worker.output()
    assert "answered HTTP 503" in worker.output()
    assert "cat:cs.LG" in requests[0].params["search_query"]
    assert "submittedDate:[" in requests[0].params["search_query"]
    # Indexed, not featured: DAILY_CATEGORIES is empty by default.
    assert not Paper.objects.filter(daily_date__isnull=False).exists()


# Not waited out in place (more than INGEST_MAX_RETRY_AFTER), so the task retries; its
# own backoff (1-2 s here) would come sooner.
@pytest.mark.worker_env(INGEST_MAX_RETRY_AFTER="1", INGEST_RETRY_BACKOFF_MAX="10")
def test_a_retry_waits_at_least_as_long_as_retry_after(worker, sources):
    sources.add("/api/query", status=503, headers={"Retry-After": "4"}, body="busy", times=1)
    sources.add("/api/query", file="arxiv-api/2026/id_1707.08567_s0_m100_6a1afebfc6a3.xml")

    celery_app.send_task("ingest.tasks.enrich_from_arxiv", args=[["1707.08567"]])

    wait_for(lambda: Paper.objects.filter(arxiv_id="1707.08567").exists(), worker=worker)
    first, second = sources.requests_to("/api/query")
    assert second.at - first.at >= 4
    assert "Retry in 4s" in worker.output()


@pytest.mark.worker_env(SUBMIT_RETRY_DELAY="1")
def test_a_submission_is_fetched_again_soon_after_a_503(worker, sources, submitter):
    sources.add("/api/query", status=503, body="busy", times=1)
    sources.add("/api/query", file=PAPER_1707)
    submission = Submission.objects.create(user=submitter, arxiv_id="1707.08567")

    fetch_submission.delay(submission.pk)

    wait_for(
        lambda: Submission.objects.get(pk=submission.pk).status == Submission.Status.FEATURED,
        worker=worker,
    )
    first, second = sources.requests_to("/api/query")
    assert 1 <= second.at - first.at < 5


@pytest.mark.worker_env(SUBMIT_RETRY_DELAY="1")
def test_a_submission_arxiv_keeps_refusing_fails_within_seconds(worker, sources, submitter):
    sources.add("/api/query", status=503, body="busy")
    submission = Submission.objects.create(user=submitter, arxiv_id="1707.08567")
    started = time.monotonic()

    fetch_submission.delay(submission.pk)

    wait_for(lambda: not Submission.objects.get(pk=submission.pk).is_pending, worker=worker)
    assert time.monotonic() - started < 15
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert submission.message == "arXiv could not be reached. Please try again later."
    assert len(sources.requests_to("/api/query")) == 3  # the first try and two more


@pytest.mark.worker_env(CELERY_TASK_SOFT_TIME_LIMIT="2")
def test_a_backfill_longer_than_the_time_limit_goes_on_in_a_new_task(worker, sources):
    token = "726959|1001"
    sources.add("/oai2", file="arxiv-oai/arxivraw/ListRecordsResponse.xml", when={"set": "math"})
    # The second page takes longer than the whole task may: the soft limit stops it.
    sources.add("/oai2", file=OAI_PAGE, when={"resumptionToken": token}, delay=5, times=1)
    sources.add("/oai2", file=OAI_PAGE, when={"resumptionToken": token})

    celery_app.send_task(
        "ingest.tasks.ingest_oai",
        kwargs={"from_date": "2014-10-01", "set_spec": "math", "metadata_prefix": "arXivRaw"},
        soft_time_limit=2,  # the message carries the sender's limits (the worker's: 2 s)
    )

    wait_for(lambda: Paper.objects.count() == 9, worker=worker)
    wait_for(lambda: not HarvestCheckpoint.objects.exists(), worker=worker)
    asked = [r.params.get("resumptionToken", "start") for r in sources.requests_to("/oai2")]
    assert asked == ["start", token, token], worker.output()  # the new task did not start over
    assert "a new task continues it" in worker.output()


def test_the_countdown_honours_retry_after_up_to_the_maximum(settings):
    settings.INGEST_RETRY_BACKOFF, settings.INGEST_RETRY_BACKOFF_MAX = 60, 1800

    assert all(retry_countdown(0) <= 60 for _ in range(50))
    assert all(retry_countdown(0, retry_after=600) == 600 for _ in range(50))
    assert retry_countdown(0, retry_after=2.2) >= 3
    assert retry_countdown(3, retry_after=86400) == 1800
    # CELERY_VISIBILITY_TIMEOUT is checked against the maximum (the test below).
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > (
        settings.CELERY_TASK_TIME_LIMIT + settings.INGEST_RETRY_BACKOFF_MAX
    )


def test_a_visibility_timeout_shorter_than_a_task_is_refused():
    env = os.environ | {"CELERY_VISIBILITY_TIMEOUT": "3600", "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT must exceed" in result.stderr


# --- A worker killed in the middle of an import --------------------------------------------
# SIGKILL (parent and pool child) while the next page is being fetched; the message,
# unacknowledged, is re-delivered by Redis after the visibility timeout to the restarted
# worker. The source lock the dead worker held expires with the time limit, which the
# visibility timeout exceeds (settings check it), so the re-run isn't locked out.
VISIBILITY = 8
CRASH_ENV = {
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    "CELERY_TASK_TIME_LIMIT": "6",
    "CELERY_TASK_SOFT_TIME_LIMIT": "5",
    "INGEST_RETRY_BACKOFF_MAX": "0",
    "DIGEST_RETRY_BACKOFF": "0",
    "DIGEST_RETRY_BACKOFF_MAX": "0",
}


def restart_after_a_crash(worker):
    """Start the worker again once Redis would re-deliver what the dead one held (a
    worker restores, as it starts, messages delivered longer than the visibility
    timeout ago; kombu's unacked_index holds when)."""
    client = celery_app.connection_for_write().default_channel.client
    delivered = [score for _, score in client.zrange("unacked_index", 0, -1, withscores=True)]
    assert delivered, "the killed worker held no message"
    time.sleep(max(max(delivered) + VISIBILITY + 0.2 - time.time(), 0))
    worker.start()


def _unacked():
    return celery_app.connection_for_write().default_channel.client.zcard("unacked_index")


def authorship_rows():
    from papers.models import Authorship

    return list(Authorship.objects.values_list("paper__arxiv_id", "author_id", "position"))


@pytest.mark.worker_env(**CRASH_ENV)
def test_a_backfill_killed_between_pages_completes_without_duplicates(worker, sources):
    token = "726959|1001"
    sources.add("/oai2", file="arxiv-oai/arxivraw/ListRecordsResponse.xml", when={"set": "math"})
    # The second page hangs the first time; the worker is killed while it waits, with
    # page one read but not committed (a batch of up to 1,000 records is one
    # transaction, and the checkpoint is saved with it).
    sources.add("/oai2", file=OAI_PAGE, when={"resumptionToken": token}, delay=30, times=1)
    sources.add("/oai2", file=OAI_PAGE, when={"resumptionToken": token})

    celery_app.send_task(
        "ingest.tasks.ingest_oai",
        kwargs={"from_date": "2014-10-01", "set_spec": "math", "metadata_prefix": "arXivRaw"},
    )
    wait_for(lambda: len(sources.requests_to("/oai2")) == 2, worker=worker)
    worker.kill()
    assert not Paper.objects.exists()  # nothing half-written
    assert not HarvestCheckpoint.objects.exists()

    restart_after_a_crash(worker)

    wait_for(lambda: Paper.objects.count() == 9, worker=worker)
    wait_for(lambda: not _unacked(), worker=worker)
    assert Paper.objects.count() == 9  # nothing lost, nothing twice
    assert not HarvestCheckpoint.objects.exists()
    asked = [r.params.get("resumptionToken", "start") for r in sources.requests_to("/oai2")]
    assert asked == ["start", token, "start", token], worker.output()
    rows = authorship_rows()
    assert len(rows) == len(set(rows)) == len({(p, pos) for p, _, pos in rows})


@pytest.mark.worker_env(**CRASH_ENV)
def test_an_arxiv_fetch_killed_mid_query_completes_without_duplicates(worker, sources):
    # Page two hangs the first time; the worker is killed while it waits, with page one
    # read but not committed (a batch of up to 1,000 records is one transaction).
    sources.add("/api/query", file=PAGE.format("10", PAGES["10"]), when={"start": "10"},
                delay=30, times=1)  # fmt: skip
    for start, digest in PAGES.items():
        sources.add("/api/query", file=PAGE.format(start, digest), when={"start": start})
    sources.add("/api/query", file="arxiv-api/2026/id_0000.0000_s0_m100_8b51d9633a68.xml")

    send_beat_entry("ingest-arxiv")
    wait_for(lambda: len(sources.requests_to("/api/query")) == 2, worker=worker)
    worker.kill()
    assert Paper.objects.count() == 0  # nothing half-written

    restart_after_a_crash(worker)

    wait_for(lambda: Paper.objects.count() == 30, worker=worker)
    wait_for(lambda: not _unacked(), worker=worker)
    assert Paper.objects.count() == 30  # nothing lost, nothing twice
    assert len(sources.requests_to("/api/query")) >= 5  # the re-run asked again from page one
    rows = authorship_rows()
    assert len(rows) == len(set(rows)) == len({(p, pos) for p, _, pos in rows})
