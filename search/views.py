"""The search page (/search/, named papers:search for its history: config/urls.py)."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from papers.arxiv_ids import parse_arxiv_id
from papers.models import Paper
from papers.pagination import paginate, paginate_uncounted
from papers.views import lists
from papers.views.errors import PublicNotFound

from . import fulltext, matching
from .forms import SearchForm


def search_papers(request):
    form = SearchForm(request.GET)
    context = {"form": form, "page": None, "query": "", "max_words": fulltext.MAX_QUERY_WORDS}
    if not form.is_valid():
        # A malformed filter (since=bad, cat=<script>): nothing is searched, and the page
        # says which field is wrong rather than showing an empty result.
        return render(request, "papers/search.html", context, status=400)
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
        try:
            with fulltext.time_limit():
                ids = matching.search_ids(papers, query, newest=data["sort"] == "newest")
                page = paginate(request, ids)
                page.object_list = lists.papers_in_order(
                    matching.with_search_marks(Paper.objects.for_listing(request.user), query),
                    page.object_list,
                )
        except fulltext.SearchTookTooLong:
            context["too_slow"] = True
        else:
            fulltext.mark_fallback(page.object_list, query)
            context["page"] = page
            context["is_capped"] = len(ids) >= fulltext.CANDIDATE_LIMIT
    return render(request, "papers/search.html", context)


def _browse_filtered(request, form, context):
    """Filters without words (/search/?cat=cs.LG): the papers they select, newest
    first, paged like /new/ (no count: a whole category can be most of the site)."""
    data = form.cleaned_data
    papers = Paper.objects.published_between(data["since"], data["until"])
    if data["cat"]:
        papers = papers.in_category(data["cat"])
    page = paginate_uncounted(
        request, papers.for_listing(request.user).newest(), lists.NEW_MAX_PAGES
    )
    if page is None:
        raise PublicNotFound(
            f"Browsing goes back {lists.NEW_MAX_PAGES} pages: add words or narrow the dates."
        )
    context.update(browsing=True, page=page)
    return render(request, "papers/search.html", context)


def _arxiv_id_in(query) -> str | None:
    """The arXiv id a query names (an id or an arXiv URL), if it is one."""
    try:
        return parse_arxiv_id(query).id
    except ValidationError:
        return None
