"""XSS: hostile text in display names, usernames, search queries, submitted ids, and in
titles and abstracts as they reach the digest mail and KaTeX in a real browser, stays
text. (Titles, abstracts and author names on the pages, feeds and API are covered in
test_pages, test_feeds and test_api.)"""

import json

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.models import User

from .accounts_helpers import PASSWORD, verified
from .digest_helpers import body, featured, send_due
from .factories import DigestSubscriptionFactory, PaperFactory, UserFactory

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)><svg onload=alert(3)>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def assert_inert(html: str, where: str):
    assert "<script>alert" not in html, where
    assert "<img src=x" not in html, where
    assert "<svg onload" not in html, where


@pytest.mark.django_db
def test_a_hostile_display_name_is_escaped_wherever_the_user_appears(client):
    person = verified(UserFactory(username="mallory", display_name=f"Mallory {HOSTILE}"))
    paper = PaperFactory(submitted_by=person, title="A fine paper")
    paper.add_vote(person)
    pages = ["/", "/trending/", "/new/", paper.get_absolute_url(), "/u/mallory/"]
    client.force_login(person)
    pages += ["/settings/", "/settings/digest/", "/submit/"]
    for url in pages:
        html = client.get(url).content.decode()
        assert_inert(html, url)
        assert "Mallory" in html, url
    api = client.get("/api/daily_papers").content
    assert b"<script" not in api and b"<img" not in api
    [item] = json.loads(api)
    assert item["paper"]["submittedOnDailyBy"]["fullname"] == f"Mallory {HOSTILE}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "username", ["<script>x", 'a"onmouseover=alert(1)', "a b", "../admin", "a\x00b"]
)
def test_a_hostile_username_is_refused_at_sign_up(username):
    response = Client().post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "username": username,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code in (200, 400)
    assert not User.objects.filter(email="new@example.org").exists()
    assert_inert(response.content.decode(), username)


@pytest.mark.django_db
def test_a_hostile_query_and_filters_are_echoed_as_text(client):
    params = {"q": HOSTILE, "cat": HOSTILE, "since": HOSTILE, "until": HOSTILE, "sort": HOSTILE}
    response = client.get("/search/", params)
    html = response.content.decode()
    assert_inert(html, "search")
    assert ESCAPED in html
    # In the header search box on other pages too (the query never leaks into it).
    assert_inert(client.get("/", {"q": HOSTILE}).content.decode(), "/?q=")


@pytest.mark.django_db
def test_a_hostile_submitted_id_is_echoed_as_text():
    person = verified(UserFactory(username="submitter"))
    client = Client()
    client.force_login(person)
    response = client.post("/submit/", {"paper": HOSTILE})
    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html, "submit")
    response = client.get("/submit/", {"submission": HOSTILE})
    assert_inert(response.content.decode(), "submit?submission=")


@pytest.mark.django_db(transaction=True)
def test_hostile_papers_and_names_are_inert_in_the_digest_mail(smtp_server):
    featured(2, title=f"Hostile {HOSTILE}", abstract=f"Abstract {HOSTILE} $a<b$")
    DigestSubscriptionFactory(email="reader@example.org")
    assert send_due().sent == 1
    [message] = smtp_server.messages
    html = body(message, "html")
    assert "Hostile" in html
    assert_inert(html, "digest html")
    assert ESCAPED in html
    assert "$a&lt;b$" in html
    # The "view in browser" copy is the same document.
    view = [line for line in body(message, "plain").split() if "/digest/view/" in line][0]
    page = Client().get(view.split("testserver", 1)[-1])
    assert page.status_code == 200
    assert_inert(page.content.decode(), "view in browser")


# Math that tries to smuggle markup or script through KaTeX: \href and \url (trust is
# off), \htmlClass/\htmlData (trust), HTML inside the delimiters, a delimiter closed
# early to break out, and a macro bomb.
SMUGGLING = [
    r"$\href{javascript:alert(1)}{click}$",
    r"$\url{javascript:alert(2)}$",
    r"$\htmlClass{x}{y}\htmlData{onclick=alert(3)}{z}$",
    r"$\htmlStyle{background:url(javascript:alert(4))}{w}$",
    "$x</span><img src=x onerror=alert(5)>$",
    "$$\\text{<script>alert(6)</script>}$$",
    r"\(a\) <b onmouseover=alert(7)>bold</b> \(b\)",
    r"$\def\a{\a\a}\a$",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_math_delimiters_cannot_smuggle_html_or_script_through_katex(page, live_server):
    paper = PaperFactory(
        arxiv_id="2406.54321",
        title=r"Smuggling $\href{javascript:alert(0)}{t}$ through math",
        abstract=" and ".join(SMUGGLING),
    )
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for url in ("/", paper.get_absolute_url()):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        expect(page.locator(".katex").first).to_be_attached()
        found = page.evaluate(
            """() => ({
                scripts: [...document.querySelectorAll('main script')]
                    .filter(s => !s.src.startsWith(location.origin + '/static/')).length,
                imgs: [...document.querySelectorAll('main img')].map(i => i.src),
                handlers: [...document.querySelectorAll('main *')].flatMap(
                    e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => a.name)),
                links: [...document.querySelectorAll('main a')].map(a => a.href)
                    .filter(h => !h.startsWith('http')),
            })"""
        )
        assert found == {"scripts": 0, "imgs": [], "handlers": [], "links": []}, (url, found)
        # The rendered text shows the attempt as text, not as markup.
        assert "onerror" in page.locator("main").inner_text() or url == "/"
    assert dialogs == []


@pytest.mark.browser
def test_hostile_collection_names_and_notes_stay_inert_in_a_real_browser(page, live_server):
    """The library (issue 15): a collection's name and description, and a note's
    Markdown with math, typed by a hostile owner, on the collection page (public, so
    anyone sees it) and the paper page's "In collections"."""
    from library.models import Collection

    owner = verified(UserFactory(username="mallory", display_name=f"Mallory {HOSTILE}"))
    paper = PaperFactory(title="A fine paper")
    collection = Collection.objects.create_named(owner, f"Picks {HOSTILE}", HOSTILE, "public")
    note = "\n\n".join(
        [HOSTILE, "[click](javascript:alert(4))", "<a href=x onclick=alert(5)>x</a>"] + SMUGGLING
    )
    collection.add_paper(paper, note=note)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for url in (collection.get_absolute_url(), paper.get_absolute_url(), "/u/mallory/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        found = page.evaluate(
            """() => ({
                scripts: [...document.querySelectorAll('main script')].length,
                imgs: [...document.querySelectorAll('main img')].map(i => i.src),
                handlers: [...document.querySelectorAll('main *')].flatMap(
                    e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => a.name)),
                links: [...document.querySelectorAll('main a')].map(a => a.href)
                    .filter(h => !h.startsWith('http')),
            })"""
        )
        assert found == {"scripts": 0, "imgs": [], "handlers": [], "links": []}, (url, found)
        assert "Picks" in page.locator("main").inner_text(), url
    assert dialogs == []
