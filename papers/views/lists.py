"""The lists of papers: a day, week or month, trending, new."""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from .. import cards
from ..dates import Period, day_period, parse_day, parse_month, parse_week
from ..models import Paper
from ..models.querysets import trending_start
from ..pagination import paginate, paginate_uncounted
from .errors import PublicNotFound

# How far back /new/ pages: past this, the day, week and month lists and search serve
# better than a deep OFFSET.
NEW_MAX_PAGES = 100


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
    papers = cards.Described(
        period_papers,
        user=request.user,
        first=period.first,
        last=period.last,
        has_code=wants_code(request),
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
    papers = cards.Described(
        trending_papers, user=request.user, since=trending_start(), has_code=wants_code(request)
    )
    page = paginate(request, papers)
    return render(
        request,
        "papers/trending.html",
        {"page": page, "trending_days": settings.TRENDING_DAYS},
    )


def new(request):
    papers = cards.Described(new_papers, user=request.user, has_code=wants_code(request))
    page = paginate_uncounted(request, papers, NEW_MAX_PAGES)
    if page is None:
        raise PublicNotFound(
            "There is no such page of new papers: the list ends earlier (it goes back at "
            f"most {NEW_MAX_PAGES} pages). For older papers, search or browse the daily lists."
        )
    return render(request, "papers/new.html", {"page": page})


def wants_code(request) -> bool:
    """?has_code=1 (issue 13): only the papers with a code link."""
    return request.GET.get("has_code") == "1"


# The lists as cards.Described builds them: module-level functions of the values a
# request gives, so that each list's queries are compiled once per shape.


def period_papers(user, first, last, has_code):
    papers = Paper.objects.for_listing(user).featured_between(first, last).ranked()
    return papers.with_code() if has_code else papers


def trending_papers(user, since, has_code):
    papers = Paper.objects.for_listing(user).trending_since(since)
    return papers.with_code() if has_code else papers


def new_papers(user, has_code):
    papers = Paper.objects.for_listing(user).newest()
    return papers.with_code() if has_code else papers


def papers_in_order(papers, ids):
    """The papers with these ids, in the order of `ids` (one query)."""
    by_id = {paper.pk: paper for paper in papers.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]
