import datetime as dt
import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpResponse, HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from accounts import pending_votes

from . import api, citation, ranking, search
from .arxiv_ids import parse_arxiv_id
from .dates import Period, day_period, parse_day, parse_month, parse_week
from .forms import SearchForm
from .models import Author, Paper
from .pagination import paginate, paginate_uncounted

# How far back /new/ pages: past this, the day, week and month lists and search serve
# better than a deep OFFSET.
NEW_MAX_PAGES = 100
VOTERS_SHOWN = 50
RELATED_CACHE_SECONDS = 6 * 60 * 60


class PublicNotFound(Http404):
    """A 404 whose message is written for the visitor and shown on the error page."""


# --- Daily, weekly and monthly lists ----------------------------------------------------


def daily(request):
    day = Paper.objects.latest_day()
    if day is None:
        return render(request, "papers/period.html", {"period": None, "is_latest": True})
    return _period_page(request, day_period(day), is_latest=True)


def day(request, day):
    return _period_page(request, _parse_or_404(parse_day, day))


def week(request, week):
    return _period_page(request, _parse_or_404(parse_week, week))


def month(request, month):
    return _period_page(request, _parse_or_404(parse_month, month))


def _parse_or_404(parser, text) -> Period:
    try:
        return parser(text)
    except ValueError as exc:
        raise PublicNotFound(str(exc)) from None


def _period_page(request, period: Period, is_latest=False):
    papers = (
        Paper.objects.for_listing(request.user).featured_between(period.first, period.last).ranked()
    )
    page = paginate(request, papers)
    before, after = Paper.objects.neighbour_days(period.first, period.last)
    context = {
        "period": period,
        "page": page,
        "is_latest": is_latest,
        "hide_featured": period.kind == "day",
        "previous": day_period(before).containing(period.kind) if before else None,
        "next": day_period(after).containing(period.kind) if after else None,
        "views": {kind: period.containing(kind) for kind in ("day", "week", "month")},
    }
    return render(request, "papers/period.html", context)


# --- Trending and new ---------------------------------------------------------------------


def trending(request):
    page = paginate(request, Paper.objects.for_listing(request.user).trending())
    return render(
        request,
        "papers/trending.html",
        {"page": page, "trending_days": settings.TRENDING_DAYS},
    )


def new(request):
    papers = Paper.objects.for_listing(request.user).newest()
    page = paginate_uncounted(request, papers, NEW_MAX_PAGES)
    if page is None:
        raise PublicNotFound(
            f"The newest papers go back {NEW_MAX_PAGES} pages. For older papers, search or "
            "browse the daily lists."
        )
    return render(request, "papers/new.html", {"page": page})


# --- A paper, an author -----------------------------------------------------------------


def paper_detail(request, arxiv_id):
    papers = Paper.objects.visible().with_user_votes(request.user).select_related("submitted_by")
    paper = get_object_or_404(papers, arxiv_id=arxiv_id)
    authorships = list(paper.authorships.select_related("author").order_by("position"))
    voters = paper.voters_for_display(VOTERS_SHOWN)
    context = {
        "paper": paper,
        "authorships": authorships,
        "voters": voters,
        "more_voters": max(paper.upvote_count - VOTERS_SHOWN, 0),
        "bibtex": citation.bibtex(paper, [a.author.name for a in authorships]),
        "canonical_url": settings.SITE_URL + paper.get_absolute_url(),
    }
    return render(request, "papers/detail.html", context)


def related_papers(request, arxiv_id):
    """The paper page's related papers: a section htmx swaps in, or a page of its own."""
    papers = Paper.objects.visible().only("pk", "arxiv_id", "title", "primary_category")
    paper = get_object_or_404(papers, arxiv_id=arxiv_id)
    context = {"paper": paper, "related": _related_papers(paper)}
    if request.htmx:
        return render(request, "papers/_related.html", context)
    return render(request, "papers/related.html", context)


def _related_papers(paper):
    """Related papers change only as new papers arrive: their ids are cached for a few
    hours, and a hit costs one primary-key lookup instead of a full-text query."""
    key = f"papers:related:{paper.pk}"
    ids = cache.get(key)
    if ids is None:
        related = list(Paper.objects.related_to(paper))
        cache.set(key, [p.pk for p in related], RELATED_CACHE_SECONDS)
        return related
    by_id = Paper.objects.visible().in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def author_detail(request, slug):
    author = get_object_or_404(Author.objects.select_related("claimed_by"), slug=slug)
    page = paginate(request, Paper.objects.ids_by_author_newest(author))
    page.object_list = _papers_in_order(Paper.objects.for_listing(request.user), page.object_list)
    return render(request, "papers/author.html", {"author": author, "page": page})


