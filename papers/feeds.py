"""RSS and Atom feeds of the daily list and of trending.

Feed readers render an item's description as HTML, so it comes from a template
(autoescaped): a title such as "<script>" reaches the reader as text, never as markup.
Links are absolute on SITE_URL, whatever Host the request came with.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from . import ranking
from .models import Paper

FEED_SIZE = 100
TRENDING_FEED_SIZE = 50


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


class PaperItems(Feed):
    """Papers as feed entries: what every feed of papers on the site shares (the
    library's feeds too)."""

    description_template = "papers/feed_description.html"

    def item_title(self, paper):
        return " ".join(paper.title.split())

    def item_link(self, paper):
        return absolute(paper.get_absolute_url())

    def item_updateddate(self, paper):
        return paper.updated_at

    def item_author_name(self, paper):
        names = [n for n in paper.author_names.split(", ") if n]
        if len(names) > 3:
            return f"{', '.join(names[:3])} et al."
        return ", ".join(names) or None

    def item_categories(self, paper):
        return paper.categories or []


class _PaperFeed(PaperItems):
    url_name = ""

    def link(self):
        return absolute(reverse(self.page_name))

    def feed_url(self):
        return absolute(reverse(self.url_name))

    def item_pubdate(self, paper):
        if paper.daily_date:
            return ranking.featured_at(paper.daily_date)
        return paper.published_at


class DailyRss(_PaperFeed):
    page_name = "papers:home"
    url_name = "papers:feed_daily_rss"
    feed_type = Rss201rev2Feed

    def title(self):
        return f"{settings.SITE_NAME}: daily papers"

    def description(self):
        return "The papers featured each day, most upvoted first."

    def items(self):
        # The latest few days: a reader that polls daily misses nothing.
        return (
            Paper.objects.visible()
            .featured()
            .order_by("-daily_date", "-upvote_count", "-id")[:FEED_SIZE]
        )


class DailyAtom(DailyRss):
    url_name = "papers:feed_daily_atom"
    feed_type = Atom1Feed

    def subtitle(self):
        return self.description()


class TrendingRss(_PaperFeed):
    page_name = "papers:trending"
    url_name = "papers:feed_trending_rss"
    feed_type = Rss201rev2Feed

    def title(self):
        return f"{settings.SITE_NAME}: trending papers"

    def description(self):
        return (
            f"The most upvoted papers of the last {settings.TRENDING_DAYS} days, "
            "newer ones weighted higher."
        )

    def items(self):
        return Paper.objects.visible().trending()[:TRENDING_FEED_SIZE]


class TrendingAtom(TrendingRss):
    url_name = "papers:feed_trending_atom"
    feed_type = Atom1Feed

    def subtitle(self):
        return self.description()
