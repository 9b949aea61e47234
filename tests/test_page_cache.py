"""The anonymous page cache (papers.pagecache): who is served from it, what is stored,
and that each visitor gets their own CSRF token."""

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client

from papers import pagecache

from .factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 30


def _token_in(html: str) -> str:
    marker = 'name="csrfmiddlewaretoken" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_a_second_anonymous_visit_is_served_from_the_cache_without_queries(
    client, django_assert_num_queries
):
    PaperFactory(title="Cached Attention")
    first = client.get("/")
    with django_assert_num_queries(0):
        second = client.get("/")
    assert first["X-Page-Cache"] == "miss"
    assert second["X-Page-Cache"] == "hit"
    assert "Cached Attention" in second.content.decode()


def test_each_visitor_gets_their_own_csrf_token_and_cookie_from_a_cached_page():
    PaperFactory(title="Token Paper")
    alice, bob = Client(), Client()
    alice_html = alice.get("/").content.decode()
    bob_response = bob.get("/")
    bob_html = bob_response.content.decode()

    assert bob_response["X-Page-Cache"] == "hit"
    assert pagecache.PLACEHOLDER not in bob_html
    bob_secret = bob_response.cookies["csrftoken"].value
    alice_secret = alice.cookies["csrftoken"].value
    assert bob_secret != alice_secret
    assert _unmask_cipher_token(_token_in(bob_html)) == bob_secret
    assert _unmask_cipher_token(_token_in(alice_html)) == alice_secret
    # The token htmx sends with every request (base.html) is the visitor's too.
    assert f'"X-CSRFToken": "{_token_in(bob_html)}"' in bob_html


def test_a_cached_page_still_accepts_the_visitors_post():
    """The token a cached page hands out works: an anonymous vote goes to sign-in
    instead of failing CSRF."""
    paper = PaperFactory(title="Postable")
    Client().get("/")
    visitor = Client(enforce_csrf_checks=True)
    html = visitor.get("/").content.decode()
    response = visitor.post(
        f"/papers/{paper.arxiv_id}/vote/", {"action": "up", "csrfmiddlewaretoken": _token_in(html)}
    )
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_signed_in_reader_sees_their_own_vote_never_a_cached_page(client, voter):
    paper = PaperFactory(title="Vote State")
    Client().get("/")  # cached for anonymous visitors, unvoted
    paper.add_vote(voter)
    client.force_login(voter)

    response = client.get("/")

    assert "X-Page-Cache" not in response
    assert 'aria-pressed="true"' in response.content.decode()


def test_a_signed_in_readers_page_is_never_stored_for_others(client, voter):
    paper = PaperFactory(title="Private State")
    paper.add_vote(voter)
    client.force_login(voter)
    client.get("/")

    anonymous = Client().get("/")

    assert anonymous["X-Page-Cache"] == "miss"
    assert 'aria-pressed="true"' not in anonymous.content.decode()


def test_cached_pages_expire_after_page_cache_seconds(client, settings):
    settings.PAGE_CACHE_SECONDS = 7
    PaperFactory()
    client.get("/")
    keys = cache._cache.get_client().keys("*pagecache*")
    assert len(keys) == 1
    assert 0 < cache._cache.get_client().ttl(keys[0]) <= 7


def test_query_strings_and_htmx_requests_have_their_own_entries(client):
    PaperFactory(title="Variant")
    client.get("/new/")
    assert client.get("/new/?page=1")["X-Page-Cache"] == "miss"
    assert client.get("/new/", headers={"HX-Request": "true"})["X-Page-Cache"] == "miss"
    assert client.get("/new/")["X-Page-Cache"] == "hit"


def test_a_visitor_with_a_message_pending_is_not_served_or_stored(client):
    PaperFactory()
    client.get("/")
    storage = CookieStorage(None)
    storage.add(constants.INFO, "You have signed out.")
    response_messages = storage._encode(list(storage._queued_messages))
    client.cookies["messages"] = response_messages

    response = client.get("/")

    assert "X-Page-Cache" not in response
    assert "You have signed out." in response.content.decode()


def test_errors_and_redirects_are_not_stored(client):
    client.get("/papers/date/not-a-day/")
    assert client.get("/papers/date/not-a-day/").get("X-Page-Cache") != "hit"


def test_pages_are_served_uncached_when_the_cache_fails(client, monkeypatch):
    PaperFactory(title="Still Served")

    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)

    response = client.get("/")

    assert response.status_code == 200
    assert "Still Served" in response.content.decode()
    assert pagecache.PLACEHOLDER not in response.content.decode()


def test_page_cache_seconds_0_turns_it_off(client, settings):
    settings.PAGE_CACHE_SECONDS = 0
    PaperFactory()
    client.get("/")
    assert "X-Page-Cache" not in client.get("/")


def test_a_process_keeps_its_pages_no_longer_than_redis_does(client, settings, monkeypatch):
    settings.PAGE_CACHE_SECONDS = 7
    PaperFactory(title="Kept Locally")
    client.get("/")
    cache.clear()  # Redis forgot it: this process still answers from memory...
    assert client.get("/")["X-Page-Cache"] == "hit"

    later = pagecache.time.time() + 8
    monkeypatch.setattr(pagecache.time, "time", lambda: later)

    assert client.get("/")["X-Page-Cache"] == "miss"  # ...until the entry would expire
