"""The signed links in every digest: one-click unsubscribe (RFC 8058), the manage page
behind it, and what forged or altered tokens do (nothing)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from accounts.models import DigestSubscription
from papers.digests import tokens

from .digest_helpers import DAILY, NOON, featured, send_due
from .factories import DigestSubscriptionFactory

pytestmark = pytest.mark.django_db


def url(sub) -> str:
    return f"/digest/unsubscribe/{tokens.unsubscribe_token(sub.pk)}/"


def test_one_click_post_unsubscribes_without_csrf_token_or_session():
    sub = DigestSubscriptionFactory()
    mail_client = Client(enforce_csrf_checks=True)  # what a mailbox provider's POST is

    response = mail_client.post(
        url(sub), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.paused_at is not None and sub.pause_reason == "unsubscribed"
    assert "You're unsubscribed" in response.content.decode()


def test_opening_the_link_never_unsubscribes():
    sub = DigestSubscriptionFactory()
    page = Client().get(url(sub))
    assert page.status_code == 200
    assert "Unsubscribe</button>" in page.content.decode()
    sub.refresh_from_db()
    assert sub.is_receiving


def test_the_page_button_unsubscribes_and_can_undo_it():
    sub = DigestSubscriptionFactory()
    client = Client(enforce_csrf_checks=True)
    client.post(url(sub), {"action": "unsubscribe"})
    sub.refresh_from_db()
    assert not sub.is_receiving

    back = client.post(url(sub), {"action": "resubscribe"})
    assert "the digest is on again" in back.content.decode()
    sub.refresh_from_db()
    assert sub.is_receiving


def test_a_reader_can_switch_to_weekly_from_the_link():
    sub = DigestSubscriptionFactory(frequency="daily")
    page = Client().post(url(sub), {"action": "weekly"})
    assert "you now get the weekly (mondays) digest" in page.content.decode().lower()
    sub.refresh_from_db()
    assert sub.frequency == "weekly" and sub.is_receiving


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # altered signature
        lambda t: str(int(t.split(":")[0]) + 1) + t[t.index(":") :],  # someone else's id
        lambda t: t.split(":")[0],  # no signature
        lambda t: "x" * 30,
    ],
)
def test_a_forged_or_altered_token_does_nothing(mangle):
    sub = DigestSubscriptionFactory()
    DigestSubscriptionFactory()  # the "someone else" a forged id would point at
    forged = mangle(tokens.unsubscribe_token(sub.pk))

    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/digest/unsubscribe/{forged}/")
        assert response.status_code == 400
        assert "This link doesn't work" in response.content.decode()
    assert DigestSubscription.objects.receiving().count() == 2


def test_a_token_for_another_purpose_is_refused():
    sub = DigestSubscriptionFactory()
    view_token = tokens.view_token(sub.pk)  # same number, different salt
    assert Client().post(f"/digest/unsubscribe/{view_token}/").status_code == 400
    assert Client().get(f"/digest/view/{tokens.unsubscribe_token(sub.pk)}/").status_code == 400
    sub.refresh_from_db()
    assert sub.is_receiving


def test_a_valid_token_for_a_deleted_subscription_is_a_friendly_404():
    sub = DigestSubscriptionFactory()
    link = url(sub)
    sub.delete()
    response = Client().post(link)
    assert response.status_code == 404
    assert "This link doesn't work" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_unsubscribing_is_immediate_even_in_the_middle_of_a_batch(smtp_server):
    featured(2)
    first = DigestSubscriptionFactory(email="a@example.org")
    second = DigestSubscriptionFactory(email="b@example.org")
    smtp_server.rcpt_delay = 0.5  # hold the first mail's RCPT while b unsubscribes

    sending = threading.Thread(target=lambda: (send_due(), connection.close()))
    sending.start()
    assert smtp_server.rcpt_started.wait(5)
    Client().post(url(second), "List-Unsubscribe=One-Click", content_type="text/plain")
    sending.join(20)

    assert smtp_server.recipients() == ["a@example.org"]
    assert first.deliveries.get().status == "sent"
    # b's digest was claimed before the click, then dropped at the commit point.
    assert second.deliveries.get().status == "skipped"
    assert send_due(now=NOON.replace(hour=23)).sent == 0
    assert DAILY.key == second.deliveries.get().period
