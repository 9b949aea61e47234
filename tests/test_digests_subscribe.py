"""Subscribing: the visitor box with double opt-in, its rate limits, confirming, and
joining an account."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse

from digests import tokens
from digests.models import DigestSentPaper, DigestSubscription

from .accounts_helpers import PASSWORD, link_in, verified
from .digest_helpers import NOON, featured, send_due
from .factories import DigestSubscriptionFactory

User = get_user_model()

pytestmark = pytest.mark.django_db


def subscribe(client, email, htmx=False, ip="203.0.113.7", **extra):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        "/digest/subscribe/",
        {"email": email, "frequency": "daily", **extra},
        headers=headers,
        REMOTE_ADDR=ip,
    )


def confirm_link(text: str) -> str:
    [url] = re.findall(r"http://testserver(/digest/confirm/[^/\s]+/)", text)
    return url


def test_the_box_sends_a_confirmation_and_nothing_else(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = subscribe(client, "Ada@Example.org", htmx=True, time_zone="Europe/Paris")

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert 'id="digest-box"' in response.content.decode()  # the partial, for the swap
    sub = DigestSubscription.objects.get()
    assert sub.email == "ada@example.org"
    assert sub.time_zone == "Europe/Paris"
    assert sub.confirmed_at is None and not sub.is_receiving
    [message] = mailoutbox
    assert message.to == ["ada@example.org"]
    assert "Confirm" in message.subject
    assert confirm_link(message.body) in message.alternatives[0][0]


def test_the_box_works_without_javascript(client, mailoutbox, django_capture_on_commit_callbacks):
    assert client.get("/digest/subscribe/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = subscribe(client, "grace@example.org")
    assert response.status_code == 200
    assert "<html" in response.content.decode() and "Check your inbox" in response.content.decode()
    assert len(mailoutbox) == 1

    bad = subscribe(client, "not an address")
    assert bad.status_code == 400
    assert "Enter a valid email address" in bad.content.decode()
    assert DigestSubscription.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_nothing_but_the_confirmation_is_sent_until_the_link_is_used(client, smtp_server):
    featured(3)
    subscribe(client, "ada@example.org")  # committed: the confirmation task runs

    assert send_due().sent == 0
    sub = DigestSubscription.objects.get()
    [confirmation] = smtp_server.messages
    assert "Confirm" in confirmation["Subject"]
    link = confirm_link(confirmation.get_body(preferencelist=("plain",)).get_content())

    page = client.get(link)  # a mail scanner opening the link confirms nothing
    assert page.status_code == 200 and "Yes, send me the digest" in page.content.decode()
    sub.refresh_from_db()
    assert sub.confirmed_at is None

    done = client.post(link)
    assert done.status_code == 200 and "You're subscribed" in done.content.decode()
    sub.refresh_from_db()
    assert sub.is_receiving
    assert send_due().sent == 1
    assert smtp_server.recipients() == ["ada@example.org", "ada@example.org"]
    assert "Trending papers" in smtp_server.messages[1]["Subject"]


def test_an_unconfirmed_address_cant_be_mailed_again_and_again(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            response = subscribe(client, "victim@example.org", htmx=True, ip=ip)
            assert "Check your inbox" in response.content.decode()  # same answer each time

    assert len(mailoutbox) == 1  # one per DIGEST_CONFIRM_RESEND_HOURS
    sub = DigestSubscription.objects.get()
    assert sub.confirmations_sent == 1


@override_settings(DIGEST_SUBSCRIBE_RATE_EMAIL="2/h")
def test_the_same_address_is_rate_limited_across_networks(client):
    for ip in ("198.51.100.1", "198.51.100.2"):
        assert subscribe(client, "victim@example.org", ip=ip).status_code == 200
    limited = subscribe(client, "Victim@example.org", ip="198.51.100.3")
    assert limited.status_code == 429
    assert "try again in an hour" in limited.content.decode()
    htmx = subscribe(client, "victim@example.org", htmx=True, ip="198.51.100.4")
    assert htmx.status_code == 429  # the box swaps it in (data-swap-statuses)
    assert 'data-swap-statuses="400 429"' in htmx.content.decode()
    assert "try again in an hour" in htmx.content.decode()


@override_settings(DIGEST_SUBSCRIBE_RATE_IP="3/h")
def test_one_network_is_rate_limited_across_addresses(client):
    for n in range(3):
        assert subscribe(client, f"person{n}@example.org").status_code == 200
    assert subscribe(client, "person9@example.org").status_code == 429
    assert DigestSubscription.objects.count() == 3
    assert subscribe(client, "person9@example.org", ip="192.0.2.1").status_code == 200


def test_a_bot_filling_the_hidden_field_subscribes_nobody(client, mailoutbox):
    response = subscribe(client, "bot@example.org", website="http://spam.example")
    assert response.status_code == 200
    assert not DigestSubscription.objects.exists()
    assert mailoutbox == []


def test_confirmation_links_are_signed_and_expire(client, settings):
    sub = DigestSubscriptionFactory(confirmed_at=None)
    token = tokens.confirm_token(sub)

    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.post(f"/digest/confirm/{altered}/").status_code == 400
    other = DigestSubscriptionFactory(confirmed_at=None)
    assert tokens.confirm_token(other) != token
    page = client.get("/digest/confirm/nonsense/")
    assert page.status_code == 400 and "This link doesn't work" in page.content.decode()

    settings.DIGEST_CONFIRM_MAX_AGE = -1
    assert client.post(f"/digest/confirm/{token}/").status_code == 400
    sub.refresh_from_db()
    assert sub.confirmed_at is None


def test_a_confirmation_link_names_its_address(client):
    sub = DigestSubscriptionFactory(confirmed_at=None, email="old@example.org")
    token = tokens.confirm_token(sub)
    DigestSubscription.objects.filter(pk=sub.pk).update(email="new@example.org")
    assert client.post(f"/digest/confirm/{token}/").status_code == 404
    sub.refresh_from_db()
    assert sub.confirmed_at is None


def sign_up_and_verify(client, smtp_server, email, username="ada"):
    """Through allauth's own views: sign up, then the link in its verification mail."""
    client.post(
        reverse("account_signup"),
        {"email": email, "username": username, "password1": PASSWORD, "password2": PASSWORD},
    )
    link = link_in(smtp_server.messages[-1], "/accounts/confirm-email/")
    assert client.post(link).status_code == 302
    return User.objects.get(username=username)


