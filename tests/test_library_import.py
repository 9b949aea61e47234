"""Importing into a library: arXiv ids and links, BibTeX files, papers the site lacks
fetched from arXiv (a recorded response) without featuring them, per-line results, and
the caps: nothing is half imported."""

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.celery import app as celery_app
from ingest.models import Submission
from library import imports
from library.models import Collection, SavedPaper
from papers.models import Paper

from .conftest import WorkerProcess, database_url_for_tests
from .factories import PaperFactory, UserFactory
from .recorded_http import RecordedServer
from .test_submit import PAPER_1707

URL = "/library/import/"


@pytest.fixture
def reader(db):
    return UserFactory(username="reader")


@pytest.fixture
def arxiv(db, settings):
    """The arXiv API, answering with recorded responses."""
    with RecordedServer() as server:
        settings.ARXIV_API_URL = f"{server.url}/api/query"
        settings.ARXIV_REQUEST_INTERVAL = 0
        yield server


@pytest.fixture
def known(db):
    return [
        PaperFactory(arxiv_id="2406.12345", title="Known One"),
        PaperFactory(arxiv_id="hep-th/9901001", title="Known Old Style"),
    ]


def saved_ids(user):
    return set(SavedPaper.objects.filter(user=user).values_list("paper__arxiv_id", flat=True))


def test_ids_and_links_of_papers_we_have_are_saved_with_a_result_per_line(client, reader, known):
    client.force_login(reader)
    text = "2406.12345v2\nhttps://arxiv.org/abs/hep-th/9901001\n\nnot-an-id\n2406.12345"
    response = client.post(URL, {"ids": text})
    assert response.status_code == 200
    html = response.content.decode()
    assert saved_ids(reader) == {"2406.12345", "hep-th/9901001"}
    assert "Known One" in html and "Not an arXiv id or link." in html
    assert "Listed twice: imported once." in html
    again = client.post(URL, {"ids": "2406.12345"}).content.decode()
    assert "Already in your library." in again


def test_an_import_can_fill_a_collection(client, reader, known):
    collection = Collection.objects.create_named(reader, "Imported")
    client.force_login(reader)
    client.post(URL, {"ids": "hep-th/9901001 2406.12345", "collection": collection.pk})
    titles = list(collection.items.order_by("position").values_list("paper__title", flat=True))
    assert titles == ["Known Old Style", "Known One"]
    # Not someone else's collection.
    theirs = Collection.objects.create_named(UserFactory(username="other"), "Theirs")
    response = client.post(URL, {"ids": "2406.12345", "collection": theirs.pk})
    assert response.status_code == 400 and not theirs.items.exists()


BIBTEX = r"""
@string{ml = "Machine Learning"}
@comment{exported by a reference manager}
@article{vaswani2017,
  title = {Attention {Is} All You Need},
  author = {Vaswani, Ashish},
  journal = ml,
  eprint = {2406.12345},
  archivePrefix = {arXiv},
}
@misc{old,
  title = "An old {\"o} paper",
  url = {https://arxiv.org/abs/hep-th/9901001v2},
}
@book{knuth, title = {The Art of Computer Programming}, year = 1968}
@misc{doi, doi = {10.48550/arXiv.2406.12345}}
"""


def test_a_bibtex_file_is_matched_by_arxiv_ids(client, reader, known):
    client.force_login(reader)
    upload = SimpleUploadedFile("refs.bib", BIBTEX.encode(), content_type="text/x-bibtex")
    html = client.post(URL, {"bibtex": upload}).content.decode()
    assert saved_ids(reader) == {"2406.12345", "hep-th/9901001"}
    assert "knuth" in html and "No arXiv id in this entry." in html
    assert "Listed twice" in html  # the DOI entry names the same paper


def todays_list():
    return set(Paper.objects.filter(daily_date=timezone.localdate()).values_list("pk", flat=True))


