"""Template tags for the library's pieces on other apps' pages (the paper page's
"In collections" panel, the public collections on a profile), so those pages need only
an {% include %}."""

from django import template
from django.db.models import Count, Exists, OuterRef

from ..models import Collection, CollectionItem, visible_collections_with

register = template.Library()


@register.simple_tag
def public_collections_with(paper, limit=10):
    """The public collections that include `paper` (one query)."""
    return list(visible_collections_with(paper)[:limit])


@register.simple_tag
def own_collections_for(user, paper):
    """The signed-in user's collections, each with `has_paper` (one query)."""
    if not user.is_authenticated:
        return []
    has = CollectionItem.objects.filter(collection=OuterRef("pk"), paper=paper)
    return list(
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