def test_an_address_that_signs_up_and_verifies_joins_its_subscription(client, smtp_server):
    sub = DigestSubscriptionFactory(email="ada@example.org", frequency="weekly")

    user = sign_up_and_verify(client, smtp_server, "Ada@example.org")

    sub.refresh_from_db()
    assert sub.user == user and sub.is_receiving and sub.frequency == "weekly"
    page = client.get("/settings/digest/")
    assert "Sent to <strong>ada@example.org</strong>" in page.content.decode()


def test_verifying_an_address_confirms_its_pending_subscription(client, smtp_server):
    sub = DigestSubscriptionFactory(email="ada@example.org", confirmed_at=None)
    user = sign_up_and_verify(client, smtp_server, "ada@example.org")
    sub.refresh_from_db()
    assert sub.user == user and sub.is_receiving


def change_address(client, smtp_server, user, email):
    """Through allauth's own views (ACCOUNT_CHANGE_EMAIL): add the address, then the
    link in its verification mail; it replaces the old one."""
    client.force_login(user)
    client.post(reverse("account_email"), {"email": email, "action_add": ""})
    assert client.post(link_in(smtp_server.messages[-1], "/accounts/confirm-email/")).status_code
    user.refresh_from_db()
    assert user.email == email


@pytest.mark.django_db(transaction=True)
def test_the_digest_follows_a_changed_account_address_at_once(client, smtp_server, voter):
    verified(voter)
    featured(2)
    own = DigestSubscriptionFactory(
        email=voter.email, user=voter, paused_at=NOON, pause_reason="bounced"
    )

    change_address(client, smtp_server, voter, "vera@work.example")

    own.refresh_from_db()
    assert own.email == "vera@work.example"
    assert own.is_receiving  # the old address bounced, not this one
    send_due()
    [digest] = [m for m in smtp_server.messages if "Trending papers" in m["Subject"]]
    assert digest["To"] == "vera@work.example"


