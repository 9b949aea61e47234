"""Upvotes asked for before they could be cast.

An anonymous click on ▲ sends the person to sign in. The paper and the page they were on
are kept in the session; when they sign in with a verified address the vote is cast and
they land back on that page. Signing up means verifying the address first, possibly from
another browser (the link in the mail), so the pending vote is also written to the
database for the account the verification mail is sent to, and cast when it is verified.
"""

from . import hooks
from .models import Paper, PendingVote

SESSION_KEY = "pending_vote"


def remember(request, paper, next_url):
    request.session[SESSION_KEY] = {"paper": paper.pk, "next": next_url}
    if request.user.is_authenticated:
        keep_for(request, request.user)


def keep_for(request, user):
    """Write the session's pending vote to the database for `user`."""
    pending = request.session.get(SESSION_KEY) if request is not None else None
    if pending:
        PendingVote.objects.update_or_create(
            user=user, defaults={"paper_id": pending["paper"], "next_url": pending["next"]}
        )


def cast(request, user) -> str | None:
    """Cast `user`'s pending vote, if any and if they may vote now. Returns the page
    they were on when they asked for it."""
    if not user.has_verified_email():
        keep_for(request, user)
        return None
    next_url = None
    paper_ids = []
    session_pending = request.session.pop(SESSION_KEY, None) if request is not None else None
    if session_pending:
        paper_ids.append(session_pending["paper"])
        next_url = session_pending["next"]
    stored = PendingVote.objects.filter(user=user).select_related("paper").first()
    if stored:
        paper_ids.append(stored.paper_id)
        next_url = next_url or stored.next_url
        stored.delete()
    refusals = hooks.vote_refusals(user)
    papers = Paper.objects.visible().filter(pk__in=set(paper_ids))
    papers = papers.annotate(**{name: expression for name, (expression, _) in refusals.items()})
    for paper in papers:
        # Not cast for a voter a feature app refuses (a suspended account).
        if not any(getattr(paper, name) for name in refusals):
            paper.add_vote(user)
    return next_url
