"""The signed links in every digest: one-click unsubscribe (RFC 8058), the manage page
behind it, and what forged or altered tokens do (nothing)."""

import re
import threading

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from digests import tokens
from digests.models import DigestSubscription

from .digest_helpers import DAILY, NOON, featured, send_due
from .factories import DigestSubscriptionFactory

pytestmark = pytest.mark.django_db


def url(sub) -> str:
    """The page behind the link in the body."""
    return f"/digest/unsubscribe/{tokens.unsubscribe_token(sub.pk)}/"


def one_click(sub) -> str:
    """The List-Unsubscribe URL."""
    return url(sub) + "one-click/"


def page_client(sub) -> tuple[Client, str]:
    """A browser that opened the page: (client, its CSRF token)."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(url(sub))
    assert page.status_code == 200
    return client, page.context["csrf_token"]


def press(sub, action: str):
    """Press a button on the page, as a browser that opened it does."""
    client, token = page_client(sub)
    return client.post(url(sub), {"action": action, "csrfmiddlewaretoken": token})


def test_one_click_post_unsubscribes_without_csrf_token_or_session():
    sub = DigestSubscriptionFactory()
    mail_client = Client(enforce_csrf_checks=True)  # what a mailbox provider's POST is

    response = mail_client.post(
        one_click(sub),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    sub.refresh_from_db()
    assert sub.paused_at is not None and sub.pause_reason == "unsubscribed"
    assert "You're unsubscribed" in response.content.decode()


def test_opening_either_link_never_unsubscribes():
    sub = DigestSubscriptionFactory()
    page = Client().get(url(sub))
    assert page.status_code == 200
    assert "Unsubscribe</button>" in page.content.decode()
    # A mail client that opens the List-Unsubscribe URL as a link lands on the page.
    opened = Client().get(one_click(sub))
    assert opened.status_code == 302 and opened["Location"] == url(sub)
    sub.refresh_from_db()
    assert sub.is_receiving


def test_the_page_button_unsubscribes_and_can_undo_it():
    sub = DigestSubscriptionFactory()
    press(sub, "unsubscribe")
    sub.refresh_from_db()
    assert not sub.is_receiving

    back = press(sub, "resubscribe")
    assert "the digest is on again" in back.content.decode()
    sub.refresh_from_db()
    assert sub.is_receiving


def test_a_reader_can_switch_to_weekly_from_the_link(settings):
    settings.DIGEST_WEEKLY_DAY = 4
    sub = DigestSubscriptionFactory(frequency="daily")
    page = press(sub, "weekly")
    assert "you now get the weekly digest" in page.content.decode()
    assert "every Friday at 07:00" in page.content.decode()
    sub.refresh_from_db()
    assert sub.frequency == "weekly" and sub.is_receiving


@pytest.mark.parametrize(
    "action, paused, csrf",
    [
        ("unsubscribe", False, None),
        ("weekly", False, None),
        ("resubscribe", True, None),
        ("resubscribe", True, "made-up-token-" + "x" * 50),
    ],
)
def test_another_site_cant_press_the_pages_buttons(action, paused, csrf):
    """A cross-site form POST carries no valid CSRF token (the page's cookie isn't
    sent with it, and a made-up token matches nothing): refused, nothing changes."""
    sub = DigestSubscriptionFactory(
        frequency="daily",
        paused_at=NOON if paused else None,
        pause_reason="unsubscribed" if paused else "",
    )
    before = DigestSubscription.objects.filter(pk=sub.pk).values().get()
    data = {"action": action} | ({"csrfmiddlewaretoken": csrf} if csrf else {})

    response = Client(enforce_csrf_checks=True).post(url(sub), data)

    assert response.status_code == 403
    assert DigestSubscription.objects.filter(pk=sub.pk).values().get() == before


def test_the_one_click_link_only_ever_pauses():
    sub = DigestSubscriptionFactory(frequency="daily", paused_at=NOON, pause_reason="unsubscribed")
    for action in ("resubscribe", "weekly"):
        Client(enforce_csrf_checks=True).post(one_click(sub), {"action": action})
    sub.refresh_from_db()
    assert (sub.frequency, sub.pause_reason) == ("daily", "unsubscribed")
    assert not sub.is_receiving


def test_a_link_never_lifts_a_bounce_pause(mailoutbox, django_capture_on_commit_callbacks):
    """Mail to the address bounced: only a fresh confirmation (or the account's
    settings) restarts it, not a button anyone holding an old digest can press."""
    sub = DigestSubscriptionFactory(
        email="gone@example.org", paused_at=NOON, pause_reason="bounced", pause_detail="550"
    )
    page = press(sub, "resubscribe")
    sub.refresh_from_db()
    assert sub.pause_reason == "bounced" and not sub.is_receiving
    assert "mail to this address bounced" in page.content.decode()
    assert "Subscribe again" not in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        asked = press(sub, "confirm")
    assert "We sent a confirmation link to gone@example.org" in asked.content.decode()
    sub.refresh_from_db()
    assert sub.pause_reason == "bounced"  # still paused until the link is used
    [mail] = mailoutbox
    link = re.search(r"https?://\S+/digest/confirm/\S+/", mail.body).group(0)
    Client().post(link[len(django_settings.SITE_URL) :])
    sub.refresh_from_db()
    assert sub.is_receiving


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

    for path in (f"/digest/unsubscribe/{forged}/", f"/digest/unsubscribe/{forged}/one-click/"):
        for method in ("get", "post"):
            response = getattr(Client(), method)(path)
            assert response.status_code == 400
            assert "This link doesn't work" in response.content.decode()
    assert DigestSubscription.objects.receiving().count() == 2


def test_a_token_for_another_purpose_is_refused():
    sub = DigestSubscriptionFactory()
    view_token = tokens.view_token(sub.pk)  # same number, different salt
    assert Client().post(f"/digest/unsubscribe/{view_token}/one-click/").status_code == 400
    assert Client().get(f"/digest/view/{tokens.unsubscribe_token(sub.pk)}/").status_code == 400
    sub.refresh_from_db()
    assert sub.is_receiving


def test_a_valid_token_for_a_deleted_subscription_is_a_friendly_404():
    sub = DigestSubscriptionFactory()
    link = url(sub)
    sub.delete()
    response = Client().post(link + "one-click/")
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
    Client().post(
        one_click(second),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    sending.join(20)

    assert smtp_server.recipients() == ["a@example.org"]
    assert first.deliveries.get().status == "sent"
    # b's digest was claimed before the click, then dropped at the commit point.
    assert second.deliveries.get().status == "skipped"
    assert send_due(now=NOON.replace(hour=23)).sent == 0
    assert DAILY.key == second.deliveries.get().period
