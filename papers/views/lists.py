"""The lists of papers: a day, week or month, trending, new."""

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from .. import cards
from ..dates import Period, day_period, parse_day, parse_month, parse_week
from ..models import Paper
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
    papers = (
        Paper.objects.for_listing(request.user).featured_between(period.first, period.last).ranked()
    )
    papers = only_with_code_if_asked(request, papers)
    page = paginate(request, cards.Deferred(papers))
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
    papers = only_with_code_if_asked(request, Paper.objects.for_listing(request.user).trending())
    page = paginate(request, cards.Deferred(papers))
    return render(
        request,
        "papers/trending.html",
        {"page": page, "trending_days": settings.TRENDING_DAYS},
    )


def new(request):
    papers = only_with_code_if_asked(request, Paper.objects.for_listing(request.user).newest())
    page = paginate_uncounted(request, cards.Deferred(papers), NEW_MAX_PAGES)
    if page is None:
        raise PublicNotFound(
            "There is no such page of new papers: the list ends earlier (it goes back at "
            f"most {NEW_MAX_PAGES} pages). For older papers, search or browse the daily lists."
        )
    return render(request, "papers/new.html", {"page": page})


def only_with_code_if_asked(request, papers):
    """?has_code=1 (issue 13): only the papers with a code link."""
    return papers.with_code() if request.GET.get("has_code") == "1" else papers


def papers_in_order(papers, ids):
    """The papers with these ids, in the order of `ids` (one query)."""
    by_id = {paper.pk: paper for paper in papers.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]
