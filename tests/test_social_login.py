"""Social sign-in through allauth: the full OAuth 2 code flow, with the providers' HTTP
answered at the HTTP layer (`responses`) from tests/fixtures/oauth/."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import responses
from allauth.socialaccount.models import SocialAccount
from django.test import Client
from django.urls import reverse

from accounts.models import AuthorClaim, User
from papers.models import Vote

from .accounts_helpers import link_in, sign_in, verified
from .factories import PaperFactory, UserFactory
from .page_checks import check_page

OAUTH = Path(__file__).parent / "fixtures" / "oauth"
ROOT = Path(__file__).resolve().parent.parent


def fixture(name):
    return json.loads((OAUTH / name).read_text())


def app(client_id, name, **extra):
    secret = f"{client_id}-secret"
    return {"APPS": [{"client_id": client_id, "secret": secret, "key": "", "name": name}]} | extra


@pytest.fixture
def providers(settings, db):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": app("gh-client", "GitHub", SCOPE=["read:user", "user:email"]),
        "google": app("google-client.apps.googleusercontent.com", "Google"),
        "orcid": app("APP-ORCIDCLIENT", "ORCID"),
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "huggingface",
                    "name": "Hugging Face",
                    "client_id": "hf-client",
                    "secret": "hf-secret",
                    "settings": {
                        "server_url": "https://huggingface.co",
                        "scope": ["openid", "profile", "email"],
                    },
                }
            ]
        },
    }


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def start(client, provider_path, **params):
    """Press the provider's button: a POST (allauth asks for one) that redirects to the
    provider's authorize URL. Returns the parsed query of that URL."""
    response = client.post(provider_path, params)
    assert response.status_code == 302, response.content.decode()[:2000]
    location = urlsplit(response["Location"])
    return location, {k: v[0] for k, v in parse_qs(location.query).items()}


def finish(client, callback_path, state, code="sample-code"):
    return client.get(callback_path, {"code": code, "state": state})


