"""The vote endpoint: htmx and plain forms, who may vote, the anonymous round trip
through sign-in (and sign-up with verification), rate limits, hidden papers, and the
voter list."""

import pytest
from django.test import Client
from django.urls import reverse

from papers.models import PendingVote, Vote

from .accounts_helpers import PASSWORD, link_in, verified
from .factories import AuthorFactory, PaperFactory, UserFactory, VoteFactory
from .page_checks import check_page

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/trending/"}


@pytest.fixture
def member(db):
    return verified(UserFactory(username="member", display_name="Mia Member"))


@pytest.fixture
def paper(db):
    return PaperFactory(title="Sparse Attention at Scale")


def vote_url(paper):
    return reverse("papers:vote", args=[paper.arxiv_id])


def test_htmx_vote_returns_the_button_with_the_new_count(client, member, paper):
    client.force_login(member)
    response = client.post(vote_url(paper), {"action": "up"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("{#") is False and "<form" in html
    assert 'aria-pressed="true"' in html and '<span class="vote-count">1</span>' in html
    assert 'name="action" value="remove"' in html
    assert 'name="next" value="/trending/"' in html
    paper.refresh_from_db()
    assert paper.upvote_count == 1

    response = client.post(vote_url(paper), {"action": "remove"}, **HTMX)
    assert '<span class="vote-count">0</span>' in response.content.decode()
    assert 'aria-pressed="false"' in response.content.decode()


def test_plain_form_vote_redirects_back_to_the_card_on_the_page(client, member, paper):
    client.force_login(member)
    response = client.post(vote_url(paper), {"action": "up", "next": "/trending/?page=2"})
    assert response.status_code == 302
    assert response["Location"] == f"/trending/?page=2#paper-{paper.pk}"
    assert Vote.objects.filter(user=member, paper=paper).exists()
    # The card carries that id.
    assert f'id="paper-{paper.pk}"' in client.get("/trending/?page=1").content.decode()
    # From the paper's own page: back to the page, no anchor needed.
    back = client.post(vote_url(paper), {"action": "remove", "next": paper.get_absolute_url()})
    assert back["Location"] == paper.get_absolute_url()


def test_an_htmx_vote_keeps_its_button_id_so_focus_stays_on_it(client, member, paper):
    client.force_login(member)
    html = client.post(vote_url(paper), {"action": "up"}, **HTMX).content.decode()
    assert f'<button type="submit" id="vote-{paper.pk}"' in html


def test_an_htmx_vote_on_the_paper_page_updates_the_voters_too(client, member, paper):
    client.force_login(member)
    on_paper = {**HTMX, "HTTP_HX_CURRENT_URL": "http://testserver" + paper.get_absolute_url()}
    html = client.post(vote_url(paper), {"action": "up"}, **on_paper).content.decode()
    assert 'id="paper-voters" aria-labelledby' in html and 'hx-swap-oob="true"' in html
    assert "Mia Member" in html
    html = client.post(vote_url(paper), {"action": "remove"}, **on_paper).content.decode()
    assert "No upvotes yet" in html
    # From a list, the voters are not there to update.
    assert (
        "paper-voters"
        not in client.post(vote_url(paper), {"action": "up"}, **HTMX).content.decode()
    )


def test_a_foreign_next_is_ignored(client, member, paper):
    client.force_login(member)
    response = client.post(vote_url(paper), {"action": "up", "next": "https://evil.example/"})
    assert response["Location"] == paper.get_absolute_url()


def test_voting_twice_is_idempotent(client, member, paper):
    client.force_login(member)
    client.post(vote_url(paper), {"action": "up"})
    client.post(vote_url(paper), {"action": "up"})
    paper.refresh_from_db()
    assert paper.upvote_count == 1 == Vote.objects.count()


def test_vote_needs_post(client, member, paper):
    client.force_login(member)
    assert client.get(vote_url(paper)).status_code == 405


def test_hidden_papers_cannot_be_voted_on(client, member):
    hidden = PaperFactory(is_hidden=True)
    client.force_login(member)
    assert client.post(vote_url(hidden), {"action": "up"}).status_code == 404
    assert Vote.objects.count() == 0


def test_an_unverified_user_is_told_to_verify(client, db, paper):
    user = UserFactory(username="unverified")
    client.force_login(user)
    response = client.post(vote_url(paper), {"action": "up"}, **HTMX)
    assert response.status_code == 403
    assert "Verify your email address to vote" in response.content.decode()
    assert Vote.objects.count() == 0

    response = client.post(vote_url(paper), {"action": "up", "next": "/"}, follow=True)
    assert "Verify your email address to vote" in response.content.decode()


def test_votes_are_rate_limited_per_user(client, member, settings):
    settings.VOTE_RATE_LIMIT = "3/d"
    papers = PaperFactory.create_batch(4)
    client.force_login(member)
    statuses = [client.post(vote_url(p), {"action": "up"}, **HTMX).status_code for p in papers]
    assert statuses == [200, 200, 200, 429]
    response = client.post(vote_url(papers[3]), {"action": "up"}, **HTMX)
    assert response.status_code == 429
    assert "You are voting too fast" in response.content.decode()
    assert Vote.objects.count() == 3
    # Without htmx: a message on the page they came from.
    response = client.post(vote_url(papers[3]), {"action": "up", "next": "/"}, follow=True)
    assert "You are voting too fast" in response.content.decode()
    # Another user has their own allowance.
    other = Client()
    other.force_login(verified(UserFactory()))
    assert other.post(vote_url(papers[3]), {"action": "up"}, **HTMX).status_code == 200


def test_an_anonymous_htmx_click_is_sent_to_sign_in(client, paper):
    response = client.post(vote_url(paper), {"action": "up"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Ftrending%2F&for=vote"


def test_a_vote_asks_the_database_four_times(client, member, paper):
    # The session, the user, the paper with whether its voter may vote (a verified
    # address, not suspended: papers.hooks.add_vote_refusal), then the vote and the
    # count in one statement.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(member)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(vote_url(paper), {"action": "up"}, **HTMX)
    assert response.status_code == 200 and '<span class="vote-count">1</span>' in (
        response.content.decode()
    )
    asked = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(asked) <= (4 if connection.vendor == "postgresql" else 8), asked


def test_an_anonymous_vote_is_cast_after_sign_in_and_lands_back(client, member, paper):
    response = client.post(vote_url(paper), {"action": "up", "next": "/trending/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Ftrending%2F&for=vote"
    login_page = client.get(response["Location"])
    check_page(login_page.content)
    assert 'href="/accounts/signup/?next=%2Ftrending%2F"' in login_page.content.decode()

    response = client.post(
        response["Location"], {"login": member.email, "password": PASSWORD, "next": "/trending/"}
    )
    assert response["Location"] == "/trending/"
    paper.refresh_from_db()
    assert paper.upvote_count == 1
    assert Vote.objects.filter(user=member, paper=paper).exists()
    assert "pending_vote" not in client.session


def test_an_anonymous_vote_survives_sign_up_and_verification(client, db, paper, smtp_server):
    client.post(vote_url(paper), {"action": "up", "next": "/new/"})
    signup = client.get("/accounts/signup/?next=/new/")
    assert 'name="next" value="/new/"' in signup.content.decode()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "fresh@example.org",
            "username": "fresh",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "/new/",
        },
    )
    assert response.status_code == 302
    assert Vote.objects.count() == 0, "not before the address is verified"
    link = link_in(smtp_server.messages[0], "/accounts/confirm-email/")
    response = client.post(link)
    assert response["Location"] == "/new/"
    assert client.session["_auth_user_id"]
    assert Vote.objects.filter(user__username="fresh", paper=paper).exists()
    paper.refresh_from_db()
    assert paper.upvote_count == 1


def test_the_vote_is_cast_when_verifying_from_another_browser(client, db, paper, smtp_server):
    client.post(vote_url(paper), {"action": "up", "next": "/new/"})
    client.post(
        "/accounts/signup/",
        {
            "email": "fresh@example.org",
            "username": "fresh",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "/new/",
        },
    )
    assert PendingVote.objects.filter(user__username="fresh", paper=paper).exists()
    link = link_in(smtp_server.messages[0], "/accounts/confirm-email/")

    phone = Client()  # the mail opened on another device: a new session
    response = phone.post(link)
    assert Vote.objects.filter(user__username="fresh", paper=paper).exists()
    assert not PendingVote.objects.exists()
    assert response["Location"] == "/accounts/login/?next=%2Fnew%2F"
    response = phone.post(
        response["Location"], {"login": "fresh@example.org", "password": PASSWORD, "next": "/new/"}
    )
    assert response["Location"] == "/new/"
    paper.refresh_from_db()
    assert paper.upvote_count == 1


def test_voters_list_marks_authors_voting_on_their_own_paper(client, member, voter):
    paper = PaperFactory(authors=["Mia Member", "Someone Else"])
    author = AuthorFactory(name="Mia Member")
    author.claimed_by = member
    author.save()
    VoteFactory(user=member, paper=paper)
    VoteFactory(user=voter, paper=paper)
    voters = {v.user.username: v.by_author for v in paper.voters_for_display()}
    assert voters == {"member": True, "voter": False}
    html = client.get(paper.get_absolute_url()).content.decode()
    check_page(html)
    section = html.split('class="voters"')[1]
    assert 'Mia Member</a> <span class="badge badge-author"' in section
    assert "Vera Voter</a></li>" in section


def test_paper_page_shows_the_viewers_vote(client, member, paper):
    VoteFactory(user=member, paper=paper)
    client.force_login(member)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert 'aria-pressed="true"' in html


def test_listing_query_count_does_not_grow_with_votes(client, member, django_assert_num_queries):
    papers = PaperFactory.create_batch(5, authors=["A One", "B Two"])
    for p in papers:
        VoteFactory(user=member, paper=p)
    client.force_login(member)
    client.get("/")  # warm the session, and cache the cards (papers.cards)
    # session, user, latest day, neighbouring days, count, the cards' keys with the votes
    with django_assert_num_queries(6):
        html = client.get("/").content.decode()
    assert html.count('aria-pressed="true"') == 5