def test_a_visitor_subscription_to_the_new_address_merges_into_the_accounts(
    client, smtp_server, voter
):
    verified(voter)
    [paper] = featured(1)
    own = DigestSubscriptionFactory(email=voter.email, user=voter, frequency="weekly")
    visitor = DigestSubscriptionFactory(email="vera@work.example", frequency="daily")
    DigestSentPaper.objects.create(subscription=visitor, paper_id=paper.pk)  # that inbox had it

    change_address(client, smtp_server, voter, "vera@work.example")

    own.refresh_from_db()
    assert (own.email, own.frequency, own.is_receiving) == ("vera@work.example", "weekly", True)
    assert list(DigestSubscription.objects.all()) == [own]
    assert DigestSentPaper.objects.filter(subscription=own, paper_id=paper.pk).exists()


def test_confirming_while_signed_in_joins_the_account(client, voter):
    voter.email = "vera@example.org"
    voter.save()
    sub = DigestSubscriptionFactory(email="vera@example.org", confirmed_at=None)
    client.force_login(voter)
    page = client.post(f"/digest/confirm/{tokens.confirm_token(sub)}/")
    assert page.status_code == 200
    assert "linked to your account" in page.content.decode()
    sub.refresh_from_db()
    assert sub.user == voter and sub.is_receiving


def test_signed_in_users_see_a_link_to_their_settings_in_the_box(client, voter):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = voter
    html = render_to_string("papers/_subscribe_box.html", {"user": voter}, request=request)
    assert "/settings/digest/" in html and "<form" not in html
    client.force_login(voter)
    assert client.get("/digest/subscribe/").status_code == 200


def test_resubscribing_after_unsubscribing_needs_a_new_confirmation(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    sub = DigestSubscriptionFactory(email="ada@example.org")
    sub.pause("unsubscribed")
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client, "ada@example.org", frequency="weekly")
    assert len(mailoutbox) == 1
    sub.refresh_from_db()
    assert not sub.is_receiving
    client.post(confirm_link(mailoutbox[0].body))
    sub.refresh_from_db()
    assert sub.is_receiving


def test_a_second_subscribe_of_a_receiving_address_sends_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    DigestSubscriptionFactory(email="ada@example.org", frequency="daily")
    with django_capture_on_commit_callbacks(execute=True):
        response = subscribe(client, "ada@example.org", frequency="weekly")
    assert "Check your inbox" in response.content.decode()
    assert mailoutbox == []
    assert DigestSubscription.objects.get().frequency == "daily"  # a stranger can't change it


def test_the_box_never_changes_an_accounts_subscription(
    client, voter, mailoutbox, django_capture_on_commit_callbacks
):
    """Anyone can type an account's address: its digest (turned off in settings here)
    keeps its settings, and whatever the address gets names no account."""
    sub = DigestSubscriptionFactory(
        email=voter.email, user=voter, frequency="weekly", time_zone="Europe/Paris", send_hour=6
    )
    sub.pause("unsubscribed")
    fields = ("frequency", "time_zone", "send_hour", "paused_at", "pause_reason", "confirmed_at")
    before = DigestSubscription.objects.values(*fields).get(pk=sub.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = subscribe(client, voter.email.upper(), frequency="daily", time_zone="UTC")

    assert "Check your inbox" in response.content.decode()
    assert DigestSubscription.objects.values(*fields).get(pk=sub.pk) == before
    for message in mailoutbox:
        text = message.body + message.alternatives[0][0]
        assert "account" not in text.lower() and "/settings/" not in text
        assert voter.display_name not in text


def test_the_daily_page_offers_the_box(client):
    featured(2)
    page = client.get("/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Get trending papers in your inbox" in html
    assert 'action="/digest/subscribe/"' in html and 'hx-post="/digest/subscribe/"' in html
