"""Tokens: forged, altered, expired, misdirected or replayed confirmation and
unsubscribe links (digest confirm, unsubscribe, one-click, view; allauth's email
confirmation) change nothing."""

import datetime as dt
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.test import Client
from django.utils import timezone

from digests import tokens
from digests.models import DigestSubscription

from .factories import DigestSubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

MANGLES = {
    "altered signature": lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
    "altered payload": lambda t: ("x" + t[1:]) if t[0] != "x" else ("y" + t[1:]),
    "no signature": lambda t: t.rsplit(":", 1)[0],
    "signature only": lambda t: t.rsplit(":", 1)[-1],
    "junk": lambda t: "eyJhIjoxfQ:1abcde:" + "A" * 43,
    "doubled": lambda t: t + t,
}


def pending(**kwargs):
    return DigestSubscriptionFactory(confirmed_at=None, **kwargs)


def mailed_confirm_token(sub, now=None):
    """The token as the confirmation mail carries it: made after the mail is claimed."""
    assert sub.claim_confirmation_mail(now=now)
    sub.refresh_from_db()
    return tokens.confirm_token(sub)


@pytest.mark.parametrize("mangle", MANGLES.values(), ids=MANGLES.keys())
def test_a_forged_or_altered_confirmation_link_confirms_nothing(mangle):
    sub = pending(email="victim@example.org")
    token = mangle(mailed_confirm_token(sub))
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/digest/confirm/{token}/")
        assert response.status_code == 400
        assert "This link doesn't work" in response.content.decode()
    sub.refresh_from_db()
    assert sub.is_pending


def test_a_confirmation_signed_with_another_key_or_salt_is_refused():
    sub = pending()
    payload = [sub.pk, sub.email, 1]
    forged = [
        signing.dumps(payload, key="not-our-secret", salt="digests.confirm"),
        signing.dumps(payload, salt="digests.unsubscribe"),  # another purpose
        tokens.unsubscribe_token(sub.pk),
        tokens.view_token(sub.pk),
    ]
    for token in forged:
        assert Client().post(f"/digest/confirm/{token}/").status_code == 400
    sub.refresh_from_db()
    assert sub.is_pending


def test_an_expired_confirmation_link_confirms_nothing(settings):
    sub = pending()
    token = mailed_confirm_token(sub)
    settings.DIGEST_CONFIRM_MAX_AGE = 3600
    later = timezone.now() + dt.timedelta(hours=2)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        response = Client().post(f"/digest/confirm/{token}/")
    assert response.status_code == 400
    sub.refresh_from_db()
    assert sub.is_pending


def test_a_confirmation_link_for_an_earlier_address_confirms_nothing():
    sub = pending(email="old@example.org")
    token = mailed_confirm_token(sub)
    DigestSubscription.objects.filter(pk=sub.pk).update(email="new@example.org")
    assert Client().post(f"/digest/confirm/{token}/").status_code == 404
    sub.refresh_from_db()
    assert sub.is_pending


def test_a_replayed_confirmation_link_cannot_restart_mail_after_an_unsubscribe():
    sub = pending(email="reader@example.org")
    token = mailed_confirm_token(sub)
    client = Client()
    assert client.post(f"/digest/confirm/{token}/").status_code == 200
    sub.refresh_from_db()
    assert sub.is_receiving
    # Clicking it again while subscribed: the confirmed page, nothing changes.
    assert client.post(f"/digest/confirm/{token}/").status_code == 200

    unsubscribe = f"/digest/unsubscribe/{tokens.unsubscribe_token(sub.pk)}/one-click/"
    assert Client().post(unsubscribe).status_code == 200
    sub.refresh_from_db()
    assert not sub.is_receiving

    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/digest/confirm/{token}/")
        assert response.status_code == 400, method
    sub.refresh_from_db()
    assert not sub.is_receiving and sub.pause_reason == "unsubscribed"

    # A new request mails a new link, which works.
    fresh = mailed_confirm_token(sub, now=timezone.now() + dt.timedelta(hours=13))
    assert Client().post(f"/digest/confirm/{fresh}/").status_code == 200
    sub.refresh_from_db()
    assert sub.is_receiving


@pytest.mark.parametrize("mangle", MANGLES.values(), ids=MANGLES.keys())
def test_forged_unsubscribe_and_view_links_do_nothing(mangle):
    sub = DigestSubscriptionFactory()
    other = DigestSubscriptionFactory()
    for path in (
        f"/digest/unsubscribe/{mangle(tokens.unsubscribe_token(sub.pk))}/",
        f"/digest/unsubscribe/{mangle(tokens.unsubscribe_token(other.pk))}/one-click/",
        f"/digest/view/{mangle(tokens.view_token(1))}/",
    ):
        for method in ("get", "post"):
            response = getattr(Client(), method)(path, {"action": "unsubscribe"})
            assert response.status_code == 400, (path, method)
    assert DigestSubscription.objects.receiving().count() == 2


def test_a_replayed_one_click_unsubscribe_is_harmless():
    sub = DigestSubscriptionFactory()
    url = f"/digest/unsubscribe/{tokens.unsubscribe_token(sub.pk)}/one-click/"
    assert Client().post(url).status_code == 200
    sub.refresh_from_db()
    paused_at = sub.paused_at
    assert Client().post(url).status_code == 200
    sub.refresh_from_db()
    assert sub.paused_at == paused_at and not sub.is_receiving


def _allauth_key(address):
    from allauth.account.models import EmailConfirmationHMAC

    return EmailConfirmationHMAC(address).key


@pytest.mark.parametrize("mangle", MANGLES.values(), ids=MANGLES.keys())
def test_a_forged_email_confirmation_key_verifies_nothing(mangle):
    user = UserFactory(username="fresh", email="fresh@example.org")
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True)
    key = mangle(_allauth_key(address))
    client = Client()
    client.get(f"/accounts/confirm-email/{key}/")
    client.post(f"/accounts/confirm-email/{key}/")
    address.refresh_from_db()
    assert not address.verified


def test_an_expired_email_confirmation_key_verifies_nothing(settings):
    user = UserFactory(username="late", email="late@example.org")
    address = EmailAddress.objects.create(user=user, email=user.email, primary=True)
    key = _allauth_key(address)
    settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
    later = timezone.now() + dt.timedelta(days=4)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        Client().post(f"/accounts/confirm-email/{key}/")
    address.refresh_from_db()
    assert not address.verified


def test_an_email_confirmation_key_for_another_address_verifies_only_that_one():
    mine = UserFactory(username="mine", email="mine@example.org")
    theirs = UserFactory(username="theirs", email="theirs@example.org")
    my_address = EmailAddress.objects.create(user=mine, email=mine.email, primary=True)
    their_address = EmailAddress.objects.create(user=theirs, email=theirs.email, primary=True)
    Client().post(f"/accounts/confirm-email/{_allauth_key(my_address)}/")
    my_address.refresh_from_db()
    their_address.refresh_from_db()
    assert my_address.verified and not their_address.verified
