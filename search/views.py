"""What the /search/ page needs from search. The page itself is semantic.views.search_papers
(named papers:search for its history: config/urls.py), which adds search by meaning to the
full-text search here; these are the parts that do not depend on meaning."""

from django.core.exceptions import ValidationError
from django.shortcuts import render

from papers.arxiv_ids import parse_arxiv_id
from papers.models import Paper
from papers.pagination import paginate_uncounted
from papers.views import lists
from papers.views.errors import PublicNotFound


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