def test_papers_we_lack_are_fetched_then_saved_without_joining_todays_list(
    client, reader, known, arxiv, django_capture_on_commit_callbacks
):
    arxiv.add("/api/query", file=PAPER_1707, when={"id_list": "1707.08567"})
    collection = Collection.objects.create_named(reader, "Fresh")
    before = todays_list()
    assert before  # the known papers are on it
    client.force_login(reader)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            URL, {"ids": "arXiv:1707.08567\n2406.12345", "collection": collection.pk}
        )
    assert len(callbacks) == 1
    assert "Fetching from arXiv" in response.content.decode()
    fetched = Paper.objects.get(arxiv_id="1707.08567")
    assert fetched.title.startswith("Proceedings of Workshop AEW10")
    # In the library and the collection, but not featured: no submission, no day.
    assert saved_ids(reader) == {"2406.12345", "1707.08567"}
    titles = collection.items.order_by("position").values_list("paper__arxiv_id", flat=True)
    assert list(titles) == ["2406.12345", "1707.08567"]
    assert fetched.daily_date is None and fetched.submitted_by is None
    assert not Submission.objects.exists()
    assert todays_list() == before
    home = client.get("/").content.decode()
    assert "Known One" in home and "Proceedings of Workshop AEW10" not in home


def test_many_papers_we_lack_are_fetched_in_one_request(
    client, reader, arxiv, django_capture_on_commit_callbacks, settings
):
    # The recording answers for 1707.08567 only: arXiv has no paper by the other id.
    arxiv.add("/api/query", file=PAPER_1707, when={"id_list": "1707.08567,2501.00001"})
    client.force_login(reader)
    with django_capture_on_commit_callbacks(execute=True):
        html = client.post(URL, {"ids": "1707.08567 2501.00001"}).content.decode()
    assert html.count("Fetching from arXiv") == 2
    assert len(arxiv.requests_to("/api/query")) == 1
    assert saved_ids(reader) == {"1707.08567"}
    assert not todays_list()


def test_without_a_worker_an_unreachable_arxiv_leaves_the_import_done(
    client, reader, known, arxiv, django_capture_on_commit_callbacks
):
    # Tasks run in-process (the embedded default): the import request is waiting, so
    # the fetch is not retried, and the papers the site has are saved all the same.
    arxiv.add("/api/query", status=503, body="busy")
    client.force_login(reader)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"ids": "1707.08567 2406.12345"})
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    assert len(arxiv.requests_to("/api/query")) == 1
    assert saved_ids(reader) == {"2406.12345"}
    assert not Paper.objects.filter(arxiv_id="1707.08567").exists()


@pytest.fixture
def arxiv_and_worker(transactional_db):
    """A real Celery worker whose arXiv is the recorded server: busy (503) once, then
    answering for 1707.08567, so the fetch has to retry."""
    with RecordedServer() as server:
        server.add("/api/query", status=503, body="busy", times=1)
        server.add("/api/query", file=PAPER_1707, when={"id_list": "1707.08567"})
        celery_app.conf.task_always_eager = False
        celery_app.control.purge()
        env = os.environ | {
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "ARXIV_API_URL": f"{server.url}/api/query",
            "ARXIV_REQUEST_INTERVAL": "0",
            "INGEST_RETRY_BACKOFF": "1",
        }
        worker = WorkerProcess(env).start()
        try:
            yield server, worker
        finally:
            worker.stop()
            celery_app.control.purge()


def test_a_worker_fetches_an_imported_paper_after_a_retry_without_featuring_it(
    client, arxiv_and_worker
):
    server, worker = arxiv_and_worker
    reader = UserFactory(username="reader")
    PaperFactory(arxiv_id="2406.12345", title="Known One")
    before = todays_list()
    client.force_login(reader)
    html = client.post(URL, {"ids": "1707.08567 2406.12345"}).content.decode()
    assert "Fetching from arXiv" in html
    deadline = time.monotonic() + 60
    while "1707.08567" not in saved_ids(reader):
        assert time.monotonic() < deadline, worker.output()[-3000:]
        time.sleep(0.25)
    assert len(server.requests_to("/api/query")) == 2  # the 503, then the paper
    fetched = Paper.objects.get(arxiv_id="1707.08567")
    assert fetched.daily_date is None and not Submission.objects.exists()
    assert todays_list() == before


