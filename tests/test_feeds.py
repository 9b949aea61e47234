"""RSS and Atom feeds, the sitemap and what crawlers read."""

import datetime as dt

import feedparser
import lxml.etree
import lxml.html
import pytest
from django.utils import timezone

from papers.models import Paper

from .factories import PaperFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
ATOM = "{http://www.w3.org/2005/Atom}"


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def test_the_daily_rss_feed_lists_recent_days_most_upvoted_first(client):
    old = PaperFactory(title="Yesterday's top", daily_date=TODAY - dt.timedelta(days=1))
    Paper.objects.filter(pk=old.pk).update(upvote_count=50)
    low = PaperFactory(title="Today, few votes", authors=["Ada Lovelace", "Alan Turing"])
    high = PaperFactory(title="Today, many votes")
    Paper.objects.filter(pk=high.pk).update(upvote_count=9)
    PaperFactory(title="Only indexed", daily_date=None)
    PaperFactory(title="Hidden", is_hidden=True)

    response = fetch(client, "/feeds/daily.rss")

    assert response["Content-Type"].startswith("application/rss+xml")
    feed = feedparser.parse(response.content)
    assert feed.feed.title == "Daily Papers: daily papers"
    assert feed.feed.link == "http://testserver/"
    assert [e.title for e in feed.entries] == [high.title, low.title, old.title]
    entry = feed.entries[1]
    assert entry.link == f"http://testserver{low.get_absolute_url()}"
    assert entry.author == "Ada Lovelace, Alan Turing"
    assert "cs.LG" in [tag.term for tag in entry.tags]
    assert "We study how attention mechanisms generalise" in entry.description
    assert f"https://arxiv.org/pdf/{low.arxiv_id}" in entry.description
    assert entry.published_parsed[:3] == TODAY.timetuple()[:3]


def test_the_daily_atom_feed_has_ids_summaries_and_a_self_link(client):
    paper = PaperFactory(title="An Atom entry", arxiv_id="hep-th/9901001")

    response = fetch(client, "/feeds/daily.atom")

    assert response["Content-Type"].startswith("application/atom+xml")
    root = lxml.etree.fromstring(response.content)
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == "http://testserver/feeds/daily.atom"
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "An Atom entry"
    assert entry.findtext(f"{ATOM}id") == "http://testserver/papers/hep-th/9901001/"
    assert entry.find(f"{ATOM}summary").get("type") == "html"
    assert paper.abstract in entry.findtext(f"{ATOM}summary")


def test_the_trending_feeds_follow_the_trending_order(client):
    first = PaperFactory(title="Hot")
    second = PaperFactory(title="Warm")
    Paper.objects.filter(pk=first.pk).update(rank_score=2.0)
    Paper.objects.filter(pk=second.pk).update(rank_score=1.0)
    PaperFactory(title="Stale", daily_date=TODAY - dt.timedelta(days=60))

    for url in ["/feeds/trending.rss", "/feeds/trending.atom"]:
        feed = feedparser.parse(fetch(client, url).content)
        assert [e.title for e in feed.entries] == ["Hot", "Warm"], url
        assert feed.feed.link == "http://testserver/trending/"


def test_feeds_take_one_query_whatever_their_length(client, django_assert_num_queries):
    for _ in range(30):
        PaperFactory(authors=["Ada Lovelace"])
    for url in ["/feeds/daily.rss", "/feeds/daily.atom", "/feeds/trending.rss"]:
        with django_assert_num_queries(1):
            fetch(client, url)


@pytest.mark.parametrize(
    "url", ["/feeds/daily.rss", "/feeds/daily.atom", "/feeds/trending.rss", "/feeds/trending.atom"]
)
def test_hostile_text_in_a_feed_stays_text(client, url):
    paper = PaperFactory(
        title=f"Hostile {HOSTILE}",
        abstract=f"Abstract {HOSTILE}",
        authors=[f"Mallory {HOSTILE}"],
        code_url="javascript:alert(3)",
    )
    Paper.objects.filter(pk=paper.pk).update(rank_score=1.0)

    body = fetch(client, url).content
    text = body.decode()

    # Nothing in the XML is markup from the paper...
    assert "<script" not in text and "<img" not in text and "javascript:" not in text
    # ...and the HTML a reader renders from the description shows it as text.
    root = lxml.etree.fromstring(body)
    descriptions = root.findall(".//description") + root.findall(f".//{ATOM}summary")
    html = lxml.html.fragment_fromstring(descriptions[-1].text, create_parent="div")
    assert html.findall(".//script") == [] and html.findall(".//img") == []
    assert HOSTILE in html.text_content()
    titles = root.findall(".//item/title") + root.findall(f".//{ATOM}entry/{ATOM}title")
    assert titles[0].text == f"Hostile {HOSTILE}"


def test_the_sitemap_indexes_pages_days_papers_and_authors(client):
    paper = PaperFactory(arxiv_id="hep-th/9901001", authors=["Emmy Noether"])
    PaperFactory(daily_date=TODAY - dt.timedelta(days=3))
    hidden = PaperFactory(is_hidden=True, authors=["Hidden Author"])

    index = fetch(client, "/sitemap.xml").content.decode()
    for section in ["pages", "days", "papers", "authors"]:
        assert f"<loc>http://testserver/sitemap-{section}.xml</loc>" in index

    papers = fetch(client, "/sitemap-papers.xml").content.decode()
    assert "<loc>http://testserver/papers/hep-th/9901001/</loc>" in papers
    assert f"<lastmod>{paper.modified_at:%Y-%m-%d}</lastmod>" in papers
    assert hidden.arxiv_id not in papers

    days = fetch(client, "/sitemap-days.xml").content.decode()
    assert f"<loc>http://testserver/papers/date/{TODAY.isoformat()}/</loc>" in days
    past = TODAY - dt.timedelta(days=3)
    assert f"<loc>http://testserver/papers/date/{past.isoformat()}/</loc>" in days

    authors = fetch(client, "/sitemap-authors.xml").content.decode()
    assert "<loc>http://testserver/authors/emmy-noether/</loc>" in authors
    assert "hidden-author" not in authors

    pages = fetch(client, "/sitemap-pages.xml").content.decode()
    assert "<loc>http://testserver/trending/</loc>" in pages
