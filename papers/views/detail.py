"""A paper's page (with its voters and related papers) and an author's page."""

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from .. import cards, citation, compiled, hooks, pageparts
from ..models import Author, Paper
from ..pagination import paginate
from .errors import PaperNotHere

VOTERS_SHOWN = pageparts.VOTERS_SHOWN
RELATED_CACHE_SECONDS = 6 * 60 * 60


# --- A paper, an author -----------------------------------------------------------------


def paper_detail(request, arxiv_id):
    found = compiled.shaped(_paper_for_page, user=request.user, arxiv_id=arxiv_id).objects()
    paper = found[0] if found else None
    if paper is None:
        if Paper.objects.filter(arxiv_id=arxiv_id).exists():
            raise Http404("hidden")  # by the moderators: nothing to offer
        raise PaperNotHere(arxiv_id)
    # What only the page's reader-independent parts show is loaded lazily: when they
    # are cached (papers.pageparts), none of it is read.
    authorships = pageparts.lazy_list(
        lambda: paper.authorships.select_related("author").order_by("position")
    )
    pageparts.fetch(paper, request)
    context = {
        "paper": paper,
        "authorships": authorships,
        "voters": pageparts.lazy_list(lambda: voters_context(paper)["voters"]),
        "more_voters": max(paper.upvote_count - VOTERS_SHOWN, 0),
        "bibtex": pageparts.lazy(
            lambda: citation.bibtex(paper, [a.author.name for a in authorships])
        ),
        "canonical_url": settings.SITE_URL + paper.get_absolute_url(),
    }
    response = render(request, "papers/detail.html", context)
    pageparts.store(paper)
    return response


def _paper_for_page(user, arxiv_id):
    """The paper page's query (compiled once per shape: papers.compiled)."""
    papers = (
        Paper.objects.visible()
        .with_user_votes(user)
        .with_viewer_annotations(user)
        # With what feature apps show (papers.hooks): joined, no query more.
        .select_related("submitted_by", *hooks.listing_relations())
    )
    return pageparts.with_page_digest(papers).filter(arxiv_id=arxiv_id).order_by("pk")[:1]


def voters_context(paper) -> dict:
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
        related = list(Paper.objects.related_to(paper))
        cache.set(key, [p.pk for p in related], RELATED_CACHE_SECONDS)
        return related
    by_id = Paper.objects.visible().in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def _author_by_slug(slug):
    return Author.objects.select_related("claimed_by").filter(slug=slug)


def author_detail(request, slug):
    found = compiled.shaped(_author_by_slug, slug=slug).objects()
    if not found:
        raise Http404("No such author.")
    author = found[0]
    page = paginate(request, Paper.objects.ids_by_author_newest(author))
    page.object_list = cards.rows_in_order(cards.listed(request.user), page.object_list)
    return render(request, "papers/author.html", {"author": author, "page": page})
