"""Template tags for the library's pieces on other apps' pages (the paper page's
"In collections" panel, the public collections on a profile), so those pages need only
an {% include %}."""

from urllib.parse import quote

from django import template
from django.db.models import Count, Exists, OuterRef
from django.urls import get_script_prefix, reverse

from papers import compiled

from ..models import (
    PUBLIC_COLLECTIONS_SHOWN,
    Collection,
    CollectionItem,
    visible_collections_with,
)

register = template.Library()

# The save and read buttons are on every card: reverse() costs ~20 µs a URL (resolver
# and converter lookups), so the paper's URL is the pattern's, reversed once with an
# example id, with the id swapped in and quoted as reverse() quotes it (as
# papers.links.url_for does for patterns that take any string).
_EXAMPLE_ID = "9999.99999"
_URL_SAFE = "!$&'()*+,;=/~:@"
_url_parts: dict[tuple[str, str], tuple[str, str]] = {}


def paper_url(name: str, arxiv_id: str) -> str:
    """reverse(name, args=[arxiv_id]) for the library's <arxiv:arxiv_id> patterns."""
    key = (name, get_script_prefix())
    parts = _url_parts.get(key)
    if parts is None:
        before, _, after = reverse(name, args=[_EXAMPLE_ID]).partition(_EXAMPLE_ID)
        parts = _url_parts[key] = (before, after)
    return f"{parts[0]}{quote(arxiv_id, safe=_URL_SAFE)}{parts[1]}"


@register.filter
def save_url(paper):
    return paper_url("library:save", paper.arxiv_id)


@register.filter
def read_url(paper):
    return paper_url("library:read", paper.arxiv_id)


@register.simple_tag
def public_collections_with(paper, limit=PUBLIC_COLLECTIONS_SHOWN):
    """The public collections that include `paper` (one query)."""
    return list(visible_collections_with(paper)[:limit])


@register.simple_tag
def own_collections_for(user, paper):
    """The signed-in user's collections, each with `has_paper` (one query)."""
    if not user.is_authenticated:
        return []
    # On every paper page a member reads: compiled once (papers.compiled).
    return compiled.shaped(_own_collections, user=user, paper=paper.pk).objects()


def _own_collections(user, paper):
    has = CollectionItem.objects.filter(collection=OuterRef("pk"), paper_id=paper)
    return (
        Collection.objects.filter(owner=user)
        .annotate(has_paper=Exists(has))
        .order_by("-updated_at")
        .only("pk", "name", "slug", "owner_id")
    )


@register.simple_tag
def public_collections_of(person, limit=20):
    """A profile's public collections with their sizes (one query)."""
    return list(
        Collection.objects.public()
        .filter(owner=person)
        .select_related("owner")
        .annotate(size=Count("items"))
        .order_by("-updated_at")[:limit]
    )
