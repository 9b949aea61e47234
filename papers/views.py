import datetime as dt
import json
import math
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import get_usage, is_ratelimited
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts import pending_votes, signin
from semantic import hybrid
from semantic import views as semantic_views

from . import api, citation, ranking, search
from .arxiv_ids import parse_arxiv_id
from .dates import Period, day_period, parse_day, parse_month, parse_week
from .forms import SearchForm
from .models import Author, Paper
from .pagination import paginate, paginate_uncounted
from .queueing import QueueUnavailable

# How far back /new/ pages: past this, the day, week and month lists and search serve
# better than a deep OFFSET.
NEW_MAX_PAGES = 100
VOTERS_SHOWN = 50
RELATED_CACHE_SECONDS = 6 * 60 * 60


class PublicNotFound(Http404):
    """A 404 whose message is written for the visitor and shown on the error page."""


class PaperNotHere(PublicNotFound):
    """A paper this site has never had: the 404 page offers to submit it."""

    def __init__(self, arxiv_id):
        super().__init__(f"arXiv:{arxiv_id} is not on {settings.SITE_NAME} yet.")
        self.arxiv_id = arxiv_id


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
    if period.first > timezone.localdate() and not page.object_list:
        raise PublicNotFound(
            f"{period.label} is still to come: nothing has been featured for it yet."
        )
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
            "There is no such page of new papers: the list ends earlier (it goes back at "
            f"most {NEW_MAX_PAGES} pages). For older papers, search or browse the daily lists."
        )
    return render(request, "papers/new.html", {"page": page})


# --- A paper, an author -----------------------------------------------------------------


def paper_detail(request, arxiv_id):
    papers = Paper.objects.visible().with_user_votes(request.user).select_related("submitted_by")
    paper = papers.filter(arxiv_id=arxiv_id).first()
    if paper is None:
        if Paper.objects.filter(arxiv_id=arxiv_id).exists():
            raise Http404("hidden")  # by the moderators: nothing to offer
        raise PaperNotHere(arxiv_id)
    authorships = list(paper.authorships.select_related("author").order_by("position"))
    context = {
        "paper": paper,
        "authorships": authorships,
        **_voters(paper),
        "bibtex": citation.bibtex(paper, [a.author.name for a in authorships]),
        "canonical_url": settings.SITE_URL + paper.get_absolute_url(),
    }
    return render(request, "papers/detail.html", context)


def _voters(paper) -> dict:
    """The context of papers/_voters.html: no query when nobody has voted."""
    voters = paper.voters_for_display(VOTERS_SHOWN) if paper.upvote_count else []
    return {"voters": voters, "more_voters": max(paper.upvote_count - VOTERS_SHOWN, 0)}


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
        # Nearest by meaning (stored vectors), else papers sharing title words.
        related = semantic_views.related_papers(paper) or list(Paper.objects.related_to(paper))
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
    if not form.is_valid():
        # A malformed filter (since=bad, cat=<script>): nothing is searched, and the page
        # says which field is wrong rather than showing an empty result.
        return render(request, "papers/search.html", context, status=400)
    if request.GET.get("like"):
        return semantic_views.more_like_this(request, form, context)
    if not form.cleaned_data["q"] and form.has_filters:
        return _browse_filtered(request, form, context)
    if form.cleaned_data["q"]:
        data = form.cleaned_data
        query = context["query"] = data["q"]
        arxiv_id = _arxiv_id_in(query)
        found = Paper.objects.visible().filter(arxiv_id=arxiv_id).first() if arxiv_id else None
        if found and not form.has_filters:
            return redirect(found)
        if arxiv_id and not found and not Paper.objects.filter(arxiv_id=arxiv_id).exists():
            context["submit_arxiv_id"] = arxiv_id
        papers = Paper.objects.published_between(data["since"], data["until"])
        if data["cat"]:
            papers = papers.in_category(data["cat"])
        mode = context["mode"] = semantic_views.search_mode(request)
        try:
            with search.time_limit():
                found = hybrid.search(
                    query, papers, mode, data["sort"] == "newest", form.has_filters
                )
                ids = found.ids
                page = paginate(request, ids)
                page.object_list = _papers_in_order(
                    Paper.objects.for_listing(request.user).with_search_marks(query),
                    page.object_list,
                )
        except search.SearchTookTooLong:
            context["too_slow"] = True
        else:
            semantic_views.explain(page.object_list, found, context)
            search.mark_fallback(page.object_list, query)
            context["page"] = page
            context["is_capped"] = len(ids) >= search.CANDIDATE_LIMIT
    return render(request, "papers/search.html", context)


def _browse_filtered(request, form, context):
    """Filters without words (/search/?cat=cs.LG): the papers they select, newest
    first, paged like /new/ (no count: a whole category can be most of the site)."""
    data = form.cleaned_data
    papers = Paper.objects.published_between(data["since"], data["until"])
    if data["cat"]:
        papers = papers.in_category(data["cat"])
    page = paginate_uncounted(request, papers.for_listing(request.user).newest(), NEW_MAX_PAGES)
    if page is None:
        raise PublicNotFound(
            f"Browsing goes back {NEW_MAX_PAGES} pages: add words or narrow the dates."
        )
    context.update(browsing=True, page=page)
    return render(request, "papers/search.html", context)