def test_the_submission_limit_caps_fetches_not_the_import(client, reader, known, settings):
    settings.SUBMIT_RATE_LIMIT = "1/h"
    client.force_login(reader)
    html = client.post(URL, {"ids": "2501.00001 2501.00002 2406.12345"}).content.decode()
    assert html.count("Fetching from arXiv") == 1
    assert "you have reached the submission limit" in html
    assert "2406.12345" in saved_ids(reader)
    # The fetch used the limit up: /submit/ and the next import wait too.
    again = client.post(URL, {"ids": "2501.00003"}).content.decode()
    assert "you have reached the submission limit" in again


def test_ten_thousand_ids_are_refused_whole(client, reader, known):
    client.force_login(reader)
    ids = "\n".join(["2406.12345"] + [f"2501.{n:05d}" for n in range(10_000)])
    response = client.post(URL, {"ids": ids})
    assert response.status_code == 400
    assert "at most 500" in response.content.decode()
    assert not SavedPaper.objects.exists() and not Submission.objects.exists()


def test_five_hundred_and_one_ids_are_refused_whole(client, reader, known):
    client.force_login(reader)
    ids = " ".join(["2406.12345"] * 501)
    assert client.post(URL, {"ids": ids}).status_code == 400
    assert not SavedPaper.objects.exists()


def test_a_ten_megabyte_file_is_refused_before_it_is_read(client, reader, known):
    client.force_login(reader)
    big = b"@misc{a, eprint={2406.12345}}\n" + b"%" * (10 * 1024 * 1024)
    upload = SimpleUploadedFile("big.bib", big, content_type="text/x-bibtex")
    response = client.post(URL, {"bibtex": upload})
    assert response.status_code == 400
    assert "at most 1 MB" in response.content.decode()
    assert not SavedPaper.objects.exists()


@pytest.mark.parametrize(
    "bomb",
    [
        "@misc{a, eprint={2406.12345}, title=" + "{" * 5000 + "}" * 5000 + "}",
        "".join(f"@string{{s{n} = s{n - 1} # s{n - 1}}}\n" for n in range(1, 200))
        + "@misc{a, eprint={2406.12345}, title=s199}",
    ],
    ids=["deep nesting", "string macros"],
)
def test_a_bibtex_bomb_is_refused_whole(client, reader, known, bomb):
    client.force_login(reader)
    upload = SimpleUploadedFile("bomb.bib", bomb.encode(), content_type="text/x-bibtex")
    response = client.post(URL, {"bibtex": upload})
    assert response.status_code == 400
    assert "does not look like a bibliography" in response.content.decode()
    assert not SavedPaper.objects.exists()


def test_an_empty_form_says_what_to_give(client, reader):
    client.force_login(reader)
    response = client.post(URL, {"ids": "  "})
    assert response.status_code == 400
    assert "Paste arXiv ids or links, or choose a BibTeX file." in response.content.decode()


def test_importing_too_often_answers_429(client, reader, known, settings):
    settings.LIBRARY_IMPORT_RATE_LIMIT = "1/h"
    client.force_login(reader)
    assert client.post(URL, {"ids": "2406.12345"}).status_code == 200
    refused = client.post(URL, {"ids": "hep-th/9901001"})
    assert refused.status_code == 429
    assert saved_ids(reader) == {"2406.12345"}


def test_labels_from_the_input_are_escaped(client, reader):
    client.force_login(reader)
    html = client.post(URL, {"ids": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_hidden_papers_are_not_imported(client, reader):
    PaperFactory(arxiv_id="2406.54321", is_hidden=True)
    client.force_login(reader)
    html = client.post(URL, {"ids": "2406.54321"}).content.decode()
    assert "Hidden by the moderators." in html and not SavedPaper.objects.exists()
    assert Paper.objects.count() == 1


def test_the_parsers_refuse_without_side_effects():
    with pytest.raises(imports.ImportRefused):
        imports.lines_from_bibtex(b"no entries at all")
    lines = imports.lines_from_text("2406.12345, 2406.12346")
    assert [line.arxiv_id for line in lines] == ["2406.12345", "2406.12346"]


def test_import_from_a_collection_page_chooses_that_collection(client, reader):
    collection = Collection.objects.create_named(reader, "Target")
    client.force_login(reader)
    page = client.get(collection.get_absolute_url()).content.decode()
    assert f"/library/import/?collection={collection.pk}" in page
    form = client.get(f"/library/import/?collection={collection.pk}").content.decode()
    assert f'<option value="{collection.pk}" selected>Target</option>' in form
