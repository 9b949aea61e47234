"""Upvoting: explicit add and withdraw, with a sign-in detour that keeps the vote
(papers.pending_votes)."""

import functools
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.template import loader
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from .. import hooks, links, pending_votes
from ..compiled import CompiledQuery
from ..models import Paper
from .detail import voters_context


def _vote_refused(request, paper, back, message, status):
    """Say why the vote was not counted: in the swapped partial for htmx (with an
    error status the partial's hx-on handler still swaps), else as a message on the
    page the user came from."""
    if request.htmx:
        paper = Paper.objects.with_user_votes(request.user).get(pk=paper.pk)
        context = {"paper": paper, "vote_error": message}
        return render(request, "papers/_vote_button.html", context, status=status)
    messages.error(request, message)
    return redirect(_at_card(back, paper))


def _at_card(back, paper):
    """`back` scrolled to the paper's card (cards have id="paper-<pk>"), so a vote
    without JavaScript lands where the reader was, not at the top of the list."""
    if urlsplit(back).path == paper.get_absolute_url():
        return back
    return f"{back}#paper-{paper.pk}"


# What voting reads of the paper (the button, the count, the score's decay, its URL):
# not the abstract, author list and links a full row would read and turn into Python.
VOTE_FIELDS = ("pk", "arxiv_id", "title", "upvote_count", "daily_date")
# Stand-ins for the arXiv id and the voter in the vote's compiled query.
_ARXIV_ID, _VOTER_ID = "arXiv id stand-in", -16


@functools.cache
def _vote_query(signed_in: bool):
    """The paper a vote is for (VOTE_FIELDS) and, for a signed-in voter, whether they may
    vote: a verified address, and nothing a feature app refuses (papers.hooks), as
    columns of the same query. Compiled once per process (papers.compiled): building it
    cost more CPU than the vote. Returns the query and [(column, refusal message)]."""
    columns, refusals = {}, []
    if signed_in:
        voter = get_user_model()(pk=_VOTER_ID)
        columns["voter_verified"] = voter.has_verified_email_expression()
        for name, (expression, message) in hooks.vote_refusals(voter).items():
            columns[name] = expression
            refusals.append((name, message))
    papers = Paper.objects.visible().filter(arxiv_id=_ARXIV_ID).only(*VOTE_FIELDS)
    query = CompiledQuery(
        papers.annotate(**columns)[:1], {_ARXIV_ID: "arxiv_id", _VOTER_ID: "voter"}
    )
    return query, refusals


def _paper_to_vote(arxiv_id, user):
    """The visible paper `arxiv_id` with VOTE_FIELDS and, for a signed-in user, the
    columns of _vote_query; and the refusals to check. 404 if there is no such paper."""
    query, refusals = _vote_query(user.is_authenticated)
    found = query.objects(arxiv_id=arxiv_id, voter=user.pk)
    if not found:
        raise Http404("No such paper.")
    return found[0], refusals


def sign_in_url(back: str) -> str:
    """The sign-in page, returning to `back`; `for=vote` makes it say why (the query
    accounts.signin reads, spelled out here so that papers needn't import accounts)."""
    query = urlencode({"next": back, "for": "vote"})
    return f"{resolve_url(settings.LOGIN_URL)}?{query}"


@require_POST
def vote(request, arxiv_id):
    """Add (action=up) or withdraw (action=remove) the user's upvote. Explicit actions,
    not a toggle, so a double click or a retried request can't undo itself."""
    paper, refusals = _paper_to_vote(arxiv_id, request.user)
    back = links.safe_next(request, paper.get_absolute_url())
    action = "remove" if request.POST.get("action") == "remove" else "up"
    if not request.user.is_authenticated:
        # Cast after sign-in (or sign-up and verification): papers.pending_votes.
        if action == "up":
            pending_votes.remember(request, paper, back)
        login_url = sign_in_url(back)
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return redirect(login_url)
    for name, message in refusals:
        if getattr(paper, name):
            return _vote_refused(request, paper, back, message, 403)
    if not paper.voter_verified:
        if action == "up":
            pending_votes.remember(request, paper, back)
        message = "Verify your email address to vote: follow the link we sent you."
        return _vote_refused(request, paper, back, message, 403)
    if is_ratelimited(
        request, group="papers:vote", key="user", rate=settings.VOTE_RATE_LIMIT, increment=True
    ):
        message = "You are voting too fast: wait a minute."
        return _vote_refused(request, paper, back, message, 429)
    try:
        if action == "remove":
            paper.remove_vote(request.user)
        else:
            paper.add_vote(request.user)
        # Whether it changed anything or not, the user's vote is now as asked.
        paper.user_has_voted = action == "up"
    except IntegrityError:
        # The account was deleted while this request ran: the vote's foreign key is
        # checked at commit, and the whole vote rolled back. Nothing was counted.
        logout(request)
        return _vote_refused(request, paper, back, "Your account no longer exists.", 403)
    if request.htmx:
        # The count: the new one if the vote changed it, else as read above.
        html = loader.render_to_string("papers/_vote_button.html", {"paper": paper}, request)
        here = urlsplit(request.htmx.current_url_abs_path or "").path
        if here == paper.get_absolute_url():
            # On the paper page the list of voters changes too (an out-of-band swap).
            context = {"paper": paper, "oob": True, **voters_context(paper)}
            html += loader.render_to_string("papers/_voters.html", context, request)
        return HttpResponse(html)
    return redirect(_at_card(back, paper))
