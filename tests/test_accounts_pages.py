"""Every account page a person can reach renders in the site's layout and passes the
page checks (tests/page_checks.py)."""

import datetime as dt
import re

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from django.urls import reverse

from accounts.models import PROFILE_COUNT_CAP, AuthorClaim
from papers.models import Author, Paper, Vote

from .factories import AuthorFactory, PaperFactory, UserFactory, VoteFactory
from .page_checks import check_page

ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
    "account_inactive",
    "socialaccount_login_cancelled",
    "socialaccount_login_error",
]

SIGNED_IN_PAGES = [
    "account_email",
    "account_change_password",
    "account_logout",
    "account_reauthenticate",
    "socialaccount_connections",
    "mfa_index",
    "accounts:settings",
    "accounts:delete",
]


def sign_in(client, user, password="correct horse battery staple"):
    """Sign in through the form, as a person does (allauth then knows when they last
    authenticated, which the MFA pages ask for)."""
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def member(db):
    return verified(UserFactory(username="member", display_name="Mia Member"))


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_anonymous_account_page_is_valid_html_in_the_site_layout(client, db, name):
    response = client.get(reverse(name))
    # The social login error page says "401 Unauthorized", as it should.
    assert response.status_code == (401 if name == "socialaccount_login_error" else 200)
    check_page(response.content)
    assert b'class="site-header"' in response.content


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_account_page_is_valid_html_in_the_site_layout(client, member, name):
    sign_in(client, member)
    if name == "accounts:delete":  # asks for the password again first
        client.post(reverse("account_reauthenticate"), {"password": "correct horse battery staple"})
    response = client.get(reverse(name))
    assert response.status_code == 200, response
    check_page(response.content)
    if name not in ("account_logout", "account_reauthenticate"):
        assert b'class="settings-nav"' in response.content


def test_sign_up_page_with_errors_is_valid_html(client, db):
    response = client.post(reverse("account_signup"), {"email": "bad", "username": ""})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    check_page(response.content)


def test_login_page_with_errors_is_valid_html(client, member):
    response = client.post(
        reverse("account_login"), {"login": member.email, "password": "wrong password"}
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    check_page(response.content)


def test_password_reset_from_key_page_is_valid_html(client, member):
    key = default_token_generator.make_token(member)
    url = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(member), "key": key},
    )
    response = client.get(url, follow=True)
    assert response.status_code == 200
    assert b'name="password1"' in response.content
    check_page(response.content)


def test_confirm_email_page_is_valid_html(client, db):
    user = UserFactory()
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True)
    key = EmailConfirmationHMAC(address).key
    response = client.get(reverse("account_confirm_email", args=[key]))
    assert response.status_code == 200
    assert b"<form" in response.content
    check_page(response.content)


def test_an_expired_confirmation_link_explains_itself(client, db):
    response = client.get(reverse("account_confirm_email", args=["not-a-key"]))
    assert response.status_code == 200
    assert b"expired or is invalid" in response.content
    check_page(response.content)


def test_password_set_page_is_valid_html(client, db):
    user = verified(UserFactory(password=None))
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    response = client.get(reverse("account_set_password"))
    assert response.status_code == 200
    check_page(response.content)


def test_mfa_pages_with_totp_on_are_valid_html(client, member):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(member, generate_totp_secret())
    RecoveryCodes.activate(member)
    client.force_login(member)  # pages that need a fresh sign-in lead to reauthenticate
    for name in (
        "mfa_index",
        "mfa_deactivate_totp",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
    ):
        response = client.get(reverse(name), follow=True)
        assert response.status_code == 200, name
        check_page(response.content)
    assert Authenticator.objects.filter(user=member).count() == 2


def test_profile_page_is_valid_html_with_every_tab(client, member, voter):
    author = AuthorFactory(name="Mia Member")
    author.claimed_by = member
    author.save()
    AuthorClaim.objects.create(user=member, author=author, status="approved")
    paper = PaperFactory(authors=["Mia Member", "Other Person"], submitted_by=member)
    VoteFactory(user=member, paper=paper)
    VoteFactory(user=member, paper=PaperFactory())
    client.force_login(voter)
    for tab in ("authored", "upvoted", "submitted"):
        response = client.get(reverse("accounts:profile", args=["member"]), {"show": tab})
        assert response.status_code == 200
        check_page(response.content)
        assert paper.title in response.content.decode()


def test_empty_profile_says_so(client, stranger):
    response = client.get(reverse("accounts:profile", args=[stranger.username]))
    assert response.status_code == 200
    assert "has not upvoted a paper yet" in response.content.decode()
    check_page(response.content)


def test_unknown_profile_is_404(client, db):
    assert client.get("/u/nobody-here/").status_code == 404


