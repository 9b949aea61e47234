from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from accounts import pending_votes

from .models import Author, Paper


def _listing(request, papers, heading, **extra):
    context = {"papers": papers[:30], "heading": heading, **extra}
    return render(request, "papers/list.html", context)


def daily(request):
    latest = Paper.objects.visible().featured().order_by("-daily_date").first()
    papers = Paper.objects.for_listing(request.user)
    if latest:
        papers = papers.on_day(latest.daily_date)
    return _listing(request, papers.ranked(), "Daily papers")


def trending(request):
    return _listing(request, Paper.objects.for_listing(request.user).trending(), "Trending")


def new(request):
    return _listing(request, Paper.objects.for_listing(request.user).newest(), "New")


def search(request):
    q = request.GET.get("q", "")[:200]
    papers = Paper.objects.for_listing(request.user).filter(title__icontains=q).newest()
    return _listing(request, papers, "Search")


def paper_detail(request, arxiv_id):
    paper = get_object_or_404(
        Paper.objects.visible().with_user_votes(request.user), arxiv_id=arxiv_id
    )
    return render(request, "papers/detail.html", {"paper": paper})


def author_detail(request, slug):
    author = get_object_or_404(Author.objects.select_related("claimed_by"), slug=slug)
    papers = Paper.objects.for_listing(request.user).filter(authorships__author=author).newest()
    return _listing(request, papers, author.name, author=author)


def about_ranking(request):
    return render(request, "papers/about_ranking.html")


def api_docs(request):
    return render(request, "papers/api_docs.html")


def page_not_found(request, exception):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    return render(request, "errors/500.html", status=500)


def _safe_next(request, fallback):
    """The page to return to: the form's `next`, else the page htmx says it is on,
    else the referring page, if any is on this site; else `fallback`."""
    candidates = (
        request.POST.get("next"),
        request.htmx.current_url_abs_path if request.htmx else None,
        request.META.get("HTTP_REFERER"),
    )
    for target in candidates:
        if target and url_has_allowed_host_and_scheme(
            target, {request.get_host()}, require_https=request.is_secure()
        ):
            return target
    return fallback


def _vote_refused(request, paper, back, message, status):
    """Say why the vote was not counted: in the swapped partial for htmx (with an
    error status the partial's hx-on handler still swaps), else as a message on the
    page the user came from."""
    if request.htmx:
        paper = Paper.objects.with_user_votes(request.user).get(pk=paper.pk)
        context = {"paper": paper, "vote_error": message}
        return render(request, "papers/_vote_button.html", context, status=status)
    messages.error(request, message)
    return redirect(back)


@require_POST
def vote(request, arxiv_id):
    """Add (action=up) or withdraw (action=remove) the user's upvote. Explicit actions,
    not a toggle, so a double click or a retried request can't undo itself."""
    paper = get_object_or_404(Paper.objects.visible(), arxiv_id=arxiv_id)
    back = _safe_next(request, paper.get_absolute_url())
    action = "remove" if request.POST.get("action") == "remove" else "up"
    if not request.user.is_authenticated:
        # Cast after sign-in (or sign-up and verification): accounts.pending_votes.
        if action == "up":
            pending_votes.remember(request, paper, back)
        login_url = f"{reverse('account_login')}?{urlencode({'next': back})}"
        if request.htmx:
            return HttpResponseClientRedirect(login_url)
        return redirect(login_url)
    if not request.user.has_verified_email():
        if action == "up":
            pending_votes.remember(request, paper, back)
        message = "Verify your email address to vote: follow the link we sent you."
        return _vote_refused(request, paper, back, message, 403)
    if is_ratelimited(
        request, group="papers:vote", key="user", rate=settings.VOTE_RATE_LIMIT, increment=True
    ):
        message = "You are voting too fast. Wait a minute and try again."
        return _vote_refused(request, paper, back, message, 429)
    try:
        if action == "remove":
            paper.remove_vote(request.user)
        else:
            paper.add_vote(request.user)
    except IntegrityError:
        # The account was deleted while this request ran: the vote's foreign key is
        # checked at commit, and the whole vote rolled back. Nothing was counted.
        logout(request)
        return _vote_refused(request, paper, back, "Your account no longer exists.", 403)
    if request.htmx:
        paper = Paper.objects.with_user_votes(request.user).get(pk=paper.pk)
        return render(request, "papers/_vote_button.html", {"paper": paper})
    return redirect(back)


# --- Submitting papers (issue 4) --------------------------------------------------------
# A signed-in user names an arXiv paper; a task fetches it from arXiv and it joins
# today's list "submitted by" them (papers.ingest.submit). The page polls the
# submission's status with htmx until the fetch is done.

from django.contrib.auth.decorators import login_required  # noqa: E402
from django_ratelimit.decorators import ratelimit  # noqa: E402

from .ingest.submit import SubmitPaperForm, submit_paper  # noqa: E402
from .models import Submission  # noqa: E402
from .tasks import fetch_submission  # noqa: E402


def _submit_rate(group, request):
    return settings.SUBMIT_RATE_LIMIT


def _rate_in_words(rate: str) -> str:
    """ "10/h" -> "10 papers an hour" (django-ratelimit's notation)."""
    count, _, period = rate.partition("/")
    units = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
    number, unit = period[:-1], units.get(period[-1:], "hour")
    per = (
        f"every {number} {unit}s"
        if number not in ("", "1")
        else f"a{'n' * (unit == 'hour')} {unit}"
    )
    return f"{count} paper{'s' * (count != '1')} {per}"


@login_required
@ratelimit(key="user", rate=_submit_rate, method="POST", block=False)
def submit(request):
    form = SubmitPaperForm(request.POST or None)
    featured_paper, status = None, 200
    if request.method == "POST":
        if getattr(request, "limited", False):
            form.add_error(None, "You have submitted many papers recently. Please wait a while.")
            status = 429
        elif form.is_valid():
            outcome = submit_paper(request.user, form.cleaned_data["paper"])
            featured_paper = outcome.featured_paper
            if outcome.submission:
                if outcome.submission.is_pending:
                    fetch_submission.delay_on_commit(outcome.submission.pk)
                url = reverse("papers:submit")
                return redirect(f"{url}?submission={outcome.submission.pk}")
    shown = request.GET.get("submission", "")
    submissions = request.user.submissions.select_related("paper").order_by("-created_at")
    context = {
        "form": form,
        "featured_paper": featured_paper,
        "submission": submissions.filter(pk=shown).first() if shown.isdigit() else None,
        "recent": submissions[:10],
        "rate_limit": _rate_in_words(settings.SUBMIT_RATE_LIMIT),
    }
    return render(request, "papers/submit.html", context, status=status)


@login_required
def submission_status(request, pk):
    submission = get_object_or_404(
        Submission.objects.select_related("paper"), pk=pk, user=request.user
    )
    if not request.htmx:
        return redirect(f"{reverse('papers:submit')}?submission={submission.pk}")
    return render(request, "papers/_submission_status.html", {"submission": submission})
