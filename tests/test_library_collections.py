"""Collections: creating, who may see them (private 404, unlisted by revocable secret,
public on the profile and the paper page), notes in sanitised Markdown with math,
ordering by buttons and by a posted order, the API and the Atom feed."""

import json
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from library import notes
from library.models import Collection, CollectionItem

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory
from .page_checks import check_page

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def owner(db):
    return verified(UserFactory(username="owner", display_name="Olga Owner"))


@pytest.fixture
def papers(db):
    return [PaperFactory(title=f"Paper number {i}", authors=[f"Author {i}"]) for i in range(1, 5)]


def make(owner, name="Reading group", visibility="private", papers=()):
    collection = Collection.objects.create_named(owner, name, visibility=visibility)
    for paper in papers:
        collection.add_paper(paper)
    return collection


def order_of(collection):
    return list(collection.items.order_by("position", "id").values_list("paper__title", flat=True))


def test_creating_a_collection_redirects_to_it(client, owner):
    client.force_login(owner)
    response = client.post(
        "/collections/new/",
        {"name": "Diffusion  reading", "description": "For the group", "visibility": "public"},
    )
    collection = Collection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == "/collections/owner/diffusion-reading/"
    assert (collection.name, collection.visibility) == ("Diffusion reading", "public")
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Diffusion reading" in page.content.decode()
    check_page(page.content)


def test_the_same_name_twice_gets_a_second_slug(owner):
    first = Collection.objects.create_named(owner, "Reading")
    second = Collection.objects.create_named(owner, "Reading")
    assert (first.slug, second.slug) == ("reading", "reading-2")
    # Another user may use the same slug.
    assert Collection.objects.create_named(UserFactory(), "Reading").slug == "reading"


def test_a_bad_collection_form_says_what_is_wrong(client, owner):
    client.force_login(owner)
    response = client.post("/collections/new/", {"name": "  ", "visibility": "secret"})
    assert response.status_code == 400
    assert not Collection.objects.exists()
    assert "Select a valid choice" in response.content.decode()


def test_creating_collections_too_fast_answers_429(client, owner, settings):
    settings.LIBRARY_COLLECTION_RATE_LIMIT = "2/h"
    client.force_login(owner)
    for name in ("one", "two"):
        client.post("/collections/new/", {"name": name, "visibility": "private"})
    refused = client.post("/collections/new/", {"name": "three", "visibility": "private"})
    assert refused.status_code == 429
    assert Collection.objects.count() == 2


def test_another_users_private_collection_is_a_404_everywhere(client, owner, papers):
    collection = make(owner, papers=papers[:1])
    base = "/collections/owner/reading-group"
    client.force_login(UserFactory(username="nosy"))
    for url in (f"{base}/", f"{base}.bib", f"{base}.ris", f"{base}.csv", f"{base}.atom"):
        assert client.get(url).status_code == 404, url
    assert client.get("/api/collections/owner/reading-group").status_code == 404
    # Nor can they change it.
    item = collection.items.get()
    for url in (f"{base}/edit/", f"{base}/delete/", f"{base}/share/",
                f"{base}/items/{item.pk}/move/", f"{base}/items/{item.pk}/note/"):  # fmt: skip
        assert (
            client.post(url, {"name": "hacked", "note": "x", "direction": "up"}).status_code == 404
        )
    assert Collection.objects.filter(name="Reading group").exists()
    client.logout()
    assert client.get(f"{base}/").status_code == 404


def test_an_unlisted_collection_opens_with_its_secret_until_revoked(client, owner, papers):
    collection = make(owner, visibility="unlisted", papers=papers[:2])
    url = collection.get_absolute_url()
    assert len(collection.share_token) >= 40
    assert client.get(url).status_code == 404
    assert client.get(f"{url}?key=wrong").status_code == 404
    page = client.get(f"{url}?key={collection.share_token}")
    assert page.status_code == 200 and "Paper number 1" in page.content.decode()
    assert 'name="robots" content="noindex"' in page.content.decode()
    bib = client.get(f"/collections/owner/reading-group.bib?key={collection.share_token}")
    assert bib.status_code == 200
    api = client.get(f"/api/collections/owner/reading-group?key={collection.share_token}")
    assert api.status_code == 200 and "Access-Control-Allow-Origin" not in api

    old = collection.share_token
    client.force_login(owner)
    assert client.post(f"{url}share/").status_code == 302
    collection.refresh_from_db()
    assert collection.share_token != old
    client.logout()
    assert client.get(f"{url}?key={old}").status_code == 404
    assert client.get(f"{url}?key={collection.share_token}").status_code == 200


