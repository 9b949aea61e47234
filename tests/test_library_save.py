"""Saving papers to a library: htmx and plain forms, the anonymous round trip through
sign-in, the reading list (/library/) with its filters and search, read state, rate
limits, query counts, and what happens when the account goes."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from library.models import SavedPaper
from papers.models import Paper

from .accounts_helpers import PASSWORD, verified
from .factories import PaperFactory, UserFactory
from .page_checks import check_page

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/trending/"}


@pytest.fixture
def reader(db):
    return verified(UserFactory(username="reader", display_name="Rita Reader"))


@pytest.fixture
def paper(db):
    return PaperFactory(title="Sparse Attention at Scale", authors=["Ada Lovelace"])


def save_url(paper):
    return reverse("library:save", args=[paper.arxiv_id])


def test_the_contract_urls_are_where_the_issue_says():
    assert reverse("library:save", args=["2406.12345"]) == "/papers/2406.12345/save/"
    assert reverse("library:save", args=["hep-th/9901001"]) == "/papers/hep-th/9901001/save/"
    assert reverse("library:library") == "/library/"
    assert reverse("library:export", args=["bib"]) == "/library/export.bib"
    assert reverse("library:export", args=["ris"]) == "/library/export.ris"
    assert reverse("library:new_collection") == "/collections/new/"
    assert reverse("library:collection", args=["ada", "reading"]) == "/collections/ada/reading/"
    assert reverse("library:api_collection", args=["ada", "r"]) == "/api/collections/ada/r"


@pytest.mark.parametrize("arxiv_id", ["2406.12345", "hep-th/9901001", "math.AG/0601001"])
def test_button_urls_are_what_reverse_gives(arxiv_id):
    # The buttons build their URLs without the resolver (library_tags.paper_url).
    from library.templatetags.library_tags import paper_url

    for name in ("library:save", "library:read"):
        assert paper_url(name, arxiv_id) == reverse(name, args=[arxiv_id])


def test_htmx_save_returns_the_button_saved_and_remove_undoes_it(client, reader, paper):
    client.force_login(reader)
    response = client.post(save_url(paper), {"action": "save"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<form") and 'aria-pressed="true"' in html
    assert 'name="action" value="remove"' in html and 'name="next" value="/trending/"' in html
    assert SavedPaper.objects.filter(user=reader, paper=paper).exists()

    again = client.post(save_url(paper), {"action": "save"}, **HTMX)
    assert again.status_code == 200  # idempotent: still one row
    assert SavedPaper.objects.filter(user=reader).count() == 1

    removed = client.post(save_url(paper), {"action": "remove"}, **HTMX)
    assert 'aria-pressed="false"' in removed.content.decode()
    assert not SavedPaper.objects.filter(user=reader).exists()


def test_plain_form_save_redirects_back_to_the_card(client, reader, paper):
    client.force_login(reader)
    response = client.post(save_url(paper), {"action": "save", "next": "/trending/?page=2"})
    assert response.status_code == 302
    assert response["Location"] == f"/trending/?page=2#paper-{paper.pk}"
    assert SavedPaper.objects.filter(user=reader, paper=paper).exists()
    # Off-site `next` is never followed.
    evil = client.post(save_url(paper), {"action": "save", "next": "https://evil.example/"})
    assert evil["Location"].startswith(paper.get_absolute_url())


def test_cards_and_the_paper_page_show_the_saved_state(client, reader, paper):
    other = PaperFactory(title="Unsaved Paper")
    SavedPaper.objects.save_paper(reader, paper)
    client.force_login(reader)
    html = client.get("/").content.decode()
    assert html.count('class="save-button is-saved"') == 1
    assert f'id="save-{other.pk}" class="save-button"' in html
    detail = client.get(paper.get_absolute_url()).content.decode()
    assert 'class="save-button is-saved"' in detail
    check_page(detail)


def test_an_anonymous_save_signs_in_then_saves_and_returns(client, reader, paper):
    response = client.post(save_url(paper), {"action": "save", "next": "/trending/"})
    assert response.status_code == 302
    login = response["Location"]
    assert login.startswith(reverse("account_login")) and "for=save" in login
    assert "Sign in to save papers" in client.get(login).content.decode()
    signed_in = client.post(login, {"login": reader.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/trending/"
    assert SavedPaper.objects.filter(user=reader, paper=paper).exists()


def test_an_anonymous_htmx_save_is_sent_to_sign_in_by_hx_redirect(client, paper):
    response = client.post(save_url(paper), {"action": "save"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("account_login"))
    assert not SavedPaper.objects.exists()


def test_a_new_account_gets_the_paper_it_saved_before_signing_up(client, paper, settings):
    client.post(save_url(paper), {"action": "save", "next": "/"})
    client.post(
        reverse("account_signup"),
        {
            "email": "newbie@example.org",
            "username": "newbie",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert SavedPaper.objects.filter(user__username="newbie", paper=paper).exists()


def test_saving_too_fast_answers_429_and_saves_nothing_more(client, reader, settings):
    settings.LIBRARY_SAVE_RATE_LIMIT = "2/d"
    papers = PaperFactory.create_batch(3)
    client.force_login(reader)
    for p in papers[:2]:
        assert client.post(save_url(p), {"action": "save"}, **HTMX).status_code == 200
    refused = client.post(save_url(papers[2]), {"action": "save"}, **HTMX)
    assert refused.status_code == 429
    plain = client.post(save_url(papers[2]), {"action": "save"})
    assert plain.status_code == 429
    assert SavedPaper.objects.filter(user=reader).count() == 2


def test_a_hidden_paper_cannot_be_saved(client, reader):
    hidden = PaperFactory(is_hidden=True)
    client.force_login(reader)
    assert client.post(save_url(hidden), {"action": "save"}).status_code == 404
    assert client.get(save_url(hidden)).status_code == 405


# --- The reading list ---------------------------------------------------------------


def _save_at(user, paper, minutes_ago, read=False):
    now = timezone.now()
    return SavedPaper.objects.create(
        user=user,
        paper=paper,
        saved_at=now - dt.timedelta(minutes=minutes_ago),
        read_at=now if read else None,
    )


def test_the_library_lists_saved_papers_newest_saved_first(client, reader):
    old = PaperFactory(title="Saved Long Ago")
    new = PaperFactory(title="Saved Just Now")
    PaperFactory(title="Never Saved")
    _save_at(reader, old, 60)
    _save_at(reader, new, 1)
    client.force_login(reader)
    response = client.get("/library/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Saved Just Now") < html.index("Saved Long Ago")
    assert "Never Saved" not in html
    saved = timezone.localtime(SavedPaper.objects.get(paper=new).saved_at)
    assert f'Saved <time datetime="{saved:%Y-%m-%d}">{saved.day} {saved:%b %Y}</time>' in html
    check_page(html)


def test_the_library_is_private_to_its_owner(client, reader, paper):
    _save_at(reader, paper, 1)
    assert client.get("/library/")["Location"].startswith(reverse("account_login"))
    client.force_login(UserFactory(username="someone"))
    assert "Sparse Attention" not in client.get("/library/").content.decode()


def test_the_library_filters_by_unread_category_and_code(client, reader):
    read = PaperFactory(title="Already Read Paper")
    unread = PaperFactory(title="Still Unread Paper", primary_category="math.AG",
                          categories=["math.AG"])  # fmt: skip
    coded = PaperFactory(title="Paper With Code", code_url="https://github.com/a/b")
    _save_at(reader, read, 3, read=True)
    _save_at(reader, unread, 2)
    _save_at(reader, coded, 1)
    client.force_login(reader)

    def titles(query):
        html = client.get(f"/library/?{query}").content.decode()
        return {t for t in ("Already Read", "Still Unread", "Paper With Code") if t in html}

    assert titles("unread=on") == {"Still Unread", "Paper With Code"}
    assert titles("cat=math.AG") == {"Still Unread"}
    assert titles("code=on") == {"Paper With Code"}
    assert titles("code=on&unread=on&cat=math.AG") == set()
    assert "No saved paper matches" in client.get("/library/?cat=hep-th").content.decode()
    # A malformed filter is ignored, not an error.
    assert client.get("/library/?cat=<script>").status_code == 200


def test_papers_hidden_after_saving_leave_the_library_and_its_count(
    client, reader, django_capture_on_commit_callbacks
):
    papers = [PaperFactory(title=f"Kept Paper {n}") for n in range(3)]
    for minutes, paper in enumerate(papers):
        _save_at(reader, paper, minutes)
    client.force_login(reader)
    assert "3 papers" in client.get("/library/").content.decode()  # and cached what it read
    moderator = UserFactory(username="moderator", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(moderator)

    def act(action):
        with django_capture_on_commit_callbacks(execute=True):
            admin.post(
                reverse("admin:papers_paper_changelist"),
                {"action": action, "_selected_action": [papers[1].pk]},
            )

    act("hide")
    html = client.get("/library/").content.decode()
    assert "2 papers" in html and "Kept Paper 1" not in html
    assert "Kept Paper 0" in html and "Kept Paper 2" in html
    # Filters on the papers' own columns leave it out in their join.
    filtered = client.get("/library/?cat=cs.LG&unread=on").content.decode()
    assert "2 papers match" in filtered and "Kept Paper 1" not in filtered
    act("unhide")
    html = client.get("/library/").content.decode()
    assert "3 papers" in html and "Kept Paper 1" in html


def test_search_within_the_library_finds_only_saved_papers(client, reader):
    mine = PaperFactory(title="Diffusion Models for Protein Folding")
    PaperFactory(title="Diffusion Models for Weather")
    _save_at(reader, mine, 1)
    client.force_login(reader)
    html = client.get("/library/?q=diffusion").content.decode()
    assert "Protein Folding" in html and "Weather" not in html
    assert "Protein" not in client.get("/library/?q=quantum").content.decode()


def test_read_and_unread_toggle_in_place_and_without_javascript(client, reader, paper):
    _save_at(reader, paper, 1)
    client.force_login(reader)
    url = reverse("library:read", args=[paper.arxiv_id])
    response = client.post(url, {"action": "read"}, **HTMX)
    assert response.status_code == 200 and "Mark unread" in response.content.decode()
    assert SavedPaper.objects.get(user=reader).read_at is not None
    back = client.post(url, {"action": "unread", "next": "/library/?unread=on"})
    assert back["Location"] == f"/library/?unread=on#paper-{paper.pk}"
    assert SavedPaper.objects.get(user=reader).read_at is None
    # A paper that is not in the library can't be marked.
    other = PaperFactory()
    assert client.post(reverse("library:read", args=[other.arxiv_id]), {}).status_code == 404


def test_list_pages_stay_within_eight_queries_with_saves(client, reader):
    papers = PaperFactory.create_batch(31, authors=["Ada Lovelace", "Alan Turing"])
    for index, p in enumerate(papers):
        _save_at(reader, p, index)
    client.force_login(reader)
    urls = ("/", "/library/", "/library/?unread=on&cat=cs.LG&code=on", "/library/?q=attention")
    for url in (*urls, "/new/", "/library/?page=2"):
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) <= 8, (url, [q["sql"][:120] for q in queries])
    html = client.get("/library/").content.decode()
    assert html.count("save-button is-saved") == 30 and "31 papers" in html
    assert client.get("/library/?page=2").content.decode().count("save-button is-saved") == 1
    # A page past the end (an old link) sends to the last page, filters kept.
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/library/?unread=on&page=7")
    assert response["Location"] == "/library/?unread=on&page=2" and len(queries) <= 8


def test_deleting_an_account_deletes_its_library(reader, paper):
    from library.models import Collection, LibraryFeed

    _save_at(reader, paper, 1)
    collection = Collection.objects.create_named(reader, "Reading group")
    collection.add_paper(paper)
    LibraryFeed.objects.create(user=reader)
    reader.delete_account()
    assert not SavedPaper.objects.exists()
    assert not Collection.objects.exists()
    assert not LibraryFeed.objects.exists()
    assert Paper.objects.filter(pk=paper.pk).exists()


def test_the_private_library_feed_works_until_revoked(client, reader, paper):
    import xml.etree.ElementTree as ET

    from library.models import LibraryFeed

    _save_at(reader, paper, 1)
    client.force_login(reader)
    client.post(reverse("library:feed_token"), {"action": "on"})
    feed = LibraryFeed.objects.get(user=reader)
    assert len(feed.token) >= 40
    assert feed.get_absolute_url() in client.get("/library/").content.decode()
    client.logout()
    response = client.get(feed.get_absolute_url())
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    entries = ET.fromstring(response.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.find("{http://www.w3.org/2005/Atom}title").text for e in entries] == [
        "Sparse Attention at Scale"
    ]
    old = feed.get_absolute_url()
    client.force_login(reader)
    client.post(reverse("library:feed_token"), {"action": "regenerate"})
    assert client.get(old).status_code == 404
    feed.refresh_from_db()
    assert client.get(feed.get_absolute_url()).status_code == 200
    client.post(reverse("library:feed_token"), {"action": "off"})
    assert client.get(feed.get_absolute_url()).status_code == 404
    assert client.get("/library/feed/not-a-token.atom").status_code == 404


def test_upvotes_saves_and_collections_are_positive_examples(reader):
    from library.models import Collection, positive_paper_ids

    voted, saved, collected, other = PaperFactory.create_batch(4)
    voted.add_vote(reader)
    SavedPaper.objects.save_paper(reader, saved)
    Collection.objects.create_named(reader, "Mine").add_paper(collected)
    SavedPaper.objects.save_paper(UserFactory(), other)
    ids = {row["pk"] for row in positive_paper_ids(reader)}
    assert ids == {voted.pk, saved.pk, collected.pk}
