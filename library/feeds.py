"""Atom feeds: a public collection's, and the private feed of a user's library (its
URL holds the LibraryFeed secret; regenerating it revokes the old URL).

Items are papers, described by papers/feed_description.html like the site's other feeds
(autoescaped: a title such as "<script>" reaches the reader as text).
"""

from django.conf import settings
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from papers.feeds import PaperItems, absolute
from papers.models import Paper

from .models import LibraryFeed, viewable_collection

FEED_SIZE = 100


class CollectionAtom(PaperItems):
    feed_type = Atom1Feed

    def get_object(self, request, username, slug):
        collection = viewable_collection(request.user, username, slug)
        if collection is None or not collection.is_public:
            # A feed URL travels (readers, aggregators): only public collections have one.
            raise Http404("No such collection.")
        return collection

    def title(self, collection):
        return f"{collection.name} · a collection by {collection.owner.public_name}"

    def subtitle(self, collection):
        return collection.description or f"Papers collected on {settings.SITE_NAME}."

    def link(self, collection):
        return absolute(collection.get_absolute_url())

    def feed_url(self, collection):
        return absolute(f"{collection.get_absolute_url().rstrip('/')}.atom")

    def items(self, collection):
        # Newest additions first: what a reader wants to hear about.
        return (
            Paper.objects.visible()
            .filter(collection_items__collection=collection)
            .annotate(added_at=F("collection_items__added_at"))
            .order_by("-added_at", "-id")[:FEED_SIZE]
        )

    def item_pubdate(self, paper):
        return paper.added_at


class LibraryAtom(PaperItems):
    feed_type = Atom1Feed

    def get_object(self, request, token):
        return get_object_or_404(LibraryFeed.objects.select_related("user"), token=token)

    def title(self, feed):
        return f"{feed.user.public_name}'s library on {settings.SITE_NAME}"

    def subtitle(self, feed):
        return "The papers you saved, newest first. This address is private: keep it to yourself."

    def link(self, feed):
        return absolute(reverse("library:library"))

    def feed_url(self, feed):
        return absolute(feed.get_absolute_url())

    def items(self, feed):
        return (
            Paper.objects.visible()
            .filter(saves__user=feed.user)
            .annotate(saved_at=F("saves__saved_at"))
            .order_by("-saved_at", "-id")[:FEED_SIZE]
        )

    def item_pubdate(self, paper):
        return paper.saved_at

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex"
        response["Referrer-Policy"] = "no-referrer"
        return response
