"""Sending a signed-out visitor to sign in from an action, and telling them why.

An htmx action that needs an account (follow an author, claim one, change the digest)
can't answer with a 302 to the sign-in page: htmx would follow it and swap the whole
sign-in page into the button. `HtmxLoginRedirectMiddleware` turns such a redirect into
an HX-Redirect, with `next` set to the page the visitor was on (not the POST-only action
URL) and `for` naming the action, so the sign-in page can say what it is for.
"""

from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.http import Http404
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from papers import pending_votes

# What signing in is for, by the name of the action (`for=`) or of the page in `next`.
REASONS = {
    "vote": "Sign in to upvote papers. Your upvote is counted as soon as you are in.",
    "follow_author": "Sign in to follow authors: their new papers join your email digest.",
    "claim_author": "Sign in to claim your author page.",
    "withdraw_claim": "Sign in to manage your author claims.",
    "digest_settings": "Sign in to set up your email digest.",
    "digest_interests": "Sign in to choose what your email digest follows.",
    "submit": "Sign in to submit a paper to today's list.",
    "submission_status": "Sign in to follow your submissions.",
    "settings": "Sign in to change your settings.",
    "delete": "Sign in to delete your account.",
}


def login_url(next_url: str, action: str = "") -> str:
    query = {"next": next_url} if next_url else {}
    if action in REASONS:
        query["for"] = action
    base = resolve_url(settings.LOGIN_URL)
    return f"{base}?{urlencode(query)}" if query else base


def reason(request) -> str:
    """The sentence the sign-in and sign-up pages show above the form, or ""."""
    action = request.GET.get("for", "")
    if action in REASONS:
        return REASONS[action]
    if request.session.get(pending_votes.SESSION_KEY):
        return REASONS["vote"]
    next_url = request.GET.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        try:
            return REASONS.get(resolve(urlsplit(next_url).path).url_name, "")
        except (Resolver404, Http404):
            return ""
    return ""


class HtmxLoginRedirectMiddleware:
    """For htmx requests, a redirect to the sign-in page becomes an HX-Redirect back to
    the page the visitor is on (see the module docstring). Goes after HtmxMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code != 302:
            return response
        location = urlsplit(response["Location"])
        if location.path != resolve_url(settings.LOGIN_URL):
            return response
        here = request.htmx.current_url_abs_path
        if not here or not url_has_allowed_host_and_scheme(here, {request.get_host()}):
            here = parse_qs(location.query).get("next", [""])[0]
        action = request.resolver_match.url_name if request.resolver_match else ""
        return HttpResponseClientRedirect(login_url(here, action))
