"""Abuse: sign-in, sign-up, voting, submitting, claiming and subscribing are rate
limited with a 429 and a message; the admin signs in through the rate-limited sign-in;
admin pages need staff; one user can't change another's data."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuthorClaim, User
from digests.models import DigestSubscription
from ingest.models import Submission
from papers.models import Vote

from .accounts_helpers import PASSWORD, verified
from .factories import AuthorFactory, DigestSubscriptionFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    return verified(UserFactory(username="member", email="member@example.org"))


@pytest.fixture
def other(db):
    return verified(UserFactory(username="other", email="other@example.org"))


# --- Rate limits answer 429 ----------------------------------------------------------------


def test_failed_sign_ins_past_the_limit_get_a_429_with_allauths_message(member):
    client = Client()
    for _ in range(5):  # allauth's default: 5 failures per address in 5 minutes
        response = client.post("/accounts/login/", {"login": member.email, "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"login": member.email, "password": "wrong"})
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    # Even the right password waits: a guesser can't tell.
    response = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_sign_ins_from_one_network_past_the_limit_get_a_429(settings, member):
    settings.ACCOUNT_RATE_LIMITS = {"login": "3/m/ip"}
    client = Client()
    statuses = [
        client.post("/accounts/login/", {"login": f"x{i}@example.org", "password": "x"}).status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    page = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    assert page.status_code == 429
    assert "Too many requests" in page.content.decode()
    assert "wait a few minutes" in page.content.decode()


def test_sign_ups_past_the_limit_get_a_429_page(settings, db):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/m/ip"}
    client = Client()
    statuses = []
    for i in range(3):
        data = {
            "email": f"new{i}@example.org",
            "username": f"new{i}",
            "password1": PASSWORD,
            "password2": PASSWORD,
        }
        statuses.append(client.post("/accounts/signup/", data).status_code)
    assert statuses == [302, 302, 429]
    assert User.objects.count() == 2


def test_votes_past_the_limit_get_a_429_with_a_message(settings, member):
    settings.VOTE_RATE_LIMIT = "2/d"
    paper = PaperFactory()
    client = Client()
    client.force_login(member)
    url = reverse("papers:vote", args=[paper.arxiv_id])
    for action in ("up", "remove"):
        client.post(url, {"action": action}, HTTP_HX_REQUEST="true")
    response = client.post(url, {"action": "up"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    assert "voting too fast" in response.content.decode()
    assert not Vote.objects.exists()


def test_submissions_past_the_limit_get_a_429_with_a_message(settings, member):
    settings.SUBMIT_RATE_LIMIT = "1/h"
    client = Client()
    client.force_login(member)
    client.post("/submit/", {"paper": "2406.00001"})
    response = client.post("/submit/", {"paper": "2406.00002"})
    assert response.status_code == 429
    assert "papers recently" in response.content.decode()
    assert "Try again in" in response.content.decode()
    assert Submission.objects.count() <= 1


def test_subscriptions_past_the_limit_get_a_429_with_a_message(settings, db):
    settings.DIGEST_SUBSCRIBE_RATE_IP = "1/h"
    client = Client()
    client.post("/digest/subscribe/", {"email": "a@example.org", "frequency": "daily"})
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(
            "/digest/subscribe/", {"email": "b@example.org", "frequency": "daily"}, **headers
        )
        assert response.status_code == 429
        assert "Too many sign-ups from here" in response.content.decode()
    assert not DigestSubscription.objects.filter(email="b@example.org").exists()


# --- The admin --------------------------------------------------------------------------------


def test_the_admin_signs_in_through_the_rate_limited_sign_in_page(db):
    client = Client()
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    # Its old form takes no password: a POST is sent to the same place.
    response = client.post("/admin/login/", {"username": "admin", "password": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_guessing_a_staff_password_is_rate_limited_like_anyone_elses(db):
    staff = verified(UserFactory(username="moderator", is_staff=True, is_superuser=True))
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/?next=/admin/", {"login": staff.email, "password": "no"})
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": staff.email, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302  # still signed out


def test_admin_pages_need_staff(member):
    client = Client()
    client.force_login(member)
    for url in ("/admin/", "/admin/papers/paper/", "/admin/accounts/user/", "/admin/login/"):
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"], url
    assert client.get("/admin/login/").status_code == 403
    assert "Not allowed" in client.get("/admin/login/").content.decode()
    staff = UserFactory(username="staff", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/papers/paper/").status_code == 200


# --- One user can't change another's data --------------------------------------------------


def test_settings_forms_only_ever_change_the_signed_in_user(member, other):
    client = Client()
    client.force_login(member)
    client.post("/settings/", {"display_name": "Changed", "username": "other", "pk": other.pk})
    other.refresh_from_db()
    assert other.display_name != "Changed"
    theirs = DigestSubscriptionFactory(user=other, email=other.email)
    client.post("/settings/digest/", {"frequency": "weekly", "user": other.pk, "pk": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.frequency == "daily"


def test_one_user_cant_withdraw_anothers_vote_or_claim(member, other):
    paper = PaperFactory()
    paper.add_vote(other)
    author = AuthorFactory(name="Grace Hopper")
    claim = AuthorClaim.submit(other, author, note="me")
    client = Client()
    client.force_login(member)
    client.post(reverse("papers:vote", args=[paper.arxiv_id]), {"action": "remove"})
    client.post(f"/authors/{author.slug}/claim/withdraw/")
    assert Vote.objects.filter(user=other, paper=paper).exists()
    paper.refresh_from_db()
    assert paper.upvote_count == 1
    claim.refresh_from_db()
    assert claim.status == AuthorClaim.PENDING


def test_one_user_cant_see_anothers_submission(member, other):
    submission = Submission.objects.create(user=other, arxiv_id="2406.00003")
    client = Client()
    client.force_login(member)
    response = client.get(f"/submit/{submission.pk}/status/", HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    response = client.get("/submit/", {"submission": submission.pk})
    assert "2406.00003" not in response.content.decode()


def test_deleting_an_account_needs_its_own_password(member, other):
    client = Client()
    client.force_login(member)
    client.post("/settings/delete/", {"password": PASSWORD, "user": other.pk})
    assert User.objects.filter(pk=other.pk, is_active=True).exists()
