"""Saves asked for before signing in, as accounts.pending_votes does for upvotes.

An anonymous click on "Save" sends the visitor to sign in; the paper is kept in the
session and saved to their library as soon as they are signed in, or, for a new
account, as soon as it exists (saving is private, so it needs no verified address).
"""

from papers.models import Paper

from .models import SavedPaper

SESSION_KEY = "pending_save"


def remember(request, paper):
    request.session[SESSION_KEY] = paper.pk


def save_for(request, user) -> bool:
    """Save the session's pending paper to `user`'s library, if there is one."""
    if request is None or not hasattr(request, "session"):
        return False
    paper_id = request.session.pop(SESSION_KEY, None)
    if paper_id is None:
        return False
    paper = Paper.objects.visible().filter(pk=paper_id).first()
    if paper is None:
        return False
    SavedPaper.objects.save_paper(user, paper)
    return True
