"""Search by meaning's pages. /search/ (papers:search) and the paper page's related
papers (papers:related) are this app's views, put in the papers namespace by
config/urls.py in place of search's and papers' own: search and papers never import
this app (docs/architecture.md)."""

import datetime as dt
import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from papers import api, cards
from papers.highlight import START, STOP
from papers.models import Paper
from papers.pagination import paginate
from papers.views.lists import papers_in_order
from search import fulltext as search
from search import matching
from search import views as search_views
from search.forms import SearchForm

from . import hybrid
from .models import PaperEmbedding
from .recommend import recommend_for, seeds_for

REASONS = {
    hybrid.WORDS: "Matched words",
    hybrid.MEANING: "Similar in meaning",
    hybrid.BOTH: "Matched words, similar in meaning",
    hybrid.TITLE: "Exact title",
}
FOR_YOU_LIMIT = 30
API_MAX_QUERY = 250
API_DEFAULT_LIMIT = 20
API_MAX_LIMIT = 120


def search_mode(request) -> str:
    mode = request.GET.get("mode", "hybrid")
    return mode if mode in hybrid.MODES else "hybrid"


def explain(papers, outcome: "hybrid.Outcome", context: dict) -> None:
    """Each result says why it is there; the page says when meaning was not searched.
    Each card is marked with the words searched (`marked_with`: papers.cards makes the
    marks only for the cards it renders)."""
    for paper in papers:
        reason = outcome.reasons.get(paper.pk)
        paper.match_reason = REASONS.get(reason, "")
        paper.marked_with = outcome.words
        paper.abstract_fragment = reason != hybrid.MEANING
        if reason == hybrid.MEANING:
            # No word matched: the card shows the abstract's opening, not a fragment.
            paper.abstract_marked = None
    context["search_notice"] = outcome.notice
    context["searched_mode"] = outcome.mode
    context["spelling"] = outcome if outcome.suggestion else None


_in_order = papers_in_order
# As papers.views.detail: related papers change only as new papers arrive.
RELATED_CACHE_SECONDS = 6 * 60 * 60


# --- /search/ -----------------------------------------------------------------------------


def _marked_listing(user, words):
    """Search's results as their cards show them: for_listing with the matches of
    `words` (hybrid.search's cleaned query) marked. Through cards.Described, a page whose
    cards are cached reads their keys by SQL compiled once, and loads papers, with
    their marks, only for the cards it renders."""
    return matching.with_search_marks(Paper.objects.for_listing(user), words, cleaned=True)


def search_papers(request):
    """search.views.search_papers with search by meaning: ?mode=hybrid (the default with
    words), keyword or semantic; ?like=<arXiv id> for papers like one paper."""
    form = SearchForm(request.GET)
    context = {"form": form, "page": None, "query": "", "max_words": search.MAX_QUERY_WORDS}
    if not form.is_valid():
        # A malformed filter (since=bad, cat=<script>): nothing is searched, and the page
        # says which field is wrong rather than showing an empty result.
        return render(request, "papers/search.html", context, status=400)
    if request.GET.get("like"):
        return more_like_this(request, form, context)
    if not form.cleaned_data["q"] and form.has_filters:
        return search_views.browse_filtered(request, form, context)
    if form.cleaned_data["q"]:
        data = form.cleaned_data
        query = context["query"] = data["q"]
        arxiv_id = search_views.arxiv_id_in(query)
        found = Paper.objects.visible().filter(arxiv_id=arxiv_id).first() if arxiv_id else None
        if found and not form.has_filters:
            return redirect(found)
        if arxiv_id and not found and not Paper.objects.filter(arxiv_id=arxiv_id).exists():
            context["submit_arxiv_id"] = arxiv_id
        papers = search_views.filtered_papers(data)
        mode = context["mode"] = search_mode(request)
        newest = data["sort"] == "newest"
        try:
            with search.time_limit():
                found = hybrid.search(query, papers, mode, newest, form.has_filters)
                page = paginate(request, found.ids)
                page.object_list = cards.rows_in_order(
                    cards.Described(_marked_listing, user=request.user, words=found.words),
                    page.object_list,
                    marked_with=found.words,
                )
        except search.SearchTookTooLong:
            context["too_slow"] = True
        else:
            # SQLite's marks first: explain() then clears the abstract's of a card found
            # by meaning alone, which shows the abstract's opening, as on PostgreSQL.
            search.mark_fallback(page.object_list, found.words)
            explain(page.object_list, found, context)
            if found.check_spelling:
                # "Did you mean", asked for once the page is shown (not in this request:
                # its queries must not depend on the results): spelling_suggestion.
                context["spelling_check_url"] = search_views.search_url(
                    request, query, "papers:search_spelling"
                )
            context["page"] = page
            context["is_capped"] = len(found.ids) >= search.CANDIDATE_LIMIT
    return render(request, "papers/search.html", context)


# --- Related papers -----------------------------------------------------------------------


