"""Injection and junk: every list page, feed and API endpoint, given SQL metacharacters,
a NUL byte (PostgreSQL refuses \\x00), 10 kB values, impossible dates, broken UTF-8,
lone surrogates, huge or negative page numbers and bogus sort values, answers a normal
page or a clean 400/404, never a 500. The test client re-raises a view's exception, so
a crash fails the test with its traceback."""

import json

import pytest
from django.test import Client

from .factories import AuthorFactory, PaperFactory, UserFactory, VoteFactory

pytestmark = pytest.mark.django_db

# Values put into every query parameter. Raw strings are %-encoded query-string
# fragments, sent as they are (invalid UTF-8 must reach the server undecoded).
JUNK = {
    "sql quote": "' OR '1'='1",
    "sql comment": "1; DROP TABLE papers_paper; --",
    "sql union": "1 UNION SELECT password FROM accounts_user--",
    "tsquery syntax": "!(&|:*<->",
    "like wildcards": "%_\\",
    "nul byte": "a\x00b",
    "10 kB": "x" * 10_000,
    "html": '<script>alert(1)</script>"><img src=x onerror=alert(2)>',
    "invalid utf-8": "RAW:%ff%fe%C0%AF",
    "lone surrogate (CESU-8)": "RAW:%ED%A0%80",
    "huge number": "99999999999999999999999999",
    "negative": "-1",
    "float": "1e309",
    "empty": "",
}

# Every list page, feed and API endpoint, with the parameters it reads (and a few it
# doesn't: unknown parameters must be ignored).
GET_ENDPOINTS = {
    "/": ["page"],
    "/papers/date/2026-11-20/": ["page"],
    "/papers/week/2026-W47/": ["page"],
    "/papers/month/2026-11/": ["page"],
    "/trending/": ["page"],
    "/new/": ["page"],
    "/search/": ["q", "since", "until", "cat", "sort", "page"],
    "/papers/2411.10000/": ["page"],
    "/authors/ada-lovelace/": ["page"],
    "/u/voter/": ["show", "page"],
    "/api/daily_papers": ["date", "week", "month", "p", "limit"],
    "/api/papers/2411.10000": ["x"],
    "/feeds/daily.rss": ["page"],
    "/feeds/daily.atom": ["page"],
    "/feeds/trending.rss": ["page"],
    "/feeds/trending.atom": ["page"],
    "/sitemap.xml": ["p"],
    "/about/ranking/": ["x"],
    "/api/": ["x"],
    "/digest/subscribe/": ["email"],
}
CLEAN_STATUSES = {200, 301, 302, 400, 404}


@pytest.fixture
def site(db):
    author = AuthorFactory(name="Ada Lovelace")
    paper = PaperFactory(arxiv_id="2411.10000", authors=[author.name])
    voter = UserFactory(username="voter")
    VoteFactory(user=voter, paper=paper)
    return paper


def _query(name, value):
    if value.startswith("RAW:"):
        return f"{name}={value[4:]}"
    from urllib.parse import urlencode

    return urlencode({name: value})


def _get(client, path, query=""):
    response = client.get(path, QUERY_STRING=query)
    assert response.status_code in CLEAN_STATUSES, (path, query[:80], response.status_code)
    if path.startswith("/api/") and path != "/api/":
        # The API answers JSON, errors included (/api/ is its documentation page).
        assert response["Content-Type"].startswith("application/json"), (path, query[:80])
        json.loads(response.content)
    return response


@pytest.mark.parametrize("label", JUNK)
@pytest.mark.parametrize("path", GET_ENDPOINTS)
def test_junk_in_any_parameter_never_breaks_a_page(site, client, path, label):
    for name in GET_ENDPOINTS[path]:
        _get(client, path, _query(name, JUNK[label]))


@pytest.mark.parametrize("label", JUNK)
def test_junk_in_every_search_parameter_at_once(site, client, label):
    query = "&".join(
        _query(name, JUNK[label]) for name in ("q", "since", "until", "cat", "sort", "page")
    )
    _get(client, "/search/", query)


