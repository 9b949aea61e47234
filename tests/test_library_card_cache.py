"""The library's pages through the card cache (papers.cards.render_each, issues 15 and
16): the reading list and a collection show cached cards, each beside its own read
toggle, saved date, note and owner's tools; a card is never stale and never carries
another reader's state, token or page.

Each change is made by the endpoint that makes it on the site, after the cards were
cached; the next request must show it.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from library.models import Collection, SavedPaper
from papers import cards

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory
from .test_card_cache import _normalised, cached_cards, card_of

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/library/"}


@pytest.fixture
def reader(db):
    return verified(UserFactory(username="reader", display_name="Rhea Reader"))


@pytest.fixture
def other(db):
    return verified(UserFactory(username="other", display_name="Otto Other"))


@pytest.fixture
def paper(db):
    return PaperFactory(title="Sparse Attention at Scale", authors=["Ada One", "Bo Two"])


def save(user, paper, minutes_ago=0):
    SavedPaper.objects.create(
        user=user, paper=paper, saved_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )


def collection_of(owner, papers, visibility="public") -> Collection:
    collection = Collection.objects.create_named(owner, "Reading group", visibility=visibility)
    collection.add_papers(papers)
    return collection


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def item_of(html: str, paper) -> str:
    """A reading list's item: the card and the controls beside it."""
    match = re.search(
        rf'<div class="library-item">\s*<article class="card" id="paper-{paper.pk}".*?'
        r"</form>\s*</div>\s*</div>",
        html,
        re.S,
    )
    assert match, f"no library item for {paper.arxiv_id}"
    return match.group(0)


def test_the_library_and_a_collection_show_cached_cards(client, reader, paper):
    others = PaperFactory.create_batch(2)
    for minutes, p in enumerate([paper, *others]):
        save(reader, p, minutes)
    collection = collection_of(reader, [paper, *others])
    client.force_login(reader)
    first = page(client, "/library/")
    assert cached_cards() == 3
    assert _normalised(page(client, "/library/")) == _normalised(first)
    assert "Sparse Attention at Scale" in card_of(first, paper)
    # The same papers for the same reader in the same positions: the same cards.
    shown = page(client, collection.get_absolute_url())
    assert cached_cards() == 3
    here = card_of(shown, paper).replace(collection.get_absolute_url(), "/library/")
    assert _normalised(here) == _normalised(card_of(first, paper))


def test_the_saved_date_and_read_toggle_stay_beside_each_card(client, reader, paper):
    kept = PaperFactory(title="Kept For Later")
    save(reader, paper, 1)
    save(reader, kept, 5)
    client.force_login(reader)
    html = page(client, "/library/")
    for p in (paper, kept):
        item = item_of(html, p)
        assert item.count("<article") == 1 and "Saved <time" in item
        assert reverse("library:read", args=[p.arxiv_id]) in item
    assert html.index(f'id="paper-{paper.pk}"') < html.index(f'id="paper-{kept.pk}"')


def test_a_read_toggle_shows_on_the_next_request(client, reader, paper):
    save(reader, paper)
    client.force_login(reader)
    assert "is-unread" in item_of(page(client, "/library/"), paper)
    url = reverse("library:read", args=[paper.arxiv_id])
    assert client.post(url, {"action": "read"}, **HTMX).status_code == 200
    assert "is-read" in item_of(page(client, "/library/"), paper)
    assert "is-read" not in page(client, "/library/?unread=on")
    client.post(url, {"action": "unread"}, **HTMX)
    assert "is-unread" in item_of(page(client, "/library/"), paper)


def test_a_vote_shows_on_the_next_request_in_the_library_and_a_collection(
    client, reader, other, paper
):
    save(reader, paper)
    collection = collection_of(reader, [paper])
    client.force_login(reader)
    for url in ("/library/", collection.get_absolute_url()):
        before = card_of(page(client, url), paper)
        assert 'aria-pressed="false"' in before and '<span class="vote-count">0</span>' in before
    vote = reverse("papers:vote", args=[paper.arxiv_id])
    assert client.post(vote, {"action": "up"}, **HTMX).status_code == 200
    for url in ("/library/", collection.get_absolute_url()):
        mine = card_of(page(client, url), paper)
        assert (
            'class="vote-button is-voted"' in mine and '<span class="vote-count">1</span>' in mine
        )
    # Another reader of the public collection: the new count, not the owner's vote.
    client.force_login(other)
    theirs = card_of(page(client, collection.get_absolute_url()), paper)
    assert 'aria-pressed="false"' in theirs and '<span class="vote-count">1</span>' in theirs