def test_login_page_shows_buttons_only_for_configured_providers(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": app("gh-client", "GitHub")}
    html = client.get(reverse("account_login")).content.decode()
    assert "/accounts/github/login/" in html
    for absent in ("/accounts/google/", "/accounts/orcid/", "/accounts/oidc/"):
        assert absent not in html
    check_page(html)


def test_login_page_shows_all_four_when_configured(client, db, providers):
    html = client.get(reverse("account_login")).content.decode()
    for name in ("GitHub", "Google", "ORCID", "Hugging Face"):
        assert f">{name}</a>" in html
    check_page(html)


def test_providers_are_switched_on_by_their_environment_variables():
    def providers_with(**env):
        base = {k: v for k, v in os.environ.items() if not k.endswith(("_CLIENT_ID", "_SECRET"))}
        code = (
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
            "django.setup(); from django.conf import settings;"
            "print(','.join(sorted(settings.SOCIALACCOUNT_PROVIDERS)))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=base | {"DEBUG": "1"} | env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    assert providers_with() == ""
    assert providers_with(GITHUB_CLIENT_ID="x") == "", "an id without a secret is off"
    assert (
        providers_with(
            GITHUB_CLIENT_ID="a",
            GITHUB_CLIENT_SECRET="b",
            ORCID_CLIENT_ID="c",
            ORCID_CLIENT_SECRET="d",
            HUGGINGFACE_CLIENT_ID="e",
            HUGGINGFACE_CLIENT_SECRET="f",
        )
        == "github,openid_connect,orcid"
    )


def test_github_sign_in_creates_a_verified_account(client, providers, mocked):
    location, query = start(client, "/accounts/github/login/")
    assert location.netloc == "github.com" and location.path == "/login/oauth/authorize"
    assert query["client_id"] == "gh-client"
    assert query["redirect_uri"] == "http://testserver/accounts/github/login/callback/"

    mocked.post("https://github.com/login/oauth/access_token", json=fixture("github_token.json"))
    mocked.get("https://api.github.com/user", json=fixture("github_user.json"))
    mocked.get("https://api.github.com/user/emails", json=fixture("github_emails.json"))
    response = finish(client, "/accounts/github/login/callback/", query["state"])

    assert response.status_code == 302, response.content.decode()[:3000]
    token_call = mocked.calls[0].request
    assert parse_qs(token_call.body)["code"] == ["sample-code"]
    assert (
        mocked.calls[1]
        .request.headers["Authorization"]
        .endswith(fixture("github_token.json")["access_token"])
    )
    account = SocialAccount.objects.get(provider="github")
    assert account.uid == "1"
    user = account.user
    assert user.email == "octocat@github.com" and user.username == "octocat"
    assert user.has_verified_email()
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_forged_state_is_refused(client, providers, mocked):
    start(client, "/accounts/github/login/")
    response = finish(client, "/accounts/github/login/callback/", "forged-state")
    assert response.status_code == 401
    assert not SocialAccount.objects.exists()
    assert len(mocked.calls) == 0
    check_page(response.content)


def test_google_sign_in_reads_the_id_token(client, providers, mocked):
    location, query = start(client, "/accounts/google/login/")
    assert location.netloc == "accounts.google.com"
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "azp": "google-client.apps.googleusercontent.com",
        "aud": "google-client.apps.googleusercontent.com",
        "sub": "110169484474386276334",
        "email": "grace@example.org",
        "email_verified": True,
        "name": "Grace Hopper",
        "given_name": "Grace",
        "family_name": "Hopper",
        "iat": now,
        "exp": now + 3600,
    }
    token = fixture("google_token.json") | {
        "id_token": jwt.encode(claims, "not-googles-key", algorithm="HS256")
    }
    mocked.post("https://oauth2.googleapis.com/token", json=token)
    response = finish(client, "/accounts/google/login/callback/", query["state"])
    assert response.status_code == 302, response.content.decode()[:3000]
    user = SocialAccount.objects.get(provider="google", uid=claims["sub"]).user
    assert user.email == "grace@example.org" and user.has_verified_email()
    assert client.session["_auth_user_id"] == str(user.pk)


def test_hugging_face_sign_in_through_openid_connect(client, providers, mocked):
    mocked.get(
        "https://huggingface.co/.well-known/openid-configuration",
        json=fixture("huggingface_openid_configuration.json"),
    )
    location, query = start(client, "/accounts/oidc/huggingface/login/")
    assert location.netloc == "huggingface.co" and location.path == "/oauth/authorize"
    assert "openid" in query["scope"]

    mocked.post("https://huggingface.co/oauth/token", json=fixture("huggingface_token.json"))
    mocked.get("https://huggingface.co/oauth/userinfo", json=fixture("huggingface_userinfo.json"))
    response = finish(client, "/accounts/oidc/huggingface/login/callback/", query["state"])
    assert response.status_code == 302, response.content.decode()[:3000]
    account = SocialAccount.objects.get(provider="huggingface")
    assert account.uid == "60f1a1b2c3d4e5f6a7b8c9d0"
    assert account.user.email == "ada@example.org"
    assert client.session["_auth_user_id"] == str(account.user.pk)


def orcid_flow(client, mocked, record=None, **params):
    _, query = start(client, "/accounts/orcid/login/", **params)
    mocked.post("https://pub.orcid.org/oauth/token", json=fixture("orcid_token.json"))
    mocked.get(
        "https://pub.orcid.org/v3.0/0000-0001-6796-198X/record",
        json=record or fixture("orcid_record.json"),
    )
    return finish(client, "/accounts/orcid/login/callback/", query["state"])


def orcid_sign_up(client, mocked, smtp_server):
    """ORCID does not say the address is verified, so the new account verifies it."""
    response = orcid_flow(client, mocked)
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    client.post(link_in(smtp_server.messages[-1], "/accounts/confirm-email/"))
    return SocialAccount.objects.get(provider="orcid", uid="0000-0001-6796-198X").user


def test_orcid_sign_in_creates_an_account_once_its_email_is_verified(
    client, providers, mocked, smtp_server
):
    user = orcid_sign_up(client, mocked, smtp_server)
    assert user.orcid_name() == "Patricia Lawrence"
    assert user.email == "lawrencepatricia@mailinator.com"
    assert client.session["_auth_user_id"] == str(user.pk)


def authored(name, arxiv_id, **fields):
    """The author `name` of a paper with this arXiv id."""
    paper = PaperFactory(arxiv_id=arxiv_id, authors=[name, "A Coauthor"], **fields)
    return paper.authorships.get(position=0).author


def connect_orcid_with_claims(client, mocked, *authors, record=None):
    member = verified(UserFactory(username="patricia"))
    sign_in(client, member)
    for author in authors:
        client.post(reverse("accounts:claim_author", args=[author.slug]))
    assert AuthorClaim.objects.filter(status="pending").count() == len(authors)
    response = orcid_flow(client, mocked, record=record, process="connect")
    assert response.status_code == 302, response.content.decode()[:3000]
    assert SocialAccount.objects.get(provider="orcid").user == member
    return member


def test_connecting_orcid_approves_a_claim_whose_name_and_a_listed_work_match(
    client, providers, mocked
):
    # The record lists arXiv:2401.01234 among its works; the name normalises to the
    # record's "Patricia Lawrence".
    author = authored("Patrícia  Lawrence", "2401.01234")
    other = authored("Someone Else Entirely", "2401.01235")
    member = connect_orcid_with_claims(client, mocked, author, other)
    author.refresh_from_db()
    assert author.claimed_by == member
    claim = AuthorClaim.objects.get(author=author)
    assert claim.status == "approved"
    assert "2401.01234" in claim.reason
    assert AuthorClaim.objects.get(author=other).status == "pending"


def test_a_matching_name_without_a_listed_work_of_the_author_waits_for_a_moderator(
    client, providers, mocked
):
    author = authored("Patricia Lawrence", "2312.00001", doi="10.1000/not-listed")
    connect_orcid_with_claims(client, mocked, author)
    assert AuthorClaim.objects.get().status == "pending"
    author.refresh_from_db()
    assert author.claimed_by is None


def test_an_orcid_record_that_lists_no_works_leaves_the_claim_pending(client, providers, mocked):
    record = fixture("orcid_record.json")
    record["activities-summary"]["works"]["group"] = []
    author = authored("Patricia Lawrence", "2401.01234")
    connect_orcid_with_claims(client, mocked, author, record=record)
    assert AuthorClaim.objects.get().status == "pending"


def test_a_claim_by_a_user_with_orcid_connected_is_approved_at_once(
    client, providers, mocked, smtp_server
):
    user = orcid_sign_up(client, mocked, smtp_server)
    # Listed on the record only as arXiv's DOI, 10.48550/arXiv.2402.05678.
    author = authored("Patricia Lawrence", "2402.05678")
    response = client.post(reverse("accounts:claim_author", args=[author.slug]), follow=True)
    assert "You are now shown as Patricia Lawrence" in response.content.decode()
    author.refresh_from_db()
    assert author.claimed_by == user


def test_a_pending_vote_is_cast_after_social_sign_in(client, providers, mocked):
    paper = PaperFactory()
    client.post(reverse("papers:vote", args=[paper.arxiv_id]), {"action": "up", "next": "/new/"})
    _, query = start(client, "/accounts/github/login/", next="/new/")
    mocked.post("https://github.com/login/oauth/access_token", json=fixture("github_token.json"))
    mocked.get("https://api.github.com/user", json=fixture("github_user.json"))
    mocked.get("https://api.github.com/user/emails", json=fixture("github_emails.json"))
    response = finish(client, "/accounts/github/login/callback/", query["state"])
    assert response["Location"] == "/new/"
    assert Vote.objects.filter(paper=paper, user__username="octocat").exists()


def test_connected_accounts_page_lists_the_connection(client, providers, mocked, smtp_server):
    orcid_sign_up(client, mocked, smtp_server)
    html = Client().get("/").content.decode()  # another visitor
    assert "Patricia" not in html
    page = client.get(reverse("socialaccount_connections"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="account"' in html and "orcid" in html.lower()
    assert "/accounts/github/login/?process=connect" in html
    check_page(page.content)


def test_a_social_sign_in_with_a_taken_email_neither_joins_nor_reveals_the_account(
    client, providers, mocked, smtp_server
):
    verified(UserFactory(username="octo", email="octocat@github.com"))
    _, query = start(client, "/accounts/github/login/")
    mocked.post("https://github.com/login/oauth/access_token", json=fixture("github_token.json"))
    mocked.get("https://api.github.com/user", json=fixture("github_user.json"))
    mocked.get("https://api.github.com/user/emails", json=fixture("github_emails.json"))
    response = finish(client, "/accounts/github/login/callback/", query["state"])
    # allauth answers as for a new address (no account enumeration) and mails the owner.
    assert response["Location"] == reverse("account_email_verification_sent")
    page = client.get(response["Location"])
    check_page(page.content)
    assert list(User.objects.values_list("username", flat=True)) == ["octo"]
    assert not SocialAccount.objects.exists()
    assert "_auth_user_id" not in client.session
    assert [m["To"] for m in smtp_server.messages] == ["octocat@github.com"]


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/github/login/",
        "/accounts/github/login/callback/",
        "/accounts/google/login/",
        "/accounts/orcid/login/callback/",
        "/accounts/oidc/huggingface/login/",
    ],
)
def test_a_provider_that_is_not_configured_has_no_pages(client, db, settings, path):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


def test_connected_accounts_are_left_out_of_settings_without_providers(client, voter, settings):
    client.force_login(voter)
    settings.SOCIALACCOUNT_PROVIDERS = {}
    for url in ("/settings/", "/accounts/email/"):
        assert "Connected accounts" not in client.get(url).content.decode()
    settings.SOCIALACCOUNT_PROVIDERS = {"github": app("gh-client", "GitHub")}
    for url in ("/settings/", "/accounts/email/"):
        assert "Connected accounts" in client.get(url).content.decode()