# --- Search ---------------------------------------------------------------------------


def search_papers(request):
    form = SearchForm(request.GET)
    context = {"form": form, "page": None, "query": "", "max_words": search.MAX_QUERY_WORDS}
    if form.is_valid() and form.cleaned_data["q"]:
        data = form.cleaned_data
        query = context["query"] = data["q"]
        found = _paper_for_id(query)
        if found and not form.has_filters:
            return redirect(found)
        papers = Paper.objects.published_between(data["since"], data["until"])
        if data["cat"]:
            papers = papers.in_category(data["cat"])
        try:
            with search.time_limit():
                ids = papers.search_ids(query, newest=data["sort"] == "newest")
                page = paginate(request, ids)
                page.object_list = _papers_in_order(
                    Paper.objects.for_listing(request.user).with_search_marks(query),
                    page.object_list,
                )
        except search.SearchTookTooLong:
            context["too_slow"] = True
        else:
            search.mark_fallback(page.object_list, query)
            context["page"] = page
            context["is_capped"] = len(ids) >= search.CANDIDATE_LIMIT
    return render(request, "papers/search.html", context)


def _papers_in_order(papers, ids):
    """The papers with these ids, in the order of `ids` (one query)."""
    by_id = {paper.pk: paper for paper in papers.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def _paper_for_id(query):
    """The paper a query names by arXiv id or URL, if it is here."""
    try:
        arxiv_id = parse_arxiv_id(query).id
    except ValidationError:
        return None
    return Paper.objects.visible().filter(arxiv_id=arxiv_id).first()


# --- About pages ------------------------------------------------------------------------


def about_ranking(request):
    # Worked examples, computed by papers.ranking itself so the page cannot drift from it.
    now = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
    examples = []
    for votes, days_ago in [(10, 0), (40, 1), (10, 2), (100, 2), (100, 6)]:
        featured = now.date() - dt.timedelta(days=days_ago)
        examples.append(
            {
                "votes": votes,
                "days_ago": days_ago,
                "hours": ranking.age_hours(featured, now),
                "divisor": ranking.decay(featured, now),
                "score": ranking.hot_score(votes, featured, now),
            }
        )
    context = {
        "gravity": f"{ranking.GRAVITY:g}",
        "offset_hours": f"{ranking.OFFSET_HOURS:g}",
        "trending_days": settings.TRENDING_DAYS,
        "examples": examples,
    }
    return render(request, "papers/about_ranking.html", context)


def api_docs(request):
    context = {
        "example_pretty": json.dumps(api.example_json(), indent=2, ensure_ascii=False),
        "default_limit": api.DEFAULT_LIMIT,
        "max_limit": api.MAX_LIMIT,
    }
    return render(request, "papers/api_docs.html", context)


# --- Crawlers -----------------------------------------------------------------------------


def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /search/",
        "Disallow: /api/daily_papers",
        "Disallow: /api/papers/",
        "",
        f"Sitemap: {settings.SITE_URL}{reverse('papers:sitemap')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


# --- Errors -------------------------------------------------------------------------------


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return api.error("Not found.", status=404)
    message = str(exception) if isinstance(exception, PublicNotFound) else ""
    return render(request, "errors/404.html", {"message": message}, status=404)


def server_error(request):
    """Rendered without the request: no context processors, no session, no database,
    since any of them may be what failed."""
    html = loader.get_template("errors/500.html").render({"SITE_NAME": settings.SITE_NAME})
    return HttpResponseServerError(html)


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
        # Whether it changed anything or not, the user's vote is now as asked.
        paper.user_has_voted = action == "up"
    except IntegrityError:
        # The account was deleted while this request ran: the vote's foreign key is
        # checked at commit, and the whole vote rolled back. Nothing was counted.
        logout(request)
        return _vote_refused(request, paper, back, "Your account no longer exists.", 403)
    if request.htmx:
        # The count: the new one if the vote changed it, else as read above.
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
            if outcome.refused:
                form.add_error("paper", outcome.refused)
            if outcome.submission:
                if outcome.submission.is_pending:
                    fetch_submission.delay_on_commit(outcome.submission.pk)
                url = reverse("papers:submit")
                return redirect(f"{url}?submission={outcome.submission.pk}")
    shown = request.GET.get("submission", "")
    request.user.submissions.time_out()
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
    request.user.submissions.filter(pk=pk).time_out()
    submission = get_object_or_404(
        Submission.objects.select_related("paper"), pk=pk, user=request.user
    )
    if not request.htmx:
        return redirect(f"{reverse('papers:submit')}?submission={submission.pk}")
    return render(request, "papers/_submission_status.html", {"submission": submission})
