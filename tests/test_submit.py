"""Submitting a paper at /submit/: validation, featuring, refusals, the fetch task, the
status poll, rate limits; and the whole flow in a browser."""

import datetime as dt
import re
import time

import pytest
from django.db import connection
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone

from ingest.models import Submission
from ingest.submit import process_submission
from ingest.tasks import fetch_submission
from papers.models import Paper

from .accounts_helpers import sign_in_browser
from .factories import PaperFactory
from .recorded_http import RecordedServer

SUBMIT = "/submit/"
PAPER_1707 = "arxiv-api/2026/id_1707.08567_s0_m100_6a1afebfc6a3.xml"
EMPTY = "arxiv-api/2026/id_0000.0000_s0_m100_8b51d9633a68.xml"
ERROR_400 = "arxiv-api/2026/id_abc_s0_m100_b79c8dcf6bc3.xml"


@pytest.fixture
def arxiv_api(db, settings):
    with RecordedServer() as server:
        settings.ARXIV_API_URL = f"{server.url}/api/query"
        settings.ARXIV_REQUEST_INTERVAL = 0
        yield server


@pytest.fixture
def signed_in(client, submitter):
    client.force_login(submitter)
    return client


def post(client, paper):
    return client.post(SUBMIT, {"paper": paper})


def test_the_url_is_named_submit():
    assert reverse("papers:submit") == SUBMIT


def test_anonymous_users_are_sent_to_sign_in(client, db, settings):
    response = client.get(SUBMIT)

    assert response.status_code == 302
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    assert "next=/submit/" in response["Location"]


def test_the_navigation_links_to_submit(client, db):
    response = client.get(reverse("papers:home"))

    assert re.search(r'<a href="/submit/"[^>]*>Submit</a>', response.content.decode())


def test_the_page_shows_the_form(signed_in):
    response = signed_in.get(SUBMIT)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Submit a paper</h1>" in html
    assert 'name="paper"' in html and "csrfmiddlewaretoken" in html
    assert "10 papers an hour" in html


@pytest.mark.parametrize(
    "text", ["not an id", "2406.1", "2413.12345", "https://example.org/abs/2406.12345"]
)
def test_an_invalid_id_is_refused_with_a_message(signed_in, text):
    response = post(signed_in, text)

    assert response.status_code == 200
    assert "is not an arXiv id" in response.content.decode() or "no valid month" in (
        response.content.decode()
    )
    assert not Submission.objects.exists()


def test_a_featured_paper_is_refused_with_a_link_to_it(signed_in):
    paper = PaperFactory(arxiv_id="2406.12345", daily_date=dt.date(2026, 11, 20))

    response = post(signed_in, "https://arxiv.org/abs/2406.12345v2")

    html = response.content.decode()
    assert f'href="{paper.get_absolute_url()}"' in html
    assert "is already on the list of 20 November 2026" in html
    assert not Submission.objects.exists()


def test_an_indexed_paper_joins_todays_list_at_once(signed_in, submitter):
    paper = PaperFactory(arxiv_id="2406.12345", daily_date=None)

    response = post(signed_in, "arXiv:2406.12345")

    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{SUBMIT}?submission={submission.pk}"
    paper.refresh_from_db()
    assert paper.daily_date == timezone.localdate()
    assert paper.submitted_by == submitter
    assert submission.status == Submission.Status.FEATURED
    page = signed_in.get(response["Location"]).content.decode()
    assert "Added to today's list" in page and paper.title in page


def test_a_new_paper_is_fetched_from_arxiv_and_featured(
    signed_in, submitter, arxiv_api, django_capture_on_commit_callbacks
):
    arxiv_api.add("/api/query", file=PAPER_1707, when={"id_list": "1707.08567"})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(signed_in, "https://arxiv.org/pdf/1707.08567v1.pdf")

    assert len(callbacks) == 1  # the fetch task, enqueued after the commit
    assert response.status_code == 302
    paper = Paper.objects.get(arxiv_id="1707.08567")
    assert paper.title.startswith("Proceedings of Workshop AEW10")
    assert paper.daily_date == timezone.localdate()
    assert paper.submitted_by == submitter
    submission = Submission.objects.get()
    assert (submission.status, submission.paper) == (Submission.Status.FEATURED, paper)
    page = signed_in.get(response["Location"]).content.decode()
    assert "Added to today's list" in page
    assert "Your recent submissions" in page


