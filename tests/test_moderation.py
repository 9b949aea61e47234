"""Moderation in the open (issue 14): flags, the queue, hiding, locking, suspending, and
the public log (with its feed) that records every action, the admin's included."""

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.urls import reverse

from discussion.models import Comment, Flag, Suspension
from moderation.models import ModerationAction, suspend_user
from papers.models import Paper, Vote

from .discussion_helpers import action_url, comment_on, member, post_url
from .factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper():
    return PaperFactory(arxiv_id="2411.00002")


@pytest.fixture
def alice():
    return member("alice")


@pytest.fixture
def bob():
    return member("bob")


@pytest.fixture
def mod():
    user = member("mod")
    Group.objects.get_or_create(name="moderator")[0].user_set.add(user)
    return user


def count_of(paper):
    return Paper.objects.get(pk=paper.pk).comment_count


# --- Flags --------------------------------------------------------------------------


def test_a_reader_flags_a_comment_once(client, paper, alice, bob):
    comment = comment_on(paper, alice, "Buy cheap pills")
    client.force_login(bob)
    assert "Spam or advertising" in client.get(action_url("flag", comment)).content.decode()
    for _ in range(3):
        response = client.post(action_url("flag", comment), {"reason": "spam"})
        assert response.status_code == 302
    assert Flag.objects.filter(comment=comment).count() == 1


def test_flagging_is_rate_limited(client, paper, alice, bob, settings):
    settings.FLAG_RATE_LIMIT = "2/h"
    comments = [comment_on(paper, alice, f"Comment {n}") for n in range(3)]
    client.force_login(bob)
    statuses = [
        client.post(action_url("flag", c), {"reason": "off_topic"}).status_code for c in comments
    ]
    assert statuses == [302, 302, 429]
    assert Flag.objects.count() == 2


def test_a_flag_needs_a_listed_reason(client, paper, alice, bob):
    comment = comment_on(paper, alice, "Hmm")
    client.force_login(bob)
    assert client.post(action_url("flag", comment), {"reason": "boring"}).status_code == 400
    assert not Flag.objects.exists()


# --- Who moderates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/moderation/queue/", "/moderation/comments/{pk}/hide/", "/moderation/users/alice/suspend/"],
)
def test_readers_can_not_moderate(client, paper, alice, bob, url):
    comment = comment_on(paper, alice, "Fine")
    client.force_login(bob)
    assert client.get(url.format(pk=comment.pk)).status_code == 403
    response = client.post(url.format(pk=comment.pk), {"reason": "because"})
    assert response.status_code == 403
    assert not ModerationAction.objects.exists() and not Suspension.objects.exists()


def test_the_queue_shows_reported_comments_most_reported_first(client, paper, alice, bob, mod):
    once, twice = comment_on(paper, alice, "Reported once"), comment_on(paper, bob, "Twice")
    Flag.objects.create(comment=once, user=bob, reason="off_topic")
    for user in (alice, member("carol")):
        Flag.objects.create(comment=twice, user=user, reason="abuse", note="rude <b>")
    client.force_login(mod)
    html = client.get("/moderation/queue/").content.decode()
    assert html.index("Twice") < html.index("Reported once")
    assert "Abusive or harassing: “rude &lt;b&gt;”" in html


# --- Actions and the log ------------------------------------------------------------


def test_hiding_a_comment_keeps_its_place_with_the_public_reason(client, paper, alice, bob, mod):
    comment = comment_on(paper, alice, "Insulting text")
    Flag.objects.create(comment=comment, user=bob, reason="abuse")
    client.force_login(mod)
    response = client.post(f"/moderation/comments/{comment.pk}/hide/", {"reason": "Insults"})
    assert response.status_code == 302
    assert count_of(paper) == 0
    assert Flag.objects.get().resolved_at is not None
    client.force_login(bob)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert "Hidden by a moderator: Insults" in html and "Insulting text" not in html
    log = client.get("/moderation/").content.decode()
    assert "Hid a comment" in log and "@mod" in log and "“Insults”" in log
    feed = client.get("/moderation.atom").content.decode()
    assert "Hid a comment" in feed and "Insults" in feed
    # Reversible, and logged too.
    client.force_login(mod)
    client.post(f"/moderation/comments/{comment.pk}/unhide/", {"reason": ""})
    assert count_of(paper) == 1
    assert list(ModerationAction.objects.values_list("kind", flat=True)) == [
        "unhide_comment",
        "hide_comment",
    ]


