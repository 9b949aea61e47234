"""Signed-out visitors who press a button that needs an account: htmx is told to load
the sign-in page (HX-Redirect) with `next` pointing back at the page they were on, and
the sign-in page says what signing in is for."""

from urllib.parse import parse_qs, urlsplit

import pytest

from .factories import AuthorFactory, PaperFactory
from .page_checks import check_page

pytestmark = pytest.mark.django_db

ON_AUTHOR_PAGE = "http://testserver/authors/{slug}/?page=2"


def htmx_from(url):
    return {"HX-Request": "true", "HX-Current-URL": url}


def query_of(url):
    parts = urlsplit(url)
    assert parts.path == "/accounts/login/"
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


def test_an_anonymous_htmx_follow_is_sent_to_sign_in_and_back(client):
    author = AuthorFactory(name="Fei-Fei Li")
    here = ON_AUTHOR_PAGE.format(slug=author.slug)
    response = client.post(
        f"/digest/follow/authors/{author.slug}/", {"action": "follow"}, headers=htmx_from(here)
    )
    assert response.status_code == 200
    assert response.content == b""  # nothing for htmx to swap into the button
    assert query_of(response["HX-Redirect"]) == {
        "next": f"/authors/{author.slug}/?page=2",
        "for": "follow_author",
    }


def test_an_anonymous_htmx_claim_goes_back_to_the_author_page_not_the_post_url(client):
    author = AuthorFactory(name="Ada Lovelace")
    here = ON_AUTHOR_PAGE.format(slug=author.slug)
    response = client.post(
        f"/authors/{author.slug}/claim/", {"note": "me"}, headers=htmx_from(here)
    )
    assert query_of(response["HX-Redirect"]) == {
        "next": f"/authors/{author.slug}/?page=2",
        "for": "claim_author",
    }


def test_an_anonymous_htmx_digest_change_is_sent_to_sign_in(client):
    response = client.post(
        "/settings/digest/interests/",
        {"action": "add_keyword", "keyword": "diffusion"},
        headers=htmx_from("http://testserver/settings/digest/"),
    )
    assert query_of(response["HX-Redirect"])["next"] == "/settings/digest/"


def test_a_next_on_another_site_is_not_followed(client):
    author = AuthorFactory()
    response = client.post(
        f"/digest/follow/authors/{author.slug}/",
        {"action": "follow"},
        headers=htmx_from("https://evil.example/phish"),
    )
    assert "evil.example" not in response["HX-Redirect"]


def test_without_htmx_the_follow_form_redirects_to_sign_in(client):
    author = AuthorFactory()
    response = client.post(
        f"/digest/follow/authors/{author.slug}/",
        {"action": "follow", "next": author.get_absolute_url()},
    )
    assert response.status_code == 302
    assert query_of(response["Location"])["next"] == author.get_absolute_url()


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ("?next=/&for=follow_author", "Sign in to follow authors"),
        ("?next=/submit/", "Sign in to submit a paper"),
        ("?next=/settings/digest/", "Sign in to set up your email digest"),
    ],
)
def test_the_sign_in_page_says_what_it_is_for(client, query, sentence):
    page = client.get(f"/accounts/login/{query}")
    check_page(page.content)
    assert sentence in page.content.decode()


def test_after_an_anonymous_upvote_sign_in_says_the_vote_waits(client):
    paper = PaperFactory()
    response = client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": "up", "next": "/"})
    page = client.get(response["Location"])
    assert "Sign in to upvote papers" in page.content.decode()
    signup = client.get("/accounts/signup/?next=/")
    assert "Sign in to upvote papers" in signup.content.decode()


def test_a_plain_sign_in_page_says_nothing_extra(client):
    page = client.get("/accounts/login/?next=/trending/")
    assert "signin-reason" not in page.content.decode()