def test_a_save_and_a_removal_show_on_the_next_request(client, reader, other, paper):
    collection = collection_of(reader, [paper])
    client.force_login(reader)
    url = collection.get_absolute_url()
    assert "is-saved" not in card_of(page(client, url), paper)
    assert f'id="paper-{paper.pk}"' not in page(client, "/library/")
    endpoint = reverse("library:save", args=[paper.arxiv_id])
    assert client.post(endpoint, {"action": "save"}, **HTMX).status_code == 200
    assert 'class="save-button is-saved"' in card_of(page(client, url), paper)
    assert 'class="save-button is-saved"' in card_of(page(client, "/library/"), paper)
    # Saved is private: another reader of the collection sees their own bookmark.
    client.force_login(other)
    assert "is-saved" not in card_of(page(client, url), paper)
    client.force_login(reader)
    client.post(endpoint, {"action": "remove"}, **HTMX)
    assert "is-saved" not in card_of(page(client, url), paper)
    assert f'id="paper-{paper.pk}"' not in page(client, "/library/")


def test_a_collections_note_and_tools_are_the_owners_only(client, reader, other, paper):
    collection = collection_of(reader, [paper])
    item = collection.items.get()
    item.set_note("Read **section 3** first.")
    client.force_login(reader)
    owner_html = page(client, collection.get_absolute_url())
    assert "<strong>section 3</strong>" in owner_html and "move-form" in owner_html
    client.force_login(other)
    theirs = page(client, collection.get_absolute_url())
    assert "<strong>section 3</strong>" in theirs and "move-form" not in theirs
    assert card_of(theirs, paper).count("<article") == 1


def test_a_cached_card_has_this_readers_token_and_page(client, reader, paper):
    """The CSRF token and `next` of a cached card are the request's own, not those of
    the request that rendered it first (the same reader, in two sessions)."""
    save(reader, paper)
    collection = collection_of(reader, [paper])
    client.force_login(reader)
    second = client.__class__()
    second.force_login(reader)
    base = collection.get_absolute_url()
    shown = [
        (page(client, "/library/"), "/library/"),
        (page(second, "/library/?cat=cs.LG"), "/library/?cat=cs.LG"),
        (page(client, base), base),
        (page(second, f"{base}?page=1"), f"{base}?page=1"),
    ]

    for html, path in shown:
        token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        card = card_of(html, paper)
        assert card.count(f'name="csrfmiddlewaretoken" value="{token}"') == 2
        assert card.count('name="csrfmiddlewaretoken"') == 2
        assert card.count(f'name="next" value="{path.replace("&", "&amp;")}"') == 2


def test_a_card_in_an_htmx_swap_returns_to_the_page_htmx_names(client, reader, paper):
    save(reader, paper)
    client.force_login(reader)
    assert 'name="next" value="/library/?unread=on"' in card_of(
        page(client, "/library/?unread=on"), paper
    )
    # Requested by htmx, the forms go back to the page the browser shows.
    response = client.get("/library/?unread=on", **HTMX)
    assert 'name="next" value="/library/"' in card_of(response.content.decode(), paper)


@pytest.mark.parametrize("cached", [False, True])
def test_the_library_takes_as_many_queries_for_a_small_library_as_a_large_one(
    client, reader, cached
):
    papers = PaperFactory.create_batch(35, authors=["Ada Lovelace", "Alan Turing"])
    counts = {}
    client.force_login(reader)
    for size in (2, 35):
        SavedPaper.objects.filter(user=reader).delete()
        for minutes, p in enumerate(papers[:size]):
            save(reader, p, minutes)
        client.get("/library/")  # the session, and the cards when `cached`
        if not cached:
            cards.forget()
        with CaptureQueriesContext(connection) as queries:
            html = page(client, "/library/")
        assert html.count('class="library-item"') == min(size, 30)
        counts[size] = len(queries)
    assert counts[2] == counts[35] <= 8, counts


@pytest.mark.parametrize("cached", [False, True])
def test_a_collection_takes_as_many_queries_small_as_large(client, reader, other, cached):
    papers = PaperFactory.create_batch(60, authors=["Ada Lovelace", "Alan Turing"])
    small = collection_of(reader, papers[:2])
    large = Collection.objects.create_named(reader, "Everything", visibility="public")
    large.add_papers(papers)
    for who in (reader, other, None):
        if who:
            client.force_login(who)
        else:
            client.logout()
        counts = {}
        for collection, shown in ((small, 2), (large, 50)):
            url = collection.get_absolute_url()
            client.get(url)
            if not cached:
                cards.forget()
            with CaptureQueriesContext(connection) as queries:
                html = page(client, url)
            assert html.count('class="collection-item"') == shown
            assert html.count('<article class="card"') == shown
            counts[shown] = len(queries)
        assert counts[2] == counts[50] <= 8, (who, counts)
