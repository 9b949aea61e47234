"""HTTP caching headers (issue 16): what a browser or a proxy in front may keep, for
whom, and for how long; ETag/Last-Modified and 304s on the feeds and the JSON API; and
that a vote shows at once to the voter and within PAGE_CACHE_SECONDS to everyone else."""

import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils.http import http_date

from papers import conditional, pagecache

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db

CACHED_PAGE_URLS = ("/", "/trending/", "/new/")


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 5


@pytest.fixture
def paper(db):
    return PaperFactory(title="Cacheable Attention")


@pytest.fixture
def member(db):
    return verified(UserFactory(username="member"))


def _directives(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def _vary(response) -> set[str]:
    return {part.strip().lower() for part in response["Vary"].split(",")}


def _returning_visitor() -> Client:
    """A visitor who already holds a CSRF cookie (from a page that isn't cached)."""
    visitor = Client()
    visitor.get("/about/ranking/")
    assert "csrftoken" in visitor.cookies
    return visitor


@pytest.mark.parametrize("url", CACHED_PAGE_URLS)
def test_a_returning_visitors_page_may_be_kept_by_a_shared_cache_for_page_cache_seconds(url, paper):
    visitor = _returning_visitor()
    for _ in range(2):  # fresh, then from the page cache
        response = visitor.get(url)
        assert response.status_code == 200
        assert _directives(response) == {"public", "max-age=0", "s-maxage=5"}
        assert {"cookie", "hx-request", "hx-target", "hx-boosted"} <= _vary(response)
    assert response["X-Page-Cache"] == "hit"


def test_a_first_visit_that_hands_out_a_new_csrf_secret_is_private(paper):
    response = Client().get("/")
    assert "csrftoken" in response.cookies
    assert _directives(response) == {"private", "no-cache"}
    assert "cookie" in _vary(response)


def test_a_visitor_with_an_invalid_csrf_cookie_gets_a_private_page(paper):
    visitor = Client()
    visitor.cookies["csrftoken"] = "not-a-real-secret"
    response = visitor.get("/")
    assert _directives(response) == {"private", "no-cache"}


def test_an_anonymous_visitor_with_a_session_gets_a_private_page(paper):
    visitor = _returning_visitor()
    visitor.cookies["sessionid"] = "anything"
    response = visitor.get("/")
    assert _directives(response) == {"private", "no-cache"}


@pytest.mark.parametrize("url", (*CACHED_PAGE_URLS, "/about/ranking/", "/api/daily_papers"))
def test_every_response_to_a_signed_in_reader_is_private_and_revalidated(url, member, paper):
    client = Client()
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200
    assert {"private", "no-cache"} <= _directives(response)
    assert "public" not in response["Cache-Control"]
    assert "s-maxage" not in response["Cache-Control"]


def test_a_signed_in_readers_cacheable_page_varies_on_cookie_and_htmx(member, paper):
    client = Client()
    client.force_login(member)
    response = client.get("/", HTTP_HX_REQUEST="true")
    assert {"cookie", "hx-request"} <= _vary(response)


def test_a_missing_paper_is_not_kept_by_a_shared_cache():
    response = _returning_visitor().get("/papers/2401.99999/")
    assert response.status_code == 404
    assert "s-maxage" not in response.get("Cache-Control", "")


def test_a_page_cache_of_0_sends_no_s_maxage(settings, paper):
    settings.PAGE_CACHE_SECONDS = 0
    response = _returning_visitor().get("/")
    assert "s-maxage" not in response["Cache-Control"]


def test_the_token_on_a_shareable_page_belongs_to_the_cookie_that_keys_it(paper):
    """What makes s-maxage safe: a proxy keeps the page per Cookie header, and the
    page's masked token unmasks to the secret in that very cookie."""
    visitor = _returning_visitor()
    response = visitor.get("/")
    assert "s-maxage" in response["Cache-Control"]
    html = response.content.decode()
    marker = '"X-CSRFToken": "'
    start = html.index(marker) + len(marker)
    token = html[start : html.index('"', start)]
    assert _unmask_cipher_token(token) == visitor.cookies["csrftoken"].value


# --- ETag, Last-Modified and 304 on feeds and the API --------------------------------

FEEDS_AND_API = ("/feeds/daily.rss", "/feeds/trending.atom", "/api/daily_papers")


@pytest.mark.parametrize("url", FEEDS_AND_API)
def test_a_repeat_request_with_the_etag_gets_a_304_without_a_body(url, paper):
    client = Client()
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_paper_in_the_api_gets_a_304_on_repeat(paper):
    url = f"/api/papers/{paper.arxiv_id}"
    first = Client().get(url)
    assert Client().get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


@pytest.mark.parametrize("url", ("/feeds/trending.rss", "/api/daily_papers"))
def test_a_vote_changes_the_etag_so_the_next_poll_gets_the_new_body(url, member, paper):
    other = PaperFactory(title="Less Popular")
    first = Client().get(url)
    other.add_vote(member)
    other.add_vote(verified(UserFactory(username="second")))
    again = Client().get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_last_modified_is_sent_once_the_body_is_a_second_old_and_answers_if_modified_since(
    paper, monkeypatch
):
    url = "/feeds/daily.atom"
    first = Client().get(url)
    assert not first.has_header("Last-Modified")  # born this second
    later = time.time() + 5
    monkeypatch.setattr(conditional.time, "time", lambda: later)
    second = Client().get(url)
    since = second["Last-Modified"]
    assert Client().get(url, HTTP_IF_MODIFIED_SINCE=since).status_code == 304
    assert Client().get(url, HTTP_IF_MODIFIED_SINCE=http_date(0)).status_code == 200


def test_a_feed_change_that_moves_no_date_is_never_answered_not_modified(paper, monkeypatch):
    """The feed's item dates don't change when a title is corrected or a paper hidden:
    Last-Modified must not come from them, or If-Modified-Since alone would keep the
    old feed."""
    url = "/feeds/daily.rss"
    now = time.time()
    monkeypatch.setattr(conditional.time, "time", lambda: now + 10)
    Client().get(url)
    monkeypatch.setattr(conditional.time, "time", lambda: now + 12)
    since = Client().get(url)["Last-Modified"]
    paper.title = "Renamed Attention"  # any visible change; the dates stay the same
    paper.save(update_fields=["title"])
    monkeypatch.setattr(conditional.time, "time", lambda: now + 20)
    response = Client().get(url, HTTP_IF_MODIFIED_SINCE=since)
    assert response.status_code == 200
    assert "Renamed Attention" in response.content.decode()


# --- Exactness of cached pages after a vote ------------------------------------------


def test_a_vote_shows_on_the_voters_next_request_and_to_others_within_page_cache_seconds(
    member, paper, monkeypatch
):
    anonymous = _returning_visitor()
    before = anonymous.get("/")
    assert '<span class="vote-count">0</span>' in before.content.decode()

    voter = Client()
    voter.force_login(member)
    assert voter.post(f"/papers/{paper.arxiv_id}/vote/", {"action": "up"}).status_code == 302
    # The voter: at once, never from a cache (and told not to keep it).
    mine = voter.get("/")
    assert '<span class="vote-count">1</span>' in mine.content.decode()
    assert "private" in mine["Cache-Control"]

    # Others: the cached page, until PAGE_CACHE_SECONDS have passed.
    assert anonymous.get("/")["X-Page-Cache"] == "hit"
    real_time = time.time
    monkeypatch.setattr(pagecache.time, "time", lambda: real_time() + 6)
    # Redis expires the entry by its own clock (tests/test_page_cache.py checks the TTL).
    pagecache.local_pages.clear()
    cache.clear()
    after = anonymous.get("/")
    assert after["X-Page-Cache"] == "miss"
    assert '<span class="vote-count">1</span>' in after.content.decode()


def test_a_page_whose_request_wrote_to_a_new_session_is_private(rf):
    """SessionMiddleware sets the session cookie after this middleware has run: a page
    that started a session must not be shared with the Set-Cookie in it."""
    request = rf.get("/")
    request.resolver_match = resolve("/")
    request.user, request.session = AnonymousUser(), SessionStore()
    shared = HttpResponse("page")
    pagecache.cache_headers(request, shared)
    assert "s-maxage=5" in shared["Cache-Control"]
    request.session["pending"] = "anything"
    private = HttpResponse("page")
    pagecache.cache_headers(request, private)
    assert _directives(private) == {"private", "no-cache"}


def test_a_page_that_shows_a_visitor_a_message_is_private(paper):
    visitor = _returning_visitor()
    storage = CookieStorage(None)
    storage.add(constants.SUCCESS, "Subscribed.")
    visitor.cookies["messages"] = storage._encode(list(storage._queued_messages))
    response = visitor.get("/")
    assert "Subscribed." in response.content.decode()
    assert _directives(response) == {"private", "no-cache"}


# --- The vote path stays lean ---------------------------------------------------------


def test_an_htmx_vote_reads_the_paper_once_without_its_abstract(member, paper):
    client = Client()
    client.force_login(member)
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": "up"}, **headers)
    assert response.status_code == 200
    assert '<span class="vote-count">1</span>' in response.content.decode()
    reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "papers_paper"' in q["sql"]
    ]
    assert len(reads) == 1, reads
    assert '"abstract"' not in reads[0]