def test_nav_shows_an_account_menu_with_a_sign_out_form(client, member):
    client.force_login(member)
    html = client.get("/").content.decode()
    assert "Mia Member" in html
    assert re.search(r'<form method="post" action="/accounts/logout/">', html)
    assert 'href="/u/member/"' in html and 'href="/settings/"' in html
    check_page(html)


def test_nav_offers_sign_in_and_sign_up_to_visitors(client, db):
    html = client.get("/trending/").content.decode()
    assert 'href="/accounts/login/?next=/trending/"' in html
    assert 'href="/accounts/signup/?next=/trending/"' in html


@pytest.mark.parametrize("papers", [2, 8])
@pytest.mark.parametrize("tab", ["authored", "upvoted", "submitted"])
def test_profile_query_count_does_not_grow_with_papers(
    client, member, voter, papers, tab, django_assert_num_queries
):
    author = AuthorFactory(name="Mia Member", claimed_by=member)
    for paper in PaperFactory.create_batch(papers, authors=[author.name, "B Two", "C Three"]):
        Paper.objects.filter(pk=paper.pk).update(submitted_by=member)
        VoteFactory(user=member, paper=paper)
    client.force_login(voter)
    client.get("/")
    # The session and the viewer; the person; their authors; their public collections;
    # the three tab counts in one query; the page of papers; their first authors.
    with django_assert_num_queries(8):
        response = client.get(f"/u/member/?show={tab}")
    assert response.content.decode().count('class="card"') == papers


def test_profile_for_a_visitor_takes_six_queries(client, member, django_assert_num_queries):
    for paper in PaperFactory.create_batch(3):
        VoteFactory(user=member, paper=paper)
    # The five of a profile, and its public collections (library).
    with django_assert_num_queries(6):
        response = client.get("/u/member/")
    assert response.content.decode().count('class="card"') == 3


def card_titles(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<h2 class="card-title[^"]*"[^>]*><a [^>]*>([^<]+)</a>', html)


def test_the_upvoted_tab_lists_the_latest_vote_first_and_leaves_hidden_papers_out(client, member):
    old, new, hidden = (PaperFactory(title=t) for t in ("Voted first", "Voted last", "Hidden"))
    for paper in (old, hidden, new):
        VoteFactory(user=member, paper=paper)
    # Published order is the opposite of the votes': the tab follows the votes.
    Paper.objects.filter(pk=old.pk).update(published_at=new.published_at + dt.timedelta(days=9))
    Paper.objects.filter(pk=hidden.pk).update(is_hidden=True)
    response = client.get("/u/member/?show=upvoted")
    assert card_titles(response) == ["Voted last", "Voted first"]
    assert re.search(r"Upvoted <span class=\"count\">2</span>", response.content.decode())


def test_the_authored_tab_lists_each_paper_of_the_claimed_authors_once(client, member):
    # Two claimed names on one paper: still one card.
    first, second = AuthorFactory(name="Mia Member"), AuthorFactory(name="M. Member")
    Author.objects.filter(pk__in=[first.pk, second.pk]).update(claimed_by=member)
    PaperFactory(title="Both names", authors=["Mia Member", "M. Member"])
    PaperFactory(title="Not theirs", authors=["Someone Else"])
    response = client.get("/u/member/?show=authored")
    assert card_titles(response) == ["Both names"]
    assert 'Authored <span class="count">1</span>' in response.content.decode()


def test_tab_counts_stop_at_the_cap_and_the_pages_go_on(client, member, settings):
    settings.PAPERS_PER_PAGE = 400
    papers = Paper.objects.bulk_create(
        PaperFactory.build(arxiv_id=f"2301.{n:05d}", title=f"Bulk {n}")
        for n in range(PROFILE_COUNT_CAP + 5)
    )
    Vote.objects.bulk_create(Vote(user=member, paper=p) for p in papers)
    response = client.get("/u/member/?show=upvoted")
    html = response.content.decode()
    assert 'Upvoted <span class="count">1,000+</span>' in html
    assert "Page 1</span>" in html and 'rel="next"' in html
    last = client.get("/u/member/?show=upvoted&page=3")
    assert len(card_titles(last)) == PROFILE_COUNT_CAP + 5 - 800
    assert 'rel="next"' not in last.content.decode()


def test_a_page_past_the_end_shows_the_last_page(client, member, settings):
    settings.PAPERS_PER_PAGE = 2
    for paper in PaperFactory.create_batch(3):
        VoteFactory(user=member, paper=paper)
    response = client.get("/u/member/?show=upvoted&page=9")
    assert response.status_code == 200
    assert len(card_titles(response)) == 1
    assert "Page 2 of 2" in response.content.decode()
    check_page(response.content)