def test_public_collections_show_on_the_profile_and_on_their_papers_pages(client, owner, papers):
    make(owner, "Public picks", visibility="public", papers=papers[:1])
    make(owner, "Secret stash", visibility="private", papers=papers[:1])
    profile = client.get(reverse("accounts:profile", args=["owner"])).content.decode()
    assert "Public picks" in profile and "Secret stash" not in profile
    check_page(profile)
    detail = client.get(papers[0].get_absolute_url()).content.decode()
    assert "Public picks" in detail and "Secret stash" not in detail
    assert (
        "No public collection includes" in client.get(papers[1].get_absolute_url()).content.decode()
    )


def test_adding_a_paper_from_its_page(client, owner, papers):
    collection = make(owner)
    client.force_login(owner)
    page = client.get(papers[0].get_absolute_url()).content.decode()
    assert f'<option value="{collection.pk}">Reading group</option>' in page
    url = reverse("library:collect", args=[papers[0].arxiv_id])
    response = client.post(url, {"collection": collection.pk})
    assert response.status_code == 302
    client.post(url, {"collection": collection.pk})  # twice: still once
    assert order_of(collection) == ["Paper number 1"]
    # Not into someone else's collection.
    theirs = make(UserFactory(username="other"), "Theirs")
    assert client.post(url, {"collection": theirs.pk}).status_code == 404
    assert not theirs.items.exists()


def test_a_new_collection_from_a_paper_page_starts_with_the_paper(client, owner, papers):
    client.force_login(owner)
    client.post(
        "/collections/new/",
        {"name": "Started here", "visibility": "private", "paper": papers[2].arxiv_id},
    )
    assert order_of(Collection.objects.get()) == ["Paper number 3"]


def test_the_owners_item_forms_post_where_the_urls_say(client, owner, papers):
    # The page writes these URLs from a prefix (views.collection's items_url).
    collection = make(owner, papers=papers[:2])
    item = collection.items.order_by("position").first()
    client.force_login(owner)
    html = client.get(collection.get_absolute_url()).content.decode()
    args = [owner.username, collection.slug, item.pk]
    for name in ("library:move_item", "library:edit_note", "library:remove_item"):
        assert f'action="{reverse(name, args=args)}"' in html
    check_page(html)


def test_move_buttons_reorder_without_javascript(client, owner, papers):
    collection = make(owner, papers=papers[:3])
    items = list(collection.items.order_by("position"))
    client.force_login(owner)
    url = f"{collection.get_absolute_url()}items/{items[2].pk}/move/"
    response = client.post(url, {"direction": "up", "page": "1"})
    assert response["Location"] == f"{collection.get_absolute_url()}?page=1#item-{items[2].pk}"
    assert order_of(collection) == ["Paper number 1", "Paper number 3", "Paper number 2"]
    client.post(url, {"direction": "up"})
    client.post(url, {"direction": "up"})  # already first: nothing changes
    assert order_of(collection) == ["Paper number 3", "Paper number 1", "Paper number 2"]
    client.post(f"{collection.get_absolute_url()}items/{items[0].pk}/move/", {"direction": "down"})
    assert order_of(collection) == ["Paper number 3", "Paper number 2", "Paper number 1"]


def test_a_posted_order_is_applied_in_one_go_and_a_stale_one_refused(client, owner, papers):
    collection = make(owner, papers=papers)
    ids = list(collection.items.order_by("position").values_list("pk", flat=True))
    client.force_login(owner)
    url = f"{collection.get_absolute_url()}reorder/"
    new = [ids[3], ids[0], ids[2], ids[1]]
    assert client.post(url, {"order": ",".join(map(str, new))}).status_code == 204
    assert order_of(collection) == [
        "Paper number 4", "Paper number 1", "Paper number 3", "Paper number 2"
    ]  # fmt: skip
    # A page of them: they swap the places they held; the rest stay.
    assert client.post(url, {"order": f"{ids[1]},{ids[0]}"}).status_code == 204
    assert order_of(collection) == [
        "Paper number 4", "Paper number 2", "Paper number 3", "Paper number 1"
    ]  # fmt: skip
    for stale in (f"{ids[0]},{ids[0]}", "999999", "1,x", ""):
        assert client.post(url, {"order": stale}).status_code == 409
    other = make(UserFactory(username="other"), papers=papers[:1])
    foreign = other.items.get().pk
    assert client.post(url, {"order": f"{foreign},{ids[0]}"}).status_code == 409


def test_notes_render_markdown_and_math_and_nothing_dangerous():
    html = notes.render(
        "**Key idea**: $a_1 * b_2 < c$ and\n\n# Big\n\n<script>alert(1)</script>"
        "[x](javascript:alert(1)) [ok](https://example.org) ![img](https://e.org/i.png)"
    )
    assert "<strong>Key idea</strong>" in html
    assert "$a_1 * b_2 &lt; c$" in html  # math untouched by Markdown, escaped
    assert "<h3>Big</h3>" in html and "<h1>" not in html
    assert "<script" not in html and 'href="javascript' not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # shown as text
    assert 'href="https://example.org"' in html and 'rel="nofollow noopener ugc"' in html
    assert notes.render("   ") == ""


