"""GET /api/collections/<user>/<slug>: a collection as JSON, in the style of the rest
of the API (papers.api): the same paper objects, the same errors and headers."""

from django.conf import settings
from django.views.decorators.http import require_GET

from papers import hooks
from papers.api import error, json_response, paper_json, timestamp, user_json
from papers.models import Paper

from .models import Collection


def _names(paper) -> list[str]:
    return [authorship.author.name for authorship in paper.all_authorships]


@require_GET
def collection(request, username, slug):
    found = (
        Collection.objects.select_related("owner")
        .filter(owner__username=username, owner__is_active=True, slug=slug)
        .first()
    )
    # Anonymous, like the rest of the API: a private collection is not found, and an
    # unlisted one needs its secret (?key=).
    if found is None or not found.viewable_by(request.user, request.GET.get("key", "")):
        return error(f"No collection {username}/{slug} here.", status=404)
    items = list(
        found.items.order_by("position", "id").only("paper", "collection", "note", "added_at")
    )
    papers = (
        Paper.objects.visible()
        .select_related("submitted_by", *hooks.listing_relations())  # what feature apps add
        .with_all_authors()
        .in_bulk([item.paper_id for item in items])
    )
    data = {
        "owner": user_json(found.owner),
        "name": found.name,
        "slug": found.slug,
        "description": found.description,
        "visibility": found.visibility,
        "url": settings.SITE_URL + found.get_absolute_url(),
        "createdAt": timestamp(found.created_at),
        "updatedAt": timestamp(found.updated_at),
        "numPapers": len(items),
        "items": [
            {
                "paper": paper_json(papers[item.paper_id], _names(papers[item.paper_id])),
                "note": item.note,
                "addedAt": timestamp(item.added_at),
            }
            for item in items
            if item.paper_id in papers
        ],
    }
    response = json_response(data)
    if not found.is_public:
        # An unlisted collection is for whoever has the link, not for any site.
        del response["Access-Control-Allow-Origin"]
        response["X-Robots-Tag"] = "noindex"
    return response