def test_an_id_arxiv_does_not_know_fails_with_a_message(
    signed_in, arxiv_api, django_capture_on_commit_callbacks
):
    arxiv_api.add("/api/query", file=EMPTY)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(signed_in, "2406.99999")

    submission = Submission.objects.get()
    assert submission.status == Submission.Status.FAILED
    assert "arXiv has no paper 2406.99999" in submission.message
    page = signed_in.get(response["Location"]).content.decode()
    assert "arXiv:2406.99999 could not be added" in page


def test_an_error_from_arxiv_fails_the_submission(submitter, arxiv_api):
    arxiv_api.add("/api/query", file=ERROR_400, status=400)
    submission = Submission.objects.create(user=submitter, arxiv_id="2406.12345")

    process_submission(submission)

    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert "incorrect id format" in submission.message


def test_a_paper_featured_while_it_was_fetched_is_not_taken_over(submitter, voter, arxiv_api):
    arxiv_api.add("/api/query", file=PAPER_1707)
    first = Submission.objects.create(user=voter, arxiv_id="1707.08567")
    second = Submission.objects.create(user=submitter, arxiv_id="1707.08567")

    process_submission(first)
    process_submission(second)

    second.refresh_from_db()
    assert second.status == Submission.Status.ALREADY_FEATURED
    assert Paper.objects.get(arxiv_id="1707.08567").submitted_by == voter


def someone_else_features_it_first(user, day="2026-11-20"):
    """Whenever the submitter's feature UPDATE is about to land, another submission's
    lands first (in the trigger, as a concurrent transaction that commits first would):
    the submitter's conditional UPDATE then matches no row."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION someone_else_first() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.daily_date IS NULL AND NEW.daily_date IS NOT NULL
                   AND NEW.submitted_by_id IS DISTINCT FROM {user.pk} THEN
                    UPDATE papers_paper SET daily_date = '{day}', submitted_by_id = {user.pk}
                    WHERE id = NEW.id;
                    RETURN NULL;
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER someone_else_first BEFORE UPDATE ON papers_paper
            FOR EACH ROW EXECUTE FUNCTION someone_else_first();
            """
        )


def test_a_paper_featured_by_someone_else_meanwhile_is_reported_with_their_day(
    submitter, voter, arxiv_api
):
    arxiv_api.add("/api/query", file=PAPER_1707)
    someone_else_features_it_first(voter)
    submission = Submission.objects.create(user=submitter, arxiv_id="1707.08567")

    process_submission(submission)

    submission.refresh_from_db()
    assert submission.status == Submission.Status.ALREADY_FEATURED
    assert submission.message == "Already featured on 20 November 2026."
    assert submission.paper.submitted_by == voter


def test_an_indexed_paper_featured_meanwhile_is_refused_with_a_link(signed_in, voter):
    paper = PaperFactory(arxiv_id="2406.12345", daily_date=None)
    someone_else_features_it_first(voter)

    response = post(signed_in, "2406.12345")

    html = response.content.decode()
    assert f'href="{paper.get_absolute_url()}"' in html
    assert "is already on the list of 20 November 2026" in html


def test_a_hidden_paper_is_refused_without_a_link(signed_in):
    paper = PaperFactory(arxiv_id="2406.12345", daily_date=None, is_hidden=True)

    response = post(signed_in, "2406.12345")

    html = response.content.decode()
    assert response.status_code == 200
    assert "hidden by the moderators and can&#x27;t be submitted" in html
    assert paper.get_absolute_url() not in html
    paper.refresh_from_db()
    assert paper.daily_date is None and paper.submitted_by is None
    assert not Submission.objects.exists()


