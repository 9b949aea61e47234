"""The visitor's CSRF token for a page served from the page cache: what Django's
`get_token` gives, drawn faster.

A page-cache hit is a copy of stored bytes with the visitor's masked token put in, and
Django's `get_token` was the largest part of it: ~80 µs for a visitor without the CSRF
cookie (a new 32-character secret and a 32-character mask, each character by
`secrets.choice`, then the mask added character by character through `str.index`),
~40 µs with the cookie, against ~350 µs for the whole hit (docs/performance.md). Here
the same characters come from one `os.urandom` read each, turned into characters by
`bytes.translate`: bytes below 248 (4 × 62) map onto the 62 allowed characters evenly
and the others are dropped, so every character is as likely as with `secrets.choice`
(rejection sampling). The token has Django's format (mask + cipher, 64 characters of
CSRF_ALLOWED_CHARS) and the secret goes where `get_token` puts it
(`request.META["CSRF_COOKIE"]`), so CsrfViewMiddleware checks the token and sets the
cookie on the way out as it does for its own (tests/test_page_cache.py).
"""

import os

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

_BASE = len(CSRF_ALLOWED_CHARS)  # 62
_KEPT = 256 - 256 % _BASE  # 248: bytes at or above it would favour some characters
# A random byte below _KEPT -> the index of a character (0-61); the rest are deleted.
_TO_INDEX = bytes(b % _BASE for b in range(_KEPT)) + bytes(256 - _KEPT)
_DROPPED = bytes(range(_KEPT, 256))
# An index (0-61) -> its character, and back (the secret comes from the cookie, which
# CsrfViewMiddleware checked: only allowed characters, the right length).
_TO_CHAR = CSRF_ALLOWED_CHARS.encode() + bytes(256 - _BASE)
_FROM_CHAR = bytes.maketrans(CSRF_ALLOWED_CHARS.encode(), bytes(range(_BASE)))


def _random_indexes(count: int) -> bytes:
    """`count` independent uniform indexes of CSRF_ALLOWED_CHARS, one a byte."""
    drawn = b""
    while len(drawn) < count:
        # 8 bytes in 256 are dropped: a few spare bytes nearly always suffice.
        drawn += os.urandom(count + 8).translate(_TO_INDEX, _DROPPED)
    return drawn[:count]


def new_secret() -> str:
    """A new CSRF secret, as django.middleware.csrf._get_new_csrf_string makes one."""
    return _random_indexes(CSRF_SECRET_LENGTH).translate(_TO_CHAR).decode()


def masked(secret: str) -> str:
    """The secret masked, as django.middleware.csrf._mask_cipher_secret masks it: a
    random mask, then each of the secret's characters shifted by the mask's."""
    mask = _random_indexes(CSRF_SECRET_LENGTH)
    secret_indexes = secret.encode().translate(_FROM_CHAR)
    cipher = bytes((s + m) % _BASE for s, m in zip(secret_indexes, mask, strict=True))
    return (mask + cipher).translate(_TO_CHAR).decode()


def get_token(request) -> str:
    """django.middleware.csrf.get_token: the visitor's masked token, with a new secret
    (and the cookie to be set) for a visitor who has none."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = request.META["CSRF_COOKIE"] = new_secret()
    # Send the cookie (again: it renews its expiry), as get_token asks.
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return masked(secret)
