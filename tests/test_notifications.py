"""Notifications (issue 14): replies, mentions and moderation reach the inbox exactly
once per event, even under concurrent requests; mails are opt-in, at most one per
discussion an hour, and carry a signed link that stops them."""

import re
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from discussion.models import Comment
from moderation.models import hide_comment
from notifications import events
from notifications.mail import stop_token
from notifications.models import MailClaim, Notification, NotificationSettings

from .discussion_helpers import comment_on, member, post_url
from .factories import PaperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper():
    return PaperFactory()


@pytest.fixture
def alice():
    return member("alice")


@pytest.fixture
def bob():
    return member("bob")


def kinds(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_a_reply_notifies_the_parents_author_and_nobody_else(paper, alice, bob):
    parent = comment_on(paper, alice, "Question")
    comment_on(paper, bob, "Answer", parent=parent)
    comment_on(paper, alice, "Answering myself", parent=parent)
    assert kinds(alice) == ["reply"] and kinds(bob) == []


def test_a_mention_notifies_an_existing_user_once(paper, alice, bob):
    carol = member("carol")
    comment_on(paper, alice, "@bob @carol @bob and @ghost, thoughts?")
    assert kinds(bob) == ["mention"] and kinds(carol) == ["mention"]
    assert Notification.objects.count() == 2


def test_a_reply_that_also_mentions_the_parent_author_is_one_notification(paper, alice, bob):
    parent = comment_on(paper, alice, "Question")
    comment_on(paper, bob, "@alice here is the answer", parent=parent)
    assert kinds(alice) == ["reply"]


def test_an_edit_notifies_only_newly_mentioned_users(paper, alice, bob):
    carol = member("carol")
    comment = comment_on(paper, alice, "cc @bob")
    comment.edit("cc @bob and @carol")
    comment.edit("cc @bob and @carol, fixed a typo")
    assert kinds(bob) == ["mention"] and kinds(carol) == ["mention"]


def test_hiding_a_comment_tells_its_author(paper, alice, bob):
    comment = comment_on(paper, alice, "Rude")
    hide_comment(member("mod", is_staff=True), comment, "Personal attack")
    assert kinds(alice) == ["moderation"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_notify_once_per_reply(alice):
    """Eight replies at once, each in its own connection: eight notifications, one per
    reply; and the same event notified from two connections at once is stored once."""
    paper = PaperFactory()
    parent = comment_on(paper, alice, "Parent")
    repliers = [member(f"replier{n}") for n in range(8)]
    barrier = threading.Barrier(len(repliers))
    errors = []

    def reply(user):
        try:
            barrier.wait()
            Comment.post(paper, user, f"Reply from {user.username}", parent)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reply, args=(u,)) for u in repliers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    replies = Comment.objects.filter(parent=parent)
    assert replies.count() == 8
    assert sorted(Notification.objects.values_list("comment_id", flat=True)) == sorted(
        replies.values_list("pk", flat=True)
    )
    paper.refresh_from_db()
    assert paper.comment_count == 9

    # The same event twice at once (a retried request racing the first).
    reply = replies.first()
    Notification.objects.filter(comment=reply).delete()
    barrier = threading.Barrier(2)

    def notify_again():
        try:
            barrier.wait()
            events.for_new_comment(reply, [])
        finally:
            connection.close()

    threads = [threading.Thread(target=notify_again) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Notification.objects.filter(comment=reply).count() == 1


# --- The inbox ----------------------------------------------------------------------


def test_the_inbox_lists_notifications_and_the_header_counts_unread(
    client, paper, alice, bob, django_capture_on_commit_callbacks
):
    parent = comment_on(paper, alice, "Question")
    client.force_login(alice)
    assert "unread-count" not in client.get("/").content.decode()  # cached: 0
    with django_capture_on_commit_callbacks(execute=True):
        comment_on(paper, bob, "Answer with $x$", parent=parent)
    html = client.get("/").content.decode()
    assert re.search(r'class="unread-count">.*?1.*?</span></span>', html)
    inbox = client.get(reverse("notifications:inbox")).content.decode()
    assert "replied to your comment on" in inbox and "Answer with $x$" in inbox
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notifications:mark_read"))
    assert "unread-count" not in client.get("/").content.decode()
    assert Notification.objects.unread().count() == 0


def test_the_inbox_needs_an_account(client):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_empty_inbox_says_what_will_come(client, alice):
    client.force_login(alice)
    assert "Nothing yet." in client.get(reverse("notifications:inbox")).content.decode()


# --- Email --------------------------------------------------------------------------


def _wants_mail(user, **kinds):
    NotificationSettings.objects.update_or_create(user=user, defaults=kinds)


@pytest.mark.django_db(transaction=True)
def test_a_reply_mails_its_reader_once_an_hour_per_discussion(smtp_server, alice, bob):
    paper, other = PaperFactory(), PaperFactory()
    _wants_mail(alice, email_reply=True)
    parent = comment_on(paper, alice, "Question")
    elsewhere = comment_on(other, alice, "Another question")
    comment_on(paper, bob, "First answer", parent=parent)
    comment_on(paper, bob, "Second answer", parent=parent)  # same hour, same thread
    comment_on(other, bob, "Answer there", parent=elsewhere)
    assert smtp_server.recipients() == ["alice@example.org", "alice@example.org"]
    first = smtp_server.messages[0]
    assert str(first["Subject"]).strip().startswith("bob replied to you on “Attention")
    text = first.get_body(("plain",)).get_content()
    assert "First answer" in text
    stop = re.search(r"(http://testserver/notifications/stop/[^/\s]+/)", text).group(1)
    assert str(first["List-Unsubscribe"]).strip() == f"<{stop}>"
    assert MailClaim.objects.count() == 2
    assert Notification.objects.filter(recipient=alice).count() == 3  # all in the inbox


def test_no_mail_without_asking_or_without_a_verified_address(smtp_server, paper, alice):
    unverified = member("unverified", verify=False)
    _wants_mail(unverified, email_reply=True)
    comment_on(paper, member("carol"), "Reply", parent=comment_on(paper, alice, "Q"))
    comment_on(paper, member("dave"), "Reply", parent=comment_on(paper, unverified, "Q"))
    assert smtp_server.envelopes == []


def test_the_stop_link_asks_then_stops_that_kind_only(client, alice):
    _wants_mail(alice, email_reply=True, email_mention=True)
    url = reverse("notifications:stop", args=[stop_token(alice.pk, "reply")])
    page = client.get(url)
    assert page.status_code == 200 and "Stop these emails" in page.content.decode()
    assert NotificationSettings.objects.get(user=alice).email_reply  # a GET changes nothing
    assert client.post(url).status_code == 200
    prefs = NotificationSettings.objects.get(user=alice)
    assert not prefs.email_reply and prefs.email_mention


def test_a_forged_stop_link_is_refused(client, alice):
    token = stop_token(alice.pk, "reply")
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.post(reverse("notifications:stop", args=[forged])).status_code == 400


def test_the_mail_claim_allows_one_mail_an_hour():
    paper, user = PaperFactory(), member("claimant")
    assert MailClaim.claim(user.pk, paper.pk)
    assert not MailClaim.claim(user.pk, paper.pk)
    later = MailClaim.objects.get().sent_at + MailClaim.MAIL_INTERVAL
    assert MailClaim.claim(user.pk, paper.pk, now=later)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_mail_after_the_comment_commits(
    smtp_server, celery_worker, client, alice, bob
):
    paper = PaperFactory()
    _wants_mail(alice, email_reply=True)
    parent = comment_on(paper, alice, "Question")
    client.force_login(bob)
    client.post(post_url(paper), {"body": "Answer by the worker", "parent": parent.pk})
    deadline = time.monotonic() + 20
    while not smtp_server.envelopes and time.monotonic() < deadline:
        time.sleep(0.1)
    assert smtp_server.recipients() == ["alice@example.org"], celery_worker.output()[-2000:]
    assert "Answer by the worker" in smtp_server.messages[0].get_body(("plain",)).get_content()
