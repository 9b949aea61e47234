import datetime as dt
import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from papers import api, search
from papers.models import Paper
from papers.pagination import paginate

from . import hybrid
from .models import PaperEmbedding
from .recommend import recommend_for

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
    """Each result says why it is there; the page says when meaning was not searched."""
    for paper in papers:
        reason = outcome.reasons.get(paper.pk)
        paper.match_reason = REASONS.get(reason, "")
        if reason == hybrid.MEANING:
            # No word matched: the card shows the abstract's opening, not a fragment.
            paper.abstract_marked = None
    context["search_notice"] = outcome.notice
    context["searched_mode"] = outcome.mode


def _in_order(papers, ids):
    by_id = {paper.pk: paper for paper in papers.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def related_papers(paper, limit: int = 8) -> list:
    """The paper page's related papers: nearest by stored vector, no model call."""
    ids = hybrid.related(paper, limit)
    return _in_order(Paper.objects.visible(), ids) if ids else []


def more_like_this(request, form, context):
    """/search/?like=<arXiv id>: the papers nearest to one paper's stored vector, with
    the page's filters (no model call)."""
    like = request.GET.get("like", "")[:64]
    paper = Paper.objects.visible().filter(arxiv_id=like).first()
    if paper is None:
        raise Http404("No such paper here.")
    data = form.cleaned_data
    papers = Paper.objects.published_between(data["since"], data["until"])
    if data["cat"]:
        papers = papers.in_category(data["cat"])
    row = PaperEmbedding.objects.filter(paper=paper).first()
    ids = []
    if row is not None:
        nearest = hybrid.vector_search(
            row.unpack(),
            row.model_key,
            hybrid.SEMANTIC_TOP,
            papers if form.has_filters else None,
            exclude={paper.pk},
        )
        ids = [i for i, _ in nearest]
    page = paginate(request, ids)
    page.object_list = _in_order(Paper.objects.for_listing(request.user), page.object_list)
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
        Paper.objects.for_listing(request.user), [r.paper_id for r in recommendations]
    )
    by_id = {r.paper_id: r for r in recommendations}
    for paper in papers:
        paper.recommendation = by_id[paper.pk]
    has_votes = Paper.objects.upvoted_by(request.user).exists()
    context = {"papers": papers, "days": days, "has_votes": has_votes}
    return render(request, "semantic/for_you.html", context)


# --- JSON ---------------------------------------------------------------------------------

_SEGMENT = re.compile(f"([{search.START}{search.STOP}])")


def _segments(marked: str) -> list[dict]:
    """Hugging Face's highlightedTitle/highlightedSummary: text and highlight segments."""
    out, inside = [], False
    for piece in _SEGMENT.split(marked or ""):
        if piece == search.START:
            inside = True
        elif piece == search.STOP:
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
    try:
        limit = api._int_param(request, "limit", API_DEFAULT_LIMIT, 1, API_MAX_LIMIT)
    except ValueError as exc:
        return api.error(str(exc))
    query = search.clean_query(raw)
    try:
        with search.time_limit():
            outcome = hybrid.search(query, Paper.objects.all(), "hybrid", filtered=False)
            ids = outcome.ids[:limit]
            papers = _in_order(
                Paper.objects.visible()
                .select_related("submitted_by")
                .with_all_authors()
                .with_search_marks(query),
                ids,
            )
    except search.SearchTookTooLong:
        return api.error("That search took too long: use fewer or rarer words.", status=503)
    terms = search.fallback_terms(query)
    items = []
    for paper in papers:
        title_marked = paper.title_marked or search.mark_terms(paper.title, terms)
        items.append(
            {
                "paper": api.paper_json(paper, [a.author.name for a in paper.all_authorships]),
                "publishedAt": api._timestamp(paper.published_at),
                "title": " ".join(paper.title.split()),
                "summary": paper.abstract,
                "highlightedTitle": _segments(" ".join(title_marked.split())),
                "highlightedSummary": _segments(search.mark_terms(paper.abstract, terms)),
            }
        )
    return api.json_response(items)