def test_a_note_is_saved_and_shown_sanitised(client, owner, papers):
    collection = make(owner, visibility="public", papers=papers[:1])
    item = collection.items.get()
    client.force_login(owner)
    url = f"{collection.get_absolute_url()}items/{item.pk}/note/"
    client.post(url, {"note": "Read *twice*. <img src=x onerror=alert(1)> $E=mc^2$"})
    item.refresh_from_db()
    assert item.note.startswith("Read *twice*")
    client.logout()
    page = client.get(collection.get_absolute_url()).content.decode()
    assert "<em>twice</em>" in page and "$E=mc^2$" in page
    assert "onerror" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    check_page(page)
    client.force_login(owner)
    too_long = client.post(url, {"note": "x" * 6000})
    assert too_long.status_code == 302
    item.refresh_from_db()
    assert item.note.startswith("Read *twice*")  # unchanged
    assert "at most 5000" in client.get(too_long["Location"]).content.decode()


def test_names_and_descriptions_are_escaped_everywhere(client, owner, papers):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    collection = Collection.objects.create_named(owner, evil, evil, "public")
    collection.add_paper(papers[0])
    pages = [
        collection.get_absolute_url(),
        reverse("accounts:profile", args=["owner"]),
        papers[0].get_absolute_url(),
        reverse("library:collections", args=["owner"]),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
    atom = client.get(f"{collection.get_absolute_url().rstrip('/')}.atom").content.decode()
    assert "<script>" not in atom
    client.force_login(owner)
    html = client.get("/library/").content.decode()
    assert "<script>alert" not in html


def test_the_api_returns_a_public_collection_in_order_with_notes(client, owner, papers):
    collection = make(owner, "API picks", visibility="public", papers=papers[:3])
    collection.items.get(paper=papers[1]).set_note("Best one")
    collection.move(collection.items.get(paper=papers[2]).pk, -2)
    response = client.get("/api/collections/owner/api-picks")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    data = json.loads(response.content)
    assert data["name"] == "API picks" and data["owner"]["name"] == "owner"
    assert data["numPapers"] == 3
    assert [i["paper"]["title"] for i in data["items"]] == [
        "Paper number 3", "Paper number 1", "Paper number 2"
    ]  # fmt: skip
    assert data["items"][2]["note"] == "Best one"
    assert data["items"][0]["paper"]["authors"] == [{"name": "Author 3"}]
    missing = client.get("/api/collections/owner/nope")
    assert missing.status_code == 404 and "error" in json.loads(missing.content)


def test_a_public_collection_has_an_atom_feed(client, owner, papers):
    collection = make(owner, "Feed me", visibility="public", papers=papers[:2])
    response = client.get("/collections/owner/feed-me.atom")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.find(f"{ATOM}title").text.startswith("Feed me")
    titles = [e.find(f"{ATOM}title").text for e in root.findall(f"{ATOM}entry")]
    assert sorted(titles) == ["Paper number 1", "Paper number 2"]
    collection.visibility = "unlisted"
    collection.save()
    url = f"/collections/owner/feed-me.atom?key={collection.share_token}"
    assert client.get(url).status_code == 404  # only public collections have a feed


def test_a_collection_of_many_papers_renders_within_eight_queries(client, owner):
    papers = PaperFactory.create_batch(60, authors=["Ada Lovelace", "Alan Turing"])
    collection = make(owner, visibility="public")
    collection.add_papers(papers)
    for who in (None, owner):
        if who:
            client.force_login(who)
        url = collection.get_absolute_url()
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert len(queries) <= 8, sorted({q["sql"][-160:] for q in queries})
        assert response.content.decode().count('class="collection-item"') == 50
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{url}?page=2").content.decode().count('class="collection-item"') == 10
    assert len(queries) <= 8


def test_deleting_a_collection_keeps_the_papers(client, owner, papers):
    collection = make(owner, papers=papers[:2])
    client.force_login(owner)
    response = client.post(f"{collection.get_absolute_url()}delete/")
    assert response["Location"] == "/library/"
    assert not Collection.objects.exists() and not CollectionItem.objects.exists()
    assert len(papers) == 4


def test_editing_a_collection_changes_name_and_visibility(client, owner):
    collection = make(owner)
    client.force_login(owner)
    client.post(
        f"{collection.get_absolute_url()}edit/",
        {"name": "Renamed", "description": "Now public", "visibility": "public"},
    )
    collection.refresh_from_db()
    assert (collection.name, collection.visibility, collection.slug) == (
        "Renamed", "public", "reading-group"
    )  # fmt: skip


def test_the_api_reads_a_large_collection_in_a_few_queries(client, owner):
    papers = PaperFactory.create_batch(40, authors=["Ada Lovelace", "Alan Turing"])
    make(owner, "Big", visibility="public").add_papers(papers)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/collections/owner/big")
    assert len(json.loads(response.content)["items"]) == 40
    assert len(queries) <= 4, [q["sql"][:200] for q in queries][2:5]
