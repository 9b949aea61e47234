"""Helpers for the account tests: mails from the SMTP fixture, TOTP codes, sign-in."""

import base64
import hashlib
import hmac
import re
import struct
import time

from allauth.account.models import EmailAddress
from django.urls import reverse

PASSWORD = "correct horse battery staple"


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def sign_in(client, user, password=PASSWORD):
    """Sign in through the form, as a person does."""
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def sign_in_browser(context, user, live_server):
    """Give a Playwright browser context the session of `user` signed in, as the
    sign-in form would (the form itself is tested in test_accounts_browser)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])


def sign_up_with_form(page, smtp_server, email, username):
    """Sign up on the site's form, then confirm from the mail that arrives at
    `smtp_server`, which signs the person in."""
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify Your Email Address").wait_for()

    link = link_in(smtp_server.messages[-1], "/accounts/confirm-email/")
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.locator("summary", has_text=username).wait_for()


def sign_out_with_menu(page, username):
    page.locator("summary", has_text=username).click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").first.wait_for()


def sign_in_with_form(page, email, username):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.locator("summary", has_text=username).wait_for()


def join_and_sign_in_again(page, smtp_server, email, username):
    """A new member's first steps: sign up, confirm from the mail, sign out and back in
    with the form (so every step of signing in has run once)."""
    sign_up_with_form(page, smtp_server, email, username)
    sign_out_with_menu(page, username)
    sign_in_with_form(page, email, username)


def mail_text(message) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content()


def link_in(message, path_fragment: str) -> str:
    """The path of the first link in a mail that contains `path_fragment`."""
    for url in re.findall(r"https?://[^\s\"'<>]+", mail_text(message)):
        if path_fragment in url:
            return re.sub(r"^https?://[^/]+", "", url)
    raise AssertionError(f"no link with {path_fragment!r} in:\n{mail_text(message)}")


def totp_code(secret: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238, computed here from the secret the enrolment page shows."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)
