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
