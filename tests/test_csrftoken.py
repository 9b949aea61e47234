"""The page cache's CSRF tokens (papers.csrftoken): Django's format and meaning, drawn
faster; every character as likely as with Django's own draw."""

from collections import Counter

from django.http import HttpRequest
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    _check_token_format,
    _does_token_match,
    _unmask_cipher_token,
)

from papers import csrftoken


def test_a_new_visitors_token_is_one_django_accepts_for_the_secret_it_will_set():
    for _ in range(500):
        request = HttpRequest()
        token = csrftoken.get_token(request)
        secret = request.META["CSRF_COOKIE"]
        _check_token_format(token)  # raises if not 64 allowed characters
        _check_token_format(secret)
        assert len(secret) == 32 and request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
        assert _unmask_cipher_token(token) == secret and _does_token_match(token, secret)


def test_a_returning_visitor_keeps_their_secret_and_gets_a_new_mask():
    request = HttpRequest()
    request.META["CSRF_COOKIE"] = secret = csrftoken.new_secret()
    tokens = {csrftoken.get_token(request) for _ in range(50)}
    assert request.META["CSRF_COOKIE"] == secret
    assert len(tokens) == 50  # masked afresh each time (BREACH)
    assert all(_unmask_cipher_token(token) == secret for token in tokens)


def test_every_character_is_as_likely_as_any_other():
    # 124,000 characters: 2,000 expected of each (standard deviation ~44). Mapping
    # bytes by % 62 without dropping 248-255 would give 8 characters 25 % more.
    drawn = Counter("".join(csrftoken.new_secret() for _ in range(62 * 2000 // 32)))
    drawn.update("".join(csrftoken.masked("a" * 32)[:32] for _ in range(62 * 2000 // 32)))
    assert set(drawn) == set(CSRF_ALLOWED_CHARS)
    assert all(abs(count - 4000) < 600 for count in drawn.values()), drawn.most_common(3)