def test_a_hidden_featured_paper_is_refused_without_a_link(signed_in):
    paper = PaperFactory(arxiv_id="2406.12345", daily_date=dt.date(2026, 11, 20), is_hidden=True)

    html = post(signed_in, "2406.12345").content.decode()

    assert "hidden by the moderators" in html
    assert paper.get_absolute_url() not in html


def test_a_fetched_paper_that_is_hidden_is_not_featured(submitter, arxiv_api):
    arxiv_api.add("/api/query", file=PAPER_1707)
    paper = PaperFactory(arxiv_id="1707.08567", daily_date=None, is_hidden=True)
    submission = Submission.objects.create(user=submitter, arxiv_id="1707.08567")

    process_submission(submission)

    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert "hidden by the moderators" in submission.message
    paper.refresh_from_db()
    assert paper.daily_date is None


def test_without_a_worker_an_unreachable_arxiv_fails_at_once(
    signed_in, arxiv_api, django_capture_on_commit_callbacks
):
    # Tasks run in-process (the embedded default of `make run`): the request that
    # submitted is waiting, so the fetch is not retried.
    arxiv_api.add("/api/query", status=503, body="busy")

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(signed_in, "2406.99999")

    assert time.monotonic() - started < 5
    assert len(arxiv_api.requests_to("/api/query")) == 1
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.FAILED
    page = signed_in.get(response["Location"]).content.decode()
    assert "arXiv could not be reached. Please try again later." in page
    assert "spinner" not in page


@pytest.fixture
def failing_paper_updates(transactional_db):
    """Every UPDATE of a paper fails, as on a database out of disk space. Outside a
    test transaction (a worker runs in autocommit), so the trigger is dropped after."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
            CREATE TRIGGER broken BEFORE UPDATE ON papers_paper
            FOR EACH ROW EXECUTE FUNCTION broken();
            """
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER broken ON papers_paper; DROP FUNCTION broken();")


def test_a_fetch_that_breaks_unexpectedly_fails_the_submission(
    failing_paper_updates, submitter, arxiv_api
):
    arxiv_api.add("/api/query", file=PAPER_1707)
    submission = Submission.objects.create(user=submitter, arxiv_id="1707.08567")

    fetch_submission.apply(args=[submission.pk])

    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert "Something went wrong on our side" in submission.message


def test_a_submission_pending_too_long_fails_with_a_message(signed_in, submitter, settings):
    settings.SUBMIT_PENDING_TIMEOUT = 300
    lost = Submission.objects.create(
        user=submitter, arxiv_id="2406.12345", created_at=timezone.now() - dt.timedelta(minutes=6)
    )
    recent = Submission.objects.create(user=submitter, arxiv_id="2406.12346")
    url = reverse("papers:submission_status", args=[lost.pk])

    html = signed_in.get(url, headers={"HX-Request": "true"}).content.decode()

    assert "hx-trigger" not in html
    assert "arXiv:2406.12345 could not be added" in html
    assert "could not be reached in time" in html
    recent.refresh_from_db()
    assert recent.is_pending


def test_the_status_partial_polls_until_the_fetch_is_done(signed_in, submitter):
    submission = Submission.objects.create(user=submitter, arxiv_id="2406.12345")
    url = reverse("papers:submission_status", args=[submission.pk])

    pending = signed_in.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in pending
    assert "Fetching <strong>arXiv:2406.12345</strong>" in pending

    paper = PaperFactory(arxiv_id="2406.12345")
    Submission.objects.filter(pk=submission.pk).update(status="featured", paper=paper)
    done = signed_in.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done
    assert f'href="{paper.get_absolute_url()}"' in done


