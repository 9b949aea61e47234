"""Notifications folded into the digest (issue 14: "optional email, immediate, or folded
into the user's digest"): notifications registers the section with digests.sections;
the digests go through a real SMTP server (and, in one test, the reply's mail task
through a real Celery worker) and are read back."""

import datetime as dt
import re
import time

import pytest
from django.urls import reverse

from digests.models import DigestDelivery
from notifications.models import Notification, NotificationSettings

from .digest_helpers import NOON, TUESDAY, body, featured, send_due, site_path
from .discussion_helpers import comment_on, member, post_url
from .factories import DigestSubscriptionFactory, PaperFactory

pytestmark = pytest.mark.django_db(transaction=True)

HEADING = "YOUR NOTIFICATIONS"


def reader_in_digest(username="alice", when=NotificationSettings.When.DIGEST, **kinds):
    user = member(username, email=f"{username}@example.org")
    NotificationSettings.objects.create(
        user=user, email_when=when, **(kinds or {"email_reply": True, "email_mention": True})
    )
    DigestSubscriptionFactory(email=user.email, user=user)
    return user


def notices_part(message) -> str:
    text = body(message, "plain")
    assert HEADING in text
    return " ".join(text[text.index(HEADING) :].split())


def test_replies_and_mentions_go_in_the_next_digest_once_and_not_at_once(smtp_server):
    featured(1)
    alice, bob = reader_in_digest(), member("bob", display_name="Bob B.")
    paper = PaperFactory(title="Sparse  attention\nat scale")
    question = comment_on(paper, alice, "Does it hold?")
    reply = comment_on(paper, bob, "It does, @alice", parent=question)
    assert smtp_server.envelopes == []  # not at once: in the digest

    send_due()

    [message] = smtp_server.messages
    part = notices_part(message)
    # One notification (a reply that mentions the parent's author is the reply).
    assert part.count("replied to your comment") == 1
    assert "Bob B. replied to your comment on “Sparse attention at scale”" in part
    assert f"http://testserver/papers/{paper.arxiv_id}/#comment-{reply.pk}" in part
    assert "http://testserver/notifications/" in part
    html = body(message, "html")
    assert "Your notifications" in html and f"#comment-{reply.pk}" in html
    assert Notification.objects.get(recipient=alice).mailed_at is not None

    # The next issue (papers of its own) does not carry them again.
    featured(1, day=TUESDAY)
    send_due(now=NOON + dt.timedelta(days=1))
    assert len(smtp_server.messages) == 2
    assert HEADING not in body(smtp_server.messages[1], "plain")


def test_a_digest_goes_with_notifications_alone_and_only_the_kinds_asked_for(smtp_server):
    alice = reader_in_digest(email_mention=True)  # mentions, not replies
    bob = member("bob")
    paper = PaperFactory()
    question = comment_on(paper, alice, "Question")
    comment_on(paper, bob, "A reply (not asked for)", parent=question)
    comment_on(paper, bob, "Mentioning @alice here")

    result = send_due()  # no papers featured: the notices alone make the issue

    assert result.sent == 1
    part = notices_part(smtp_server.messages[0])
    assert "bob mentioned you on" in part and "replied" not in part
    reply = Notification.objects.get(kind=Notification.Kind.REPLY)
    assert reply.mailed_at is None  # not sent: still in the inbox


def test_read_or_mailed_at_once_notifications_stay_out_of_the_digest(smtp_server):
    featured(1)
    alice = reader_in_digest(when=NotificationSettings.When.AT_ONCE)
    bob, paper = member("bob"), PaperFactory()
    question = comment_on(paper, alice, "Question")
    comment_on(paper, bob, "Answer mailed at once", parent=question)
    assert smtp_server.recipients() == ["alice@example.org"]
    comment_on(paper, bob, "Second answer (the hour's mail went)", parent=question)
    comment_on(paper, bob, "Third answer, read on the site", parent=question)
    Notification.objects.filter(comment__body__startswith="Third").update(read_at=NOON)
    NotificationSettings.objects.filter(user=alice).update(
        email_when=NotificationSettings.When.DIGEST
    )

    send_due()

    part = notices_part(smtp_server.messages[1])
    assert part.count("replied to your comment") == 1  # the second answer only
    assert Notification.objects.filter(mailed_at__isnull=True).count() == 1  # the read one


def test_the_digests_stop_link_stops_them_all(client, smtp_server):
    featured(1)
    alice = reader_in_digest()
    paper = PaperFactory()
    comment_on(paper, member("bob"), "Hello", parent=comment_on(paper, alice, "Q"))
    send_due()
    text = body(smtp_server.messages[0], "plain")
    stop = re.search(r"Stop these in your digest: (\S+)", text).group(1)
    page = client.get(site_path(stop))
    assert page.status_code == 200 and "in your digest" in page.content.decode()
    assert client.post(site_path(stop)).status_code == 200
    prefs = NotificationSettings.objects.get(user=alice)
    assert not (prefs.email_reply or prefs.email_mention or prefs.email_moderation)


def test_the_settings_offer_the_digest(client):
    alice = member("alice")
    client.force_login(alice)
    assert "Folded into my email digest" in client.get(reverse("notifications:inbox")).text
    client.post(
        reverse("notifications:email_settings"),
        {"email_reply": "on", "email_when": "digest"},
    )
    prefs = NotificationSettings.objects.get(user=alice)
    assert prefs.email_reply and prefs.email_when == "digest"


def test_with_a_real_worker_the_reply_waits_for_the_digest(smtp_server, celery_worker, client):
    featured(1)
    alice, bob = reader_in_digest(), member("bob")
    carol = member("carol", email="carol@example.org")
    NotificationSettings.objects.create(user=carol, email_mention=True)  # at once
    paper = PaperFactory()
    question = comment_on(paper, alice, "Question")
    client.force_login(bob)
    body_ = "Answer for the digest, and @carol at once"
    client.post(post_url(paper), {"body": body_, "parent": question.pk})
    # One task mails both notifications: once carol's is here, alice's was passed over.
    deadline = time.monotonic() + 20
    while not smtp_server.envelopes and time.monotonic() < deadline:
        time.sleep(0.1)
    assert smtp_server.recipients() == ["carol@example.org"], celery_worker.output()[-2000:]

    send_due()

    assert smtp_server.recipients() == ["carol@example.org", "alice@example.org"]
    assert "bob replied to your comment" in notices_part(smtp_server.messages[1])
    assert DigestDelivery.objects.get().status == DigestDelivery.Status.SENT