def _papers_in_order(papers, ids):
    """The papers with these ids, in the order of `ids` (one query)."""
    by_id = {paper.pk: paper for paper in papers.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def _arxiv_id_in(query) -> str | None:
    """The arXiv id a query names (an id or an arXiv URL), if it is one."""
    try:
        return parse_arxiv_id(query).id
    except ValidationError:
        return None


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


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: point them at the icon.
    Not permanent: the static URL carries a hash that changes with the file."""
    response = redirect(static("img/favicon.svg"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


# --- Errors -------------------------------------------------------------------------------


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return api.error("Not found.", status=404)
    message = str(exception) if isinstance(exception, PublicNotFound) else ""
    context = {"message": message, "submit_arxiv_id": getattr(exception, "arxiv_id", "")}
    return render(request, "errors/404.html", context, status=404)


# A dependency out of reach for a moment (PostgreSQL restarting, a statement timeout,
# the task broker down): the request failed as a whole (a transaction rolled back), so
# it can be tried again. A 503 with Retry-After says so to people, proxies and clients.
UNAVAILABLE = (OperationalError, InterfaceError, KombuOperationalError, QueueUnavailable)
RETRY_AFTER_SECONDS = 5


def permission_denied(request, exception):
    if request.path.startswith("/api/"):
        return api.error("Forbidden.", status=403)
    return render(request, "errors/403.html", status=403)


def too_many_requests(request):
    return render(request, "errors/429.html", status=429)


def server_error(request):
    """Rendered without the request: no context processors, no session, no database,
    since any of them may be what failed. Django calls it while handling the
    exception, so sys.exc_info() says what failed."""
    context = {"SITE_NAME": settings.SITE_NAME}
    if isinstance(sys.exc_info()[1], UNAVAILABLE):
        html = loader.get_template("errors/503.html").render(context)
        response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    html = loader.get_template("errors/500.html").render(context)
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
    return redirect(_at_card(back, paper))


def _at_card(back, paper):
    """`back` scrolled to the paper's card (cards have id="paper-<pk>"), so a vote
    without JavaScript lands where the reader was, not at the top of the list."""
    if urlsplit(back).path == paper.get_absolute_url():
        return back
    return f"{back}#paper-{paper.pk}"


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
        login_url = signin.login_url(back, "vote")
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
            context = {"paper": paper, "oob": True, **_voters(paper)}
            html += loader.render_to_string("papers/_voters.html", context, request)
        return HttpResponse(html)
    return redirect(_at_card(back, paper))


# --- Submitting papers (issue 4) --------------------------------------------------------
# A signed-in user names an arXiv paper; a task fetches it from arXiv and it joins
# today's list "submitted by" them (papers.ingest.submit). The page polls the
# submission's status with htmx until the fetch is done.

from django.contrib.auth.decorators import login_required  # noqa: E402

from .ingest.submit import SubmitPaperForm, submit_paper  # noqa: E402
from .models import Submission  # noqa: E402
from .queueing import enqueue_on_commit  # noqa: E402
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


def _submit_usage(request, increment=False) -> dict | None:
    """The user's submissions in the current window (django-ratelimit's count)."""
    return get_usage(
        request, group="papers:submit", key="user", rate=_submit_rate, increment=increment
    )


def _wait_in_words(seconds: int) -> str:
    minutes = max(math.ceil(seconds / 60), 1)
    if minutes < 60:
        return f"{minutes} minute{'s' * (minutes != 1)}"
    hours = round(minutes / 60)
    return f"about {hours} hour{'s' * (hours != 1)}"


@login_required
def submit(request):
    # ?arxiv_id= comes from "Submit this paper" on a search or a paper's 404.
    form = SubmitPaperForm(
        request.POST or None, initial={"paper": request.GET.get("arxiv_id", "")[:200]}
    )
    featured_paper, status, retry_after = None, 200, None
    if request.method == "POST":
        # Only submissions that were made count against the limit: a typo, a paper that
        # is already featured or any other refusal costs nothing. (Two submissions at
        # the same instant may both pass the check: the limit is a brake, not a quota.)
        usage = _submit_usage(request)
        if usage and usage["count"] >= usage["limit"]:
            retry_after = max(usage["time_left"], 1)
            form.add_error(
                None,
                "You have submitted many papers recently: the limit is "
                f"{_rate_in_words(settings.SUBMIT_RATE_LIMIT)}. "
                f"Try again in {_wait_in_words(retry_after)}.",
            )
            status = 429
        elif form.is_valid():
            outcome = submit_paper(request.user, form.cleaned_data["paper"])
            featured_paper = outcome.featured_paper
            if outcome.refused:
                form.add_error("paper", outcome.refused)
            if outcome.submission:
                _submit_usage(request, increment=True)
                if outcome.submission.is_pending:
                    enqueue_on_commit(
                        fetch_submission,
                        outcome.submission.pk,
                        on_failure=outcome.submission.fail_unqueued,
                    )
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
    response = render(request, "papers/submit.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@login_required
def submission_status(request, pk):
    request.user.submissions.filter(pk=pk).time_out()
    submission = get_object_or_404(
        Submission.objects.select_related("paper"), pk=pk, user=request.user
    )
    if not request.htmx:
        return redirect(f"{reverse('papers:submit')}?submission={submission.pk}")
    return render(request, "papers/_submission_status.html", {"submission": submission})