def test_the_status_of_someone_elses_submission_is_not_found(signed_in, voter):
    submission = Submission.objects.create(user=voter, arxiv_id="2406.12345")

    response = signed_in.get(reverse("papers:submission_status", args=[submission.pk]))

    assert response.status_code == 404


def test_submissions_are_rate_limited_per_user(signed_in, settings, voter, client):
    settings.SUBMIT_RATE_LIMIT = "2/h"
    for n in range(2):
        PaperFactory(arxiv_id=f"2406.1000{n}", daily_date=None)
        assert post(signed_in, f"2406.1000{n}").status_code == 302

    response = post(signed_in, "2406.10002")

    assert response.status_code == 429
    html = response.content.decode()
    assert "You have submitted many papers recently: the limit is 2 papers an hour." in html
    wait = int(response["Retry-After"])
    assert 0 < wait <= 3600
    assert re.search(r"Try again in (about 1 hour|\d+ minutes?)\.", html)
    # Another user is not affected.
    client.force_login(voter)
    PaperFactory(arxiv_id="2406.10003", daily_date=None)
    assert post(client, "2406.10003").status_code == 302


def test_only_submissions_that_were_made_count_against_the_limit(signed_in, settings):
    settings.SUBMIT_RATE_LIMIT = "1/h"
    PaperFactory(arxiv_id="2406.20001")  # already featured: refused
    for attempt in ["not an id", "2406.20001", "https://example.org/x"]:
        assert post(signed_in, attempt).status_code == 200  # the form, with its error
    PaperFactory(arxiv_id="2406.20002", daily_date=None)
    assert post(signed_in, "2406.20002").status_code == 302  # still allowed
    PaperFactory(arxiv_id="2406.20003", daily_date=None)
    assert post(signed_in, "2406.20003").status_code == 429  # now the limit is reached


def test_posting_without_the_csrf_token_is_refused(submitter, db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(submitter)

    assert client.post(SUBMIT, {"paper": "2406.12345"}).status_code == 403


def test_a_hostile_title_is_escaped_on_the_page(signed_in, submitter):
    paper = PaperFactory(arxiv_id="2406.12345", daily_date=None, title="<script>alert(1)</script>")
    post(signed_in, "2406.12345")

    html = signed_in.get(f"{SUBMIT}?submission={Submission.objects.get().pk}").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert paper.pk


# --- In a browser ----------------------------------------------------------------------------


@pytest.mark.browser
def test_submitting_in_a_browser_shows_the_paper_when_it_is_ready(
    page, live_server, submitter, settings, tmp_path
):
    with RecordedServer() as server:
        settings.ARXIV_API_URL = f"{server.url}/api/query"
        settings.ARXIV_REQUEST_INTERVAL = 0
        server.add("/api/query", file=PAPER_1707)
        sign_in_browser(page.context, submitter, live_server)

        page.goto("/submit/")
        page.get_by_label("arXiv id or link").fill("1707.08567")
        page.get_by_role("button", name="Submit").click()

        status = page.locator("#submission-status")
        status.get_by_text("Added to today's list").wait_for()
        page.screenshot(path=tmp_path / "submitted.png", full_page=True)
        status.get_by_role("link").click()
        page.wait_for_url(re.compile(r"/papers/1707\.08567/$"))


@pytest.mark.browser
def test_a_pending_submission_updates_itself(page, live_server, submitter):
    submission = Submission.objects.create(user=submitter, arxiv_id="1707.08567")
    sign_in_browser(page.context, submitter, live_server)

    page.goto(f"/submit/?submission={submission.pk}")
    page.get_by_text("Fetching arXiv:1707.08567 from arXiv").wait_for()

    # The worker finishes: the page's next poll shows the paper.
    paper = PaperFactory(arxiv_id="1707.08567", title="Proceedings of Workshop AEW10")
    Submission.objects.filter(pk=submission.pk).update(status="featured", paper=paper)
    page.locator("#submission-status").get_by_role(
        "link", name="Proceedings of Workshop AEW10"
    ).wait_for(timeout=8000)
