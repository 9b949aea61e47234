"""CSRF: every URL the site routes (ours, allauth's, the admin's) refuses a POST without
a valid CSRF token, and a GET changes nothing in the database.

The URLs are read from the resolver, so a new view is tested the day it is routed; a
view of ours or allauth's that is not in ROUTES below fails
`test_every_routed_view_is_listed`, to make its author say what it writes."""

import re

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from digests import tokens
from digests.models import DigestSubscription

from .accounts_helpers import verified
from .factories import AuthorFactory, DigestSubscriptionFactory, PaperFactory, UserFactory

pytestmark = pytest.mark.django_db

# Every named route outside the admin: does a POST to it change state? (GET never may.)
# Values for its URL's parameters come from SAMPLE_KWARGS.
ROUTES = {
    # allauth
    "account_login": True,
    "account_logout": True,
    "account_inactive": False,
    "account_signup": True,
    "account_reauthenticate": True,
    "account_request_reauthentication_code": True,
    "account_confirm_reauthentication_code": True,
    "account_email": True,
    "account_email_verification_sent": False,
    "account_change_password": True,
    "account_set_password": True,
    "account_reset_password": True,
    "account_confirm_login_code": True,
    "account_confirm_email": True,
    "account_reset_password_from_key_done": False,
    "account_reset_password_from_key": True,
    "account_reset_password_done": False,
    "mfa_index": False,
    "mfa_authenticate": True,
    "mfa_reauthenticate": True,
    "mfa_activate_totp": True,
    "mfa_deactivate_totp": True,
    "mfa_view_recovery_codes": False,
    "mfa_generate_recovery_codes": True,
    "mfa_download_recovery_codes": False,
    "socialaccount_login_cancelled": False,
    "socialaccount_login_error": False,
    "socialaccount_signup": True,
    "socialaccount_connections": True,
    "github_login": True,
    "github_callback": True,
    "google_login": True,
    "google_callback": True,
    "google_login_by_token": True,
    "orcid_login": True,
    "orcid_callback": True,
    "openid_connect_login": True,
    "openid_connect_callback": True,
    # accounts
    "accounts:profile": False,
    "accounts:settings": True,
    "accounts:delete": True,
    "accounts:claim_author": True,
    "accounts:withdraw_claim": True,
    "accounts:digest_settings": True,
    "accounts:digest_interests": True,
    # digests
    "digests:subscribe": True,
    "digests:confirm": True,
    "digests:unsubscribe": True,
    "digests:one_click_unsubscribe": True,
    "digests:view": False,
    "digests:follow_author": True,
    # papers
    "papers:home": False,
    "papers:day": False,
    "papers:week": False,
    "papers:month": False,
    "papers:trending": False,
    "papers:new": False,
    "papers:search": False,
    "papers:search_spelling": False,
    "papers:detail": False,
    "papers:related": False,
    "papers:favicon": False,
    # Issue 13: thumbnails served from MEDIA_ROOT (GET only).
    "media": False,
    "papers:vote": True,
    "papers:author": False,
    "papers:about_ranking": False,
    "papers:submit": True,
    "papers:submission_status": False,
    "papers:api_docs": False,
    "papers:api_daily_papers": False,
    "semantic:for_you": False,
    "semantic:api_search": False,
    "papers:api_paper": False,
    "papers:feed_daily_rss": False,
    "papers:feed_daily_atom": False,
    "papers:feed_trending_rss": False,
    "papers:feed_trending_atom": False,
    "papers:sitemap": False,
    "papers:sitemap_section": False,
    "papers:robots": False,
    # library (issue 15)
    "library:save": True,
    "library:read": True,
    "library:collect": True,
    "library:library": False,
    "library:export": False,
    "library:import": True,
    "library:feed_token": True,
    "library:feed": False,
    "library:new_collection": True,
    "library:collections": False,
    "library:collection": False,
    "library:collection_atom": False,
    "library:collection_export": False,
    "library:edit_collection": True,
    "library:delete_collection": True,
    "library:share_link": True,
    "library:reorder": True,
    "library:move_item": True,
    "library:remove_item": True,
    "library:edit_note": True,
    "library:api_collection": False,
    # discussion (issue 14)
    "discussion:post": True,
    "discussion:feed": False,
    "discussion:reply": False,
    "discussion:edit": True,
    "discussion:delete": True,
    "discussion:vote": True,
    "discussion:flag": True,
    "discussion:history": False,
    "discussion:user_comments": False,
    "discussion:user_feed": False,
    # notifications
    "notifications:inbox": False,
    "notifications:mark_read": True,
    "notifications:email_settings": True,
    "notifications:stop": True,
    # moderation
    "moderation:log": False,
    "moderation:feed": False,
    "moderation:queue": False,
    "moderation:hide_comment": True,
    "moderation:unhide_comment": True,
    "moderation:dismiss_flags": True,
    "moderation:lock_thread": True,
    "moderation:suspend_user": True,
    # Only with BENCHMARK_VIEWS=1 (bench/load.py).
    "bench_constant": False,
}