@pytest.mark.parametrize(
    "path",
    [
        "/papers/date/2026-13-45/",
        "/papers/date/2026-02-30/",
        "/papers/date/0000-00-00/",
        "/papers/date/99999-01-01/",
        "/papers/date/%00/",
        "/papers/date/%ff%fe/",
        "/papers/date/%ED%A0%80/",
        "/papers/date/' OR 1=1--/",
        "/papers/week/2026-W99/",
        "/papers/week/2026-W00/",
        "/papers/week/-1-W01/",
        "/papers/month/2026-13/",
        "/papers/month/2026-00/",
        "/papers/month/1-1/",
        "/papers/" + "9" * 300 + "/",
        "/papers/2411.99999/",
        "/papers/hep-th/9901001/",
        "/papers/2411.10000%00/",
        "/papers/2411.10000/vote/",  # GET on a POST-only view: 405, listed below
        "/authors/%00/",
        "/authors/%ff/",
        "/authors/" + "a" * 10_000 + "/",
        "/u/%00/",
        "/u/%ED%A0%80/",
        "/u/' OR 1=1--/",
        "/api/papers/%00",
        "/api/papers/2411.99999",
        "/api/papers/' OR 1=1--",
        "/digest/confirm/%00/",
        "/digest/confirm/' OR 1=1--/",
        "/digest/unsubscribe/%ff/",
        "/digest/unsubscribe/" + "A" * 10_000 + "/",
        "/digest/view/%ED%A0%80/",
        "/sitemap-%00.xml",
        "/sitemap-papers.xml?p=99999999999999999999",
        "/sitemap-papers.xml?p=-1",
    ],
)
def test_junk_in_the_path_is_a_clean_error(site, client, path):
    path, _, query = path.partition("?")
    response = client.get(path, QUERY_STRING=query)
    assert response.status_code in CLEAN_STATUSES | {405}, (path, response.status_code)


@pytest.mark.parametrize("variant", ["/", "//", "/.json", "/%00"])
def test_api_paper_with_a_trailing_variant_answers_json_404(site, client, variant):
    response = client.get("/api/papers/2411.10000" + variant)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "error" in json.loads(response.content)


def test_huge_page_numbers_show_the_last_page_or_a_404(site, client):
    for path in ("/", "/trending/", "/search/?q=attention", "/authors/ada-lovelace/"):
        path, _, query = path.partition("?")
        response = client.get(path, QUERY_STRING=f"{query}&page=99999999999999999999")
        assert response.status_code in (200, 404), path
        if response.status_code == 200:
            assert "Attention Variants" in response.content.decode(), path
    assert client.get("/new/", {"page": "99999999999999999999"}).status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"email": "a\x00@example.org", "frequency": "daily"},
        {"email": "x" * 10_000 + "@example.org", "frequency": "weekly"},
        {"email": "a@example.org", "frequency": "' OR 1=1--"},
        {"email": "a@example.org", "frequency": "daily", "time_zone": "\x00../../etc/passwd"},
    ],
)
def test_junk_posted_to_the_subscribe_box_is_refused_cleanly(client, data):
    response = client.post("/digest/subscribe/", data)
    assert response.status_code == 400
    assert "Check your inbox" not in response.content.decode()


def test_junk_posted_by_a_signed_in_user_is_refused_cleanly(site, voter):
    client = Client()
    client.force_login(voter)
    for value in JUNK.values():
        if value.startswith("RAW:"):
            continue
        for path, field in [
            ("/submit/", "paper"),
            ("/settings/", "display_name"),
            ("/papers/2411.10000/vote/", "action"),
            ("/authors/ada-lovelace/claim/", "note"),
        ]:
            response = client.post(path, {field: value})
            assert response.status_code in CLEAN_STATUSES | {403, 429}, (path, value[:40])