def related_papers_view(request, arxiv_id):
    """The paper page's related papers (papers:related): nearest by stored vector, else
    papers sharing title words (papers.views.detail's way); a section htmx swaps in, or
    a page of its own."""
    papers = Paper.objects.visible().only("pk", "arxiv_id", "title", "primary_category")
    paper = get_object_or_404(papers, arxiv_id=arxiv_id)
    key = f"semantic:related:{paper.pk}"
    ids = cache.get(key)
    if ids is None:
        related = related_papers(paper) or list(Paper.objects.related_to(paper))
        cache.set(key, [p.pk for p in related], RELATED_CACHE_SECONDS)
    else:
        related = papers_in_order(Paper.objects.visible(), ids)
    context = {"paper": paper, "related": related}
    if request.htmx:
        return render(request, "papers/_related.html", context)
    return render(request, "papers/related.html", context)


def related_papers(paper, limit: int = 8) -> list:
    """The paper page's related papers: nearest by stored vector, no model call."""
    ids = hybrid.related(paper, limit)
    return _in_order(Paper.objects.visible(), ids) if ids else []


def more_like_this(request, form, context):
    """/search/?like=<arXiv id>: the papers nearest to one paper's stored vector, with
    the page's filters and order, as a search has them (no model call)."""
    like = request.GET.get("like", "")[:64]
    paper = Paper.objects.visible().filter(arxiv_id=like).first()
    if paper is None:
        raise Http404("No such paper here.")
    row = PaperEmbedding.objects.filter(paper=paper).first()
    ids = []
    if row is not None:
        nearest = hybrid.vector_search(
            row.unpack(),
            row.model_key,
            hybrid.SEMANTIC_TOP,
            search_views.filtered_papers(form.cleaned_data) if form.has_filters else None,
            exclude={paper.pk},
        )
        ids = [i for i, _ in nearest]
        if form.cleaned_data["sort"] == "newest":
            ids = hybrid.newest_first(ids)
    page = paginate(request, ids)
    page.object_list = cards.rows_in_order(cards.listed(request.user), page.object_list)
    for item in page.object_list:
        item.match_reason = REASONS[hybrid.MEANING]
    context.update(page=page, like_paper=paper, mode="semantic", not_embedded=row is None)
    return render(request, "papers/search.html", context)


@login_required
def for_you(request):
    days = settings.FOR_YOU_DAYS
    since = (timezone.now() - dt.timedelta(days=days)).date()
    recommendations = recommend_for(request.user, since, FOR_YOU_LIMIT)
    papers = _in_order(
        cards.with_digest(Paper.objects.for_listing(request.user)),
        [r.paper_id for r in recommendations],
    )
    by_id = {r.paper_id: r for r in recommendations}
    for paper in papers:
        paper.recommendation = by_id[paper.pk]
    has_seeds = bool(papers) or bool(seeds_for(request.user))
    context = {"papers": papers, "days": days, "has_seeds": has_seeds}
    return render(request, "semantic/for_you.html", context)


# --- JSON ---------------------------------------------------------------------------------

_SEGMENT = re.compile(f"([{START}{STOP}])")


def _segments(marked: str) -> list[dict]:
    """Hugging Face's highlightedTitle/highlightedSummary: text and highlight segments."""
    out, inside = [], False
    for piece in _SEGMENT.split(marked or ""):
        if piece == START:
            inside = True
        elif piece == STOP:
            inside = False
        elif piece:
            out.append({"type": "highlight" if inside else "text", "text": piece})
    return out


@require_GET
def api_search(request):
    """GET /api/papers/search?q=&limit=: hybrid search, in Hugging Face's shape."""
    raw = request.GET.get("q", "")
    if not raw.strip():
        return api.error("q is required.")
    if len(raw) > API_MAX_QUERY:
        return api.error(f"q must be at most {API_MAX_QUERY} characters.")
    if "\x00" in raw:
        return api.error("q must not contain NUL characters.")
    raw_limit = request.GET.get("limit") or str(API_DEFAULT_LIMIT)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= API_MAX_LIMIT:
        return api.error(f"limit must be a whole number from 1 to {API_MAX_LIMIT}.")
    limit = int(raw_limit)
    query = search.clean_query(raw)
    try:
        with search.time_limit():
            outcome = hybrid.search(query, Paper.objects.all(), "hybrid", filtered=False)
            ids = outcome.ids[:limit]
            query = outcome.words or query  # its spelling correction, if it found nothing
            papers = _in_order(
                matching.with_search_marks(
                    Paper.objects.visible().select_related("submitted_by").with_all_authors(),
                    query,
                ),
                ids,
            )
    except search.SearchTookTooLong:
        return api.error("That search took too long: use fewer or rarer words.", status=503)
    terms = search.fallback_terms(query)
    items = []
    for paper in papers:
        title_marked = paper.title_marked or search.mark_terms(paper.title, terms)
        data = api.paper_json(paper, [a.author.name for a in paper.all_authorships])
        items.append(
            {
                "paper": data,
                "publishedAt": data["publishedAt"],
                "title": " ".join(paper.title.split()),
                "summary": paper.abstract,
                "highlightedTitle": _segments(" ".join(title_marked.split())),
                "highlightedSummary": _segments(search.mark_terms(paper.abstract, terms)),
            }
        )
    return api.json_response(items)
