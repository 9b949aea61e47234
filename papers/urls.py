from django.contrib.sitemaps import views as sitemap_views
from django.urls import path, register_converter
from django.views.decorators.cache import cache_page

from config import converters  # noqa: F401  (registers <text:...>)

from . import api, feeds, views
from .arxiv_ids import URL_PATTERN
from .sitemaps import SITEMAPS


class ArxivIdConverter:
    regex = URL_PATTERN

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ArxivIdConverter, "arxiv")

app_name = "papers"

SITEMAP_CACHE_SECONDS = 60 * 60

urlpatterns = [
    path("", views.daily, name="home"),
    # Periods are matched loosely and parsed in the view, so a malformed one gets a
    # 404 that says what is wrong with it.
    path("papers/date/<text:day>/", views.day, name="day"),
    path("papers/week/<text:week>/", views.week, name="week"),
    path("papers/month/<text:month>/", views.month, name="month"),
    path("trending/", views.trending, name="trending"),
    path("new/", views.new, name="new"),
    path("papers/<arxiv:arxiv_id>/", views.paper_detail, name="detail"),
    path("papers/<arxiv:arxiv_id>/related/", views.related_papers, name="related"),
    path("papers/<arxiv:arxiv_id>/vote/", views.vote, name="vote"),
    path("authors/<text:slug>/", views.author_detail, name="author"),
    path("about/ranking/", views.about_ranking, name="about_ranking"),
    # JSON
    path("api/", views.api_docs, name="api_docs"),
    path("api/daily_papers", api.daily_papers, name="api_daily_papers"),
    path("api/papers/<arxiv:arxiv_id>", api.paper, name="api_paper"),
    # Feeds and crawlers
    path("feeds/daily.rss", feeds.DailyRss(), name="feed_daily_rss"),
    path("feeds/daily.atom", feeds.DailyAtom(), name="feed_daily_atom"),
    path("feeds/trending.rss", feeds.TrendingRss(), name="feed_trending_rss"),
    path("feeds/trending.atom", feeds.TrendingAtom(), name="feed_trending_atom"),
    path(
        "sitemap.xml",
        cache_page(SITEMAP_CACHE_SECONDS)(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "papers:sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        cache_page(SITEMAP_CACHE_SECONDS)(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
    path("favicon.ico", views.favicon, name="favicon"),
]