def test_hiding_needs_a_reason(client, paper, alice, mod):
    comment = comment_on(paper, alice, "Text")
    client.force_login(mod)
    assert (
        client.post(f"/moderation/comments/{comment.pk}/hide/", {"reason": ""}).status_code == 400
    )
    assert Comment.objects.get(pk=comment.pk).hidden_at is None


def test_a_locked_discussion_takes_no_new_comments_but_moderators_may_answer(
    client, paper, alice, mod
):
    client.force_login(mod)
    client.post(f"/moderation/papers/{paper.arxiv_id}/lock/", {"reason": "Flame war"})
    client.force_login(alice)
    response = client.post(post_url(paper), {"body": "But I insist"})
    assert response.status_code == 403 and "locked: Flame war" in response.content.decode()
    assert "This discussion is locked by the moderators: Flame war" in (
        client.get(paper.get_absolute_url()).content.decode()
    )
    client.force_login(mod)
    assert client.post(post_url(paper), {"body": "Locked for a day."}).status_code == 302
    client.post(f"/moderation/papers/{paper.arxiv_id}/lock/", {"reason": "Calmer now"})
    client.force_login(alice)
    assert client.post(post_url(paper), {"body": "Thanks"}).status_code == 302
    kinds = list(ModerationAction.objects.values_list("kind", flat=True))
    assert kinds == ["unlock_thread", "lock_thread"]


def test_a_suspended_user_is_hidden_and_can_neither_post_nor_vote(client, paper, alice, bob, mod):
    comment_on(paper, alice, "Spam 1")
    other = comment_on(paper, bob, "Bob's comment")
    client.force_login(mod)
    client.post("/moderation/users/alice/suspend/", {"reason": "Spam"})
    assert count_of(paper) == 1
    client.force_login(alice)
    html = client.get(paper.get_absolute_url()).content.decode()
    assert "Spam 1" not in html and "its author's account is suspended" in html
    assert client.post(post_url(paper), {"body": "More spam"}).status_code == 403
    response = client.post(action_url("vote", other), {"action": "up"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    response = client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": "up"})
    assert response.status_code == 302 and not Vote.objects.exists()
    assert Comment.objects.get(pk=other.pk).score == 0
    # Lifted: everything is back.
    client.force_login(mod)
    client.post("/moderation/users/alice/suspend/", {"reason": ""})
    assert count_of(paper) == 2 and not Suspension.objects.exists()
    kinds = list(ModerationAction.objects.values_list("kind", flat=True))
    assert kinds == ["unsuspend_user", "suspend_user"]


def test_a_suspended_users_paper_vote_is_refused_in_place(client, paper, alice):
    suspend_user(None, alice, "Vote ring")
    client.force_login(alice)
    response = client.post(
        f"/papers/{paper.arxiv_id}/vote/", {"action": "up"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403 and "suspended" in response.content.decode()


def test_a_suspended_users_vote_asked_before_signing_in_is_not_cast(client, paper, alice):
    # The vote asked while signed out waits for the sign-in (papers.pending_votes);
    # meanwhile the account was suspended.
    from accounts.models import User

    from .accounts_helpers import PASSWORD

    User.objects.filter(pk=alice.pk).update(password=make_password(PASSWORD))
    suspend_user(None, alice, "Vote ring")
    client.post(f"/papers/{paper.arxiv_id}/vote/", {"action": "up", "next": "/"})
    response = client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    assert not Vote.objects.exists()


def test_hiding_a_paper_in_the_admin_is_logged(admin_client, paper):
    response = admin_client.post(
        reverse("admin:papers_paper_changelist"),
        {"action": "hide", "_selected_action": [paper.pk]},
    )
    assert response.status_code == 302
    action = ModerationAction.objects.get()
    assert action.kind == "hide_paper" and action.paper == paper
    assert "Hid a paper" in admin_client.get("/moderation/").content.decode()


def test_an_empty_log_says_so(client):
    assert "No moderator has had to act yet." in client.get("/moderation/").content.decode()