# Views that take POSTs from other sites on purpose, and why that is safe.
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: the mailbox provider POSTs without a session; the
    # signed token in the URL is the credential, and all it can do is unsubscribe.
    "digests:one_click_unsubscribe",
    # Google One Tap: allauth checks Google's own double-submit cookie (g_csrf_token)
    # and the signed ID token; off unless Google sign-in is configured.
    "google_login_by_token",
}

SAMPLE_KWARGS = {
    "username": "voter",
    "slug": "ada-lovelace",
    "day": "2026-11-20",
    "week": "2026-W47",
    "month": "2026-11",
    "arxiv_id": "2411.10000",
    "pk": 1,
    "section": "papers",
    "key": "MQ:forged-key",
    "uidb36": "1",
    "provider_id": "huggingface",
    "app_label": "papers",
    "object_id": "1",
    "id": "1",
    "content_type_id": 1,
    "url": "papers/",
    "fmt": "bib",
    "token": "forged-token",
    "path": "thumbnails/none.webp",
}


def _walk(patterns, prefix="", namespace="", groups=frozenset()):
    for pattern in patterns:
        here = groups | set(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns, here)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield prefix + str(pattern.pattern), name, here


def routed():
    """(route, name, path) for every URL pattern, with sample values filled in."""
    for route, name, wanted in _walk(get_resolver().url_patterns):
        if name is None:
            # allauth's unnamed aliases (accounts/social/...), the admin's redirects
            # and its catch-all.
            sample = lambda m: str(SAMPLE_KWARGS[m[1]])  # noqa: E731
            path = re.sub(r"<(?:\w+:)?(\w+)>", sample, route)
            path = re.sub(r"\(\?P<(\w+)>[^)]*\)", sample, path).replace("$", "")
            yield route, name, "/" + path
            continue
        kwargs = {k: v for k, v in SAMPLE_KWARGS.items() if k in wanted}
        if name == "digests:confirm" or name.startswith("digests:") and wanted == {"token"}:
            kwargs["token"] = "forged-token"
        yield route, name, reverse(name, kwargs=kwargs)


def test_every_routed_view_is_listed():
    unlisted = [
        (route, name)
        for route, name, _ in routed()
        if name and not name.startswith("admin:") and name not in ROUTES
    ]
    assert unlisted == [], "List these in ROUTES (does a POST change state?)"


@pytest.fixture
def world(db):
    """A signed-in staff user (so admin views run), an author, a paper, a digest."""
    user = verified(UserFactory(username="voter", is_staff=True, is_superuser=True))
    author = AuthorFactory(name="Ada Lovelace")
    PaperFactory(arxiv_id="2411.10000", authors=[author.name])
    DigestSubscriptionFactory(user=user, email=user.email)
    # A collection at the sample URL (/collections/voter/ada-lovelace/), with the paper.
    from library.models import Collection
    from papers.models import Paper

    Collection.objects.create_named(user, "Ada Lovelace").add_paper(Paper.objects.get())
    return user


@pytest.mark.parametrize("token", [None, "forged" * 8], ids=["no token", "forged token"])
def test_every_post_without_a_valid_csrf_token_is_refused(world, token):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world)
    client.get("/")  # a real CSRF cookie, so only the form token is missing or wrong
    accepted = []
    for route, name, path in routed():
        if name in CSRF_EXEMPT:
            continue
        data = {"action": "up", "email": "x@example.org"}
        if token:
            data["csrfmiddlewaretoken"] = token
        response = client.post(path, data)
        if response.status_code != 403:
            accepted.append((route, response.status_code))
    assert accepted == []
    # The control: with the page's real token the same POST goes through.
    real = client.cookies["csrftoken"].value
    response = client.post(
        reverse("papers:vote", args=["2411.10000"]), {"action": "up", "csrfmiddlewaretoken": real}
    )
    assert response.status_code == 302


def _snapshot():
    """Every row of every table but the session store (a GET may refresh a session)."""
    state = {}
    for model in apps.get_models():
        if model._meta.db_table == "django_session" or not model._meta.managed:
            continue
        state[model._meta.label] = list(model._default_manager.order_by("pk").values_list())
    return state


def test_no_get_changes_anything(world):
    client = Client()
    client.force_login(world)
    before = _snapshot()
    for route, name, path in routed():
        if name and name.startswith("admin:"):
            continue
        response = client.get(path, {"action": "remove", "email": "x@example.org"})
        assert response.status_code < 500, route
        assert _snapshot() == before, f"GET {path} changed the database"


def test_state_changing_posts_without_a_token_change_nothing(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world)
    sub = DigestSubscription.objects.get()
    before = _snapshot()
    writes = [(route, name, path) for route, name, path in routed() if ROUTES.get(name)]
    assert len(writes) > 20
    for _route, name, path in writes:
        if name in CSRF_EXEMPT:
            continue
        client.post(path, {"action": "up", "confirm": "1", "email": "x@example.org"})
    # The real digest links too, with a genuine signed token.
    for view in ("digests:unsubscribe", "digests:confirm"):
        token = (
            tokens.unsubscribe_token(sub.pk)
            if view == "digests:unsubscribe"
            else tokens.confirm_token(sub)
        )
        client.post(reverse(view, args=[token]), {"action": "unsubscribe"})
    assert _snapshot() == before
