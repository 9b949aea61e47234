"""sitemap.xml: an index of sections (pages, days, papers, authors), each split into
files of at most 50,000 URLs, all on SITE_URL."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Exists, OuterRef
from django.urls import reverse

from .models import Author, Authorship, Paper


class _SiteSitemap(Sitemap):
    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_latest_lastmod(self):
        # The default reads every item; the index does without.
        return None


class PagesSitemap(_SiteSitemap):
    changefreq = "daily"

    def items(self):
        return ["papers:home", "papers:trending", "papers:new", "papers:about_ranking"]

    def location(self, name):
        return reverse(name)


class DaysSitemap(_SiteSitemap):
    changefreq = "daily"

    def items(self):
        return Paper.objects.featured_days()

    def location(self, day):
        return reverse("papers:day", args=[day.isoformat()])


class PapersSitemap(_SiteSitemap):
    def items(self):
        return Paper.objects.visible().only("arxiv_id", "modified_at").order_by("id")

    def lastmod(self, paper):
        return paper.modified_at


class AuthorsSitemap(_SiteSitemap):
    def items(self):
        with_visible_papers = Authorship.objects.filter(
            author=OuterRef("pk"), paper__is_hidden=False
        )
        return Author.objects.filter(Exists(with_visible_papers)).only("slug").order_by("id")


SITEMAPS = {
    "pages": PagesSitemap,
    "days": DaysSitemap,
    "papers": PapersSitemap,
    "authors": AuthorsSitemap,
}
