"""What the /search/ page needs from search. The page itself is semantic.views.search_papers
(named papers:search for its history: config/urls.py), which adds search by meaning to the
full-text search here; these are the parts that do not depend on meaning."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from papers.arxiv_ids import parse_arxiv_id
from papers.models import Paper
from papers.pagination import paginate_uncounted
from papers.views import lists
from papers.views.errors import PublicNotFound

from . import spelling
from .forms import SearchForm


def filtered_papers(data):
    """The visible papers a search form's filters (since, until, cat, has_code) select."""
    papers = Paper.objects.published_between(data["since"], data["until"])
    if data["cat"]:
        papers = papers.in_category(data["cat"])
    if data["has_code"]:
        papers = papers.with_code()
    return papers


def browse_filtered(request, form, context):
    """Filters without words (/search/?cat=cs.LG): the papers they select, newest
    first, paged like /new/ (no count: a whole category can be most of the site)."""
    papers = filtered_papers(form.cleaned_data)
    page = paginate_uncounted(
        request, papers.for_listing(request.user).newest(), lists.NEW_MAX_PAGES
    )
    if page is None:
        raise PublicNotFound(
            f"Browsing goes back {lists.NEW_MAX_PAGES} pages: add words or narrow the dates."
        )
    context.update(browsing=True, page=page)
    return render(request, "papers/search.html", context)


def arxiv_id_in(query) -> str | None:
    """The arXiv id a query names (an id or an arXiv URL), if it is one."""
    try:
        return parse_arxiv_id(query).id
    except ValidationError:
        return None


def search_url(request, words: str, view: str = "papers:search") -> str:
    """This search's URL (mode, filters, order) at `view`, with `words` as its query."""
    query = request.GET.copy()
    query.pop("page", None)
    query["q"] = words
    return f"{reverse(view)}?{query.urlencode()}"


@require_GET
def spelling_suggestion(request):
    """/search/spelling/?q=…: "Did you mean …?" for a query that found a few papers
    (spelling.correct). The results page asks for it once shown (htmx, or a link
    without JavaScript) rather than correcting in its own request, so that its queries
    do not depend on how many results it has: a few queries here, whatever the query."""
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    # Linked from a page the query found papers on: no full-text probe needed.
    suggestion = spelling.correct(query, found_some=True) if query else None
    context = {"query": query, "spelling": spelling.Spelled([], query, suggestion or "")}
    if suggestion:
        context["suggestion_url"] = search_url(request, suggestion)
    if request.htmx:
        if not suggestion:
            return HttpResponse("")  # htmx swaps the placeholder out for nothing
        return render(request, "search/_spelling.html", context)
    context["search_url"] = search_url(request, query)
    return render(request, "search/spelling.html", context)
