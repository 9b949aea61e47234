"""Thumbnails in a real Celery worker against Redis: the beat entry renders what is
missing, and a renderer that dies (here: a memory limit it can't start under) fails
that thumbnail alone, while the worker process goes on."""

import pytest

from thumbnails.models import Thumbnail

from .factories import PaperFactory
from .recorded_http import FIXTURES, RecordedServer
from .test_ingest_worker import send_beat_entry, wait_for

pytestmark = pytest.mark.worker

SPECTER = (FIXTURES / "pdf" / "2020.acl-main.207.pdf").read_bytes()


@pytest.fixture
def arxiv():
    with RecordedServer() as server:
        yield server


@pytest.fixture
def worker_env(arxiv, monkeypatch, tmp_path):
    monkeypatch.setenv("ARXIV_PDF_URL", f"{arxiv.url}/pdf/{{arxiv_id}}")
    monkeypatch.setenv("ARXIV_REQUEST_INTERVAL", "0")
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))


@pytest.fixture
def worker(worker_env, celery_worker):
    return celery_worker


def featured_with_pdfs(arxiv, count):
    papers = [PaperFactory() for _ in range(count)]
    for paper in papers:
        arxiv.add(
            f"/pdf/{paper.arxiv_id}", body=SPECTER, headers={"Content-Type": "application/pdf"}
        )
    return papers


def test_the_sweep_renders_the_missing_thumbnails_in_a_worker(worker, arxiv, tmp_path):
    papers = featured_with_pdfs(arxiv, 2)

    send_beat_entry("queue-missing-thumbnails")

    wait_for(lambda: Thumbnail.objects.ready().count() == 2, worker=worker)
    for thumbnail in Thumbnail.objects.all():
        assert (tmp_path / "media" / thumbnail.image.name).is_file()
    assert sorted(r.path for r in arxiv.requests) == sorted(f"/pdf/{p.arxiv_id}" for p in papers)


@pytest.mark.worker_env(THUMBNAIL_MEMORY_LIMIT_MB="12")
def test_a_dying_renderer_never_takes_the_worker_down(worker, arxiv):
    featured_with_pdfs(arxiv, 3)
    pid = worker.proc.pid

    send_beat_entry("queue-missing-thumbnails")

    wait_for(lambda: Thumbnail.objects.count() == 3, worker=worker)
    assert set(Thumbnail.objects.values_list("status", flat=True)) == {"refused"}
    assert all(
        "renderer" in reason for reason in Thumbnail.objects.values_list("reason", flat=True)
    )
    # The same worker process, still taking tasks: a new paper gets its turn too.
    assert worker.proc.poll() is None and worker.proc.pid == pid
    assert "WorkerLostError" not in worker.output()
    featured_with_pdfs(arxiv, 1)
    send_beat_entry("queue-missing-thumbnails")
    wait_for(lambda: Thumbnail.objects.count() == 4, worker=worker)
