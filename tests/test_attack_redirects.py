"""Open redirect: a `next` (or Referer, or htmx current URL) that points off-site is
never followed, after sign-in, sign-up, sign-out, voting (signed in or not, through the
pending vote cast at sign-in), following an author and claiming."""

from urllib.parse import unquote, urlsplit

import pytest
from django.test import Client

from papers.models import Vote

from .accounts_helpers import PASSWORD, verified
from .factories import AuthorFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "//evil.example",
    "//evil.example/path",
    "https://evil.example/",
    "http://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https:/\\evil.example",
    "http:evil.example",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\t//evil.example",
    "//evil.example%2F..",
    "https://testserver@evil.example/",
    "https://evil.example\\@testserver/",
    "///evil.example",
]


def assert_stays_on_site(response):
    location = response["Location"]
    decoded = unquote(unquote(location))
    parts = urlsplit(location)
    assert parts.scheme in ("", "http", "https"), location
    assert parts.netloc in ("", "testserver"), location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil.example" not in urlsplit(decoded).netloc, location
    assert "javascript:" not in decoded.lower() and "data:" not in decoded.lower(), location


@pytest.fixture
def member(db):
    return verified(UserFactory(username="member", email="member@example.org"))


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_ignores_an_off_site_next(client, member, target):
    response = client.post(
        "/accounts/login/?next=" + target, {"login": member.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert_stays_on_site(response)
    # The form's own hidden `next` too.
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": member.email, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert_stays_on_site(response)


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_out_ignores_an_off_site_next(client, member, target):
    client.force_login(member)
    response = client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302
    assert_stays_on_site(response)


@pytest.mark.parametrize("target", OFF_SITE)
def test_voting_ignores_an_off_site_next_referer_or_htmx_url(client, member, target):
    paper = PaperFactory()
    client.force_login(member)
    for action in ("up", "remove"):
        response = client.post(
            f"/papers/{paper.arxiv_id}/vote/",
            {"action": action, "next": target},
            HTTP_REFERER=target,
            HTTP_HX_CURRENT_URL=target,
        )
        assert response.status_code == 302
        assert_stays_on_site(response)


@pytest.mark.parametrize("target", OFF_SITE[:6])
def test_a_vote_cast_at_sign_in_does_not_carry_an_off_site_next(target):
    paper = PaperFactory()
    member = verified(UserFactory(username="late", email="late@example.org"))
    client = Client()
    response = client.post(
        f"/papers/{paper.arxiv_id}/vote/", {"action": "up", "next": target}, HTTP_REFERER=target
    )
    assert_stays_on_site(response)  # to the sign-in page
    login_url = response["Location"]
    assert "evil.example" not in unquote(login_url)
    response = client.post(login_url, {"login": member.email, "password": PASSWORD})
    assert_stays_on_site(response)
    assert Vote.objects.filter(user=member, paper=paper).exists()


@pytest.mark.parametrize("target", OFF_SITE[:6])
def test_following_and_claiming_ignore_an_off_site_next(client, member, target):
    author = AuthorFactory(name="Ada Lovelace")
    client.force_login(member)
    response = client.post(
        f"/digest/follow/authors/{author.slug}/", {"action": "follow", "next": target}
    )
    assert_stays_on_site(response)
    response = client.post(f"/authors/{author.slug}/claim/", {"next": target})
    assert_stays_on_site(response)


@pytest.mark.parametrize("target", OFF_SITE[:6])
def test_sign_up_and_admin_sign_in_keep_next_on_site(client, target):
    # allauth echoes `next` into the form (escaped); it is checked when followed.
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "username": "newcomer",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": target,
        },
    )
    assert response.status_code == 302
    assert_stays_on_site(response)
    response = client.get("/admin/login/", {"next": target})
    assert_stays_on_site(response)
