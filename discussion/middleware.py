"""Suspended users can't vote on papers either. The paper vote view belongs to papers,
which imports no feature app: this middleware answers a suspended user's vote before
the view runs, as the view answers any refused vote (the button again with the reason
for htmx, else a message on the page they came from)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from papers.models import Paper

from .models import is_suspended

VOTE_VIEWS = frozenset({"papers:vote"})
MESSAGE = "Your account is suspended: you can't vote."


class SuspendedUsersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in VOTE_VIEWS:
            return None
        if not is_suspended(request.user):
            return None
        paper = (
            Paper.objects.visible()
            .with_user_votes(request.user)
            .filter(arxiv_id=view_kwargs.get("arxiv_id"))
            .first()
        )
        if paper is None:
            return None  # the view answers 404
        if request.htmx:
            context = {"paper": paper, "vote_error": MESSAGE}
            return render(request, "papers/_vote_button.html", context, status=403)
        messages.error(request, MESSAGE)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
            back = paper.get_absolute_url()
        return redirect(back)
