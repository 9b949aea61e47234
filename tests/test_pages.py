"""The pages a visitor sees without signing in: lists, a paper, an author, the about
pages and the error pages."""

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from papers import cards, views
from papers.dates import parse_day, parse_month, parse_week
from papers.models import Paper
from papers.views import lists

from .factories import PaperFactory, VoteFactory
from .page_checks import check_page

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def days_ago(n):
    return TODAY - dt.timedelta(days=n)


_readers = itertools.count()


def reader(**kwargs):
    """A user with an unusable password: hashing one is what makes users slow to create."""
    return User.objects.create(username=f"reader{next(_readers)}", password="!", **kwargs)


def vote_times(paper, n):
    for _ in range(n):
        VoteFactory(paper=paper, user=reader())
    paper.refresh_from_db()
    return paper


def order_of(html, *titles):
    """The titles, sorted by where they first appear in `html`."""
    positions = {title: html.index(title) for title in titles}
    return sorted(titles, key=positions.get)


# --- The daily list -------------------------------------------------------------------------


def test_the_front_page_shows_the_latest_day_most_upvoted_first(client):
    PaperFactory(title="Yesterday's paper", daily_date=days_ago(1))
    low = vote_times(PaperFactory(title="Few votes"), 1)
    high = vote_times(PaperFactory(title="Many votes"), 5)
    middle = vote_times(PaperFactory(title="Some votes"), 3)

    html = client.get("/").content.decode()

    assert order_of(html, high.title, middle.title, low.title) == [
        "Many votes",
        "Some votes",
        "Few votes",
    ]
    assert "Yesterday&#x27;s paper" not in html
    assert "Daily papers · latest" in html
    assert f"{TODAY:%A}, {TODAY.day} {TODAY:%B %Y}" in html
    assert "3 papers, most upvoted first" in html


def test_a_card_shows_authors_links_date_and_submitter(client, submitter):
    names = [f"Author Number{i}" for i in range(8)]
    paper = PaperFactory(
        title="A Card With Everything",
        abstract="We show that everything fits on a card. " * 20,
        authors=names,
        code_url="https://github.com/example/code",
        project_url="https://example.org/project",
        submitted_by=submitter,
    )
    vote_times(paper, 2)

    html = client.get("/").content.decode()

    # Two names linked, initials for four, the count; every name is on the paper's page.
    for name in names[:2]:
        assert f">{name}</a>" in html
    assert f">{names[2]}</a>" not in html
    assert f'title="{names[3]}">AN</span>' in html
    assert names[4] not in html
    assert "· 8 authors" in html
    assert f'href="https://arxiv.org/abs/{paper.arxiv_id}"' in html
    assert f'href="https://arxiv.org/pdf/{paper.arxiv_id}"' in html
    assert 'href="https://github.com/example/code"' in html
    assert 'href="https://example.org/project"' in html
    assert f'Submitted by <a href="{submitter.get_absolute_url()}">Sam Submitter</a>' in html
    assert "We show that everything fits on a card." in html
    assert "…" in html  # the abstract is a snippet
    assert f'<time datetime="{paper.published_at.isoformat()}">' in html
    assert "Featured" not in html  # the day's own list does not repeat its date
    assert '<span class="vote-count">2</span>' in html
    assert reverse("papers:vote", args=[paper.arxiv_id]) in html


def test_a_day_page_links_to_the_nearest_days_with_papers_skipping_empty_ones(client):
    PaperFactory(title="Five days ago", daily_date=days_ago(5))
    PaperFactory(title="Two days ago", daily_date=days_ago(2))
    PaperFactory(title="Today", daily_date=TODAY)

    response = client.get(reverse("papers:day", args=[days_ago(2).isoformat()]))

    html = response.content.decode()
    assert "Two days ago" in html
    assert "Five days ago" not in html
    assert f'rel="prev" href="/papers/date/{days_ago(5).isoformat()}/"' in html
    assert f'rel="next" href="/papers/date/{TODAY.isoformat()}/"' in html


def test_the_latest_day_has_no_next_link(client):
    PaperFactory(daily_date=days_ago(1))
    PaperFactory(daily_date=TODAY)
    html = client.get("/").content.decode()
    assert 'rel="prev"' in html
    assert 'rel="next"' not in html


def test_a_day_without_papers_says_so_and_points_to_its_neighbours(client):
    PaperFactory(daily_date=days_ago(4))
    PaperFactory(daily_date=TODAY)

    response = client.get(reverse("papers:day", args=[days_ago(2).isoformat()]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing featured on this day" in html
    assert f"/papers/date/{days_ago(4).isoformat()}/" in html
    assert f"/papers/date/{TODAY.isoformat()}/" in html


def test_days_weeks_and_months_still_to_come_are_not_found(client):
    PaperFactory(daily_date=TODAY)
    tomorrow = TODAY + dt.timedelta(days=1)
    response = client.get(reverse("papers:day", args=[tomorrow.isoformat()]))
    assert response.status_code == 404
    assert "is still to come" in response.content.decode()
    next_week = tomorrow + dt.timedelta(days=7)
    assert client.get(f"/papers/week/{parse_week_slug(next_week)}/").status_code == 404
    next_month = (TODAY.replace(day=1) + dt.timedelta(days=32)).strftime("%Y-%m")
    assert client.get(f"/papers/month/{next_month}/").status_code == 404
    # Today's day, week and month are there.
    assert client.get(reverse("papers:day", args=[TODAY.isoformat()])).status_code == 200
    assert client.get(f"/papers/week/{parse_week_slug(TODAY)}/").status_code == 200


def parse_week_slug(day):
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def test_links_to_a_day_of_another_year_name_the_year(client):
    last_year = TODAY.replace(year=TODAY.year - 1, month=12, day=31)
    PaperFactory(daily_date=last_year)
    PaperFactory(daily_date=TODAY)
    html = client.get(reverse("papers:day", args=[TODAY.isoformat()])).content.decode()
    assert f"{last_year:%a} 31 Dec {last_year.year}" in html
    html = client.get(reverse("papers:day", args=[last_year.isoformat()])).content.decode()
    assert f"Next: </span>{TODAY:%a} {TODAY.day} {TODAY:%b} <span" in html  # no year


def test_a_fresh_site_explains_that_there_are_no_papers_yet(client):
    html = client.get("/").content.decode()
    assert "No papers yet" in html
    assert "Daily papers" in html


def test_hidden_papers_are_left_out_of_lists(client):
    PaperFactory(title="Moderated away", is_hidden=True)
    PaperFactory(title="Still here")
    for url in ["/", "/new/", "/trending/"]:
        html = client.get(url).content.decode()
        assert "Still here" in html
        assert "Moderated away" not in html


def test_a_long_day_is_paginated(client, settings):
    settings.PAPERS_PER_PAGE = 5
    for i in range(7):
        vote_times(PaperFactory(title=f"Paper rank {i}"), 7 - i)

    first = client.get("/").content.decode()
    second = client.get("/?page=2").content.decode()

    assert "Paper rank 4" in first and "Paper rank 5" not in first
    assert "Paper rank 5" in second and "Paper rank 6" in second
    assert "Page 2 of 2" in second
    assert 'rel="prev" href="?page=1"' in second


def test_the_week_view_shows_the_whole_iso_week(client):
    monday = dt.date(2026, 11, 16)
    PaperFactory(title="Monday paper", daily_date=monday)
    vote_times(PaperFactory(title="Sunday paper", daily_date=monday + dt.timedelta(days=6)), 2)
    PaperFactory(title="Next Monday paper", daily_date=monday + dt.timedelta(days=7))
    PaperFactory(title="Previous Sunday paper", daily_date=monday - dt.timedelta(days=1))

    html = client.get("/papers/week/2026-W47/").content.decode()

    assert order_of(html, "Sunday paper", "Monday paper") == ["Sunday paper", "Monday paper"]
    assert "Next Monday paper" not in html and "Previous Sunday paper" not in html
    assert "Week 47, 2026 (16–22 November 2026)" in html
    assert 'rel="prev" href="/papers/week/2026-W46/"' in html
    assert 'rel="next" href="/papers/week/2026-W48/"' in html


def test_the_month_view_shows_the_calendar_month(client):
    PaperFactory(title="First of November", daily_date=dt.date(2026, 11, 1))
    PaperFactory(title="Last of November", daily_date=dt.date(2026, 11, 30))
    PaperFactory(title="First of December", daily_date=dt.date(2026, 12, 1))

    html = client.get("/papers/month/2026-11/").content.decode()

    assert "First of November" in html and "Last of November" in html
    assert "First of December" not in html
    assert "<h1>November 2026</h1>" in html
    assert 'rel="next" href="/papers/month/2026-12/"' in html


def test_day_week_and_month_views_link_to_each_other(client):
    PaperFactory(daily_date=dt.date(2026, 11, 20))
    html = client.get("/papers/date/2026-11-20/").content.decode()
    assert 'href="/papers/week/2026-W47/"' in html
    assert 'href="/papers/month/2026-11/"' in html


@pytest.mark.parametrize(
    "url, message",
    [
        ("/papers/date/2026-02-30/", "is not a day of the calendar"),
        ("/papers/date/20261120/", "is not a date: use YYYY-MM-DD"),
        ("/papers/date/0001-01-01/", "outside the years"),
        ("/papers/week/2026-W54/", "2026 has no week 54"),
        ("/papers/week/2026-47/", "is not an ISO week"),
        ("/papers/month/2026-13/", "has no month 13"),
        ("/papers/month/november/", "is not a month"),
        ("/papers/date/%3Cimg%20src=x%20onerror=alert(1)%3E/", "&lt;img src=x onerror"),
    ],
)
def test_a_malformed_period_is_a_friendly_404(client, url, message):
    response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert message in html
    assert "<img src=x" not in html
    assert "Page not found" in html
    assert 'action="/search/"' in html


def test_periods_parse_iso_weeks_across_years():
    assert parse_week("2026-W01").first == dt.date(2025, 12, 29)
    assert parse_week("2026-w53").last == dt.date(2027, 1, 3)
    assert parse_month("2024-02").last == dt.date(2024, 2, 29)
    assert parse_day("2026-11-20").slug == "2026-11-20"
    assert parse_day("2025-12-30").containing("week").slug == "2026-W01"


# --- Trending and new -----------------------------------------------------------------------


def test_trending_ranks_by_decayed_score(client):
    fresh = vote_times(PaperFactory(title="Fresh with two", daily_date=TODAY), 2)
    older = vote_times(PaperFactory(title="Older with five", daily_date=days_ago(3)), 5)
    stale = vote_times(PaperFactory(title="Too old to trend", daily_date=days_ago(30)), 9)
    PaperFactory(title="Never featured", daily_date=None)
    Paper.objects.refresh_rank_scores()

    html = client.get("/trending/").content.decode()

    assert order_of(html, fresh.title, older.title) == [fresh.title, older.title]
    assert stale.title not in html
    assert "Never featured" not in html
    assert f"Featured {TODAY.day} {TODAY:%b}" in html
    assert reverse("papers:about_ranking") in html


def test_new_lists_every_paper_newest_first(client):
    now = timezone.now()
    PaperFactory(title="Published last week", published_at=now - dt.timedelta(days=7))
    PaperFactory(title="Published today", published_at=now, daily_date=None)
    PaperFactory(title="Published yesterday", published_at=now - dt.timedelta(days=1))

    html = client.get("/new/").content.decode()

    assert order_of(html, "Published last week", "Published today", "Published yesterday") == [
        "Published today",
        "Published yesterday",
        "Published last week",
    ]


def test_new_pages_without_counting_and_stops_far_back(client, settings):
    settings.PAPERS_PER_PAGE = 2
    for _ in range(3):
        PaperFactory()
    first = client.get("/new/").content.decode()
    assert 'rel="next" href="?page=2"' in first and "Page 1<" in first
    second = client.get("/new/?page=2").content.decode()
    assert 'rel="next"' not in second
    # Past the end, as past the limit: a 404 that says so, never an empty page.
    past_end = client.get("/new/?page=3")
    assert past_end.status_code == 404
    assert "There is no such page of new papers" in past_end.content.decode()
    assert client.get(f"/new/?page={lists.NEW_MAX_PAGES + 1}").status_code == 404
    assert client.get("/new/?page=banana").status_code == 200


def test_new_never_links_to_a_page_it_would_refuse(client, settings, monkeypatch):
    settings.PAPERS_PER_PAGE = 1
    for _ in range(3):
        PaperFactory()
    monkeypatch.setattr(lists, "NEW_MAX_PAGES", 2)
    last = client.get("/new/?page=2").content.decode()
    assert 'rel="next"' not in last  # a third paper exists, but page 3 is past the limit


def test_empty_trending_and_new_explain_themselves(client):
    assert "Nothing is trending yet" in client.get("/trending/").content.decode()
    assert "No papers yet" in client.get("/new/").content.decode()


# --- A paper ----------------------------------------------------------------------------------


@pytest.mark.parametrize("arxiv_id", ["2406.12345", "hep-th/9901001"])
def test_the_paper_page_shows_everything_about_it(client, arxiv_id, submitter):
    published = dt.datetime(2024, 6, 18, 17, 59, tzinfo=dt.UTC)
    paper = PaperFactory(
        arxiv_id=arxiv_id,
        version=3,
        title="Scaling Laws for $\\alpha$-Divergences",
        abstract="First paragraph about $x^2$.\n\nSecond   paragraph,\nhard-wrapped.",
        authors=["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        categories=["cs.LG", "stat.ML"],
        primary_category="cs.LG",
        doi="10.1000/xyz123",
        journal_ref="J. Imaginary Results 1 (2024) 1-10",
        comments="12 pages, 3 figures",
        published_at=published,
        updated_at=published + dt.timedelta(days=30),
        submitted_by=submitter,
    )
    VoteFactory(paper=paper, user=reader(display_name="Vera Voter"))

    response = client.get(f"/papers/{arxiv_id}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Scaling Laws for $\\alpha$-Divergences" in html
    assert "<p>First paragraph about $x^2$.</p><p>Second paragraph, hard-wrapped.</p>" in html
    assert order_of(html, "Grace Hopper", "Ada Lovelace", "Alan Turing") == [
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
    ]
    assert 'href="/authors/ada-lovelace/"' in html
    assert "(v3)" in html
    assert "18 June 2024" in html and "18 July 2024" in html
    assert ">stat.ML</a>" in html
    assert 'href="https://doi.org/10.1000/xyz123"' in html
    assert "J. Imaginary Results 1 (2024) 1-10" in html
    assert "12 pages, 3 figures" in html
    assert "Vera Voter" in html
    assert '<span class="vote-count">1</span>' in html
    assert "Sam Submitter" in html
    assert f"eprint={{{arxiv_id}}}" in html
    assert "@article{lovelace2024scaling," in html
    assert "author={Ada Lovelace and Alan Turing and Grace Hopper}" in html
    canonical = f"http://testserver/papers/{arxiv_id}/"
    assert f'<link rel="canonical" href="{canonical}">' in html
    assert f'<meta property="og:url" content="{canonical}">' in html
    assert '<meta property="og:title" content="Scaling Laws for $\\alpha$-Divergences">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert f'<meta name="citation_arxiv_id" content="{arxiv_id}">' in html


def related_url(paper):
    return reverse("papers:related", args=[paper.arxiv_id])


def test_the_paper_page_loads_papers_with_similar_titles_when_scrolled_to(client):
    paper = PaperFactory(title="Contrastive Loss Scaling for Batch Memory")
    PaperFactory(title="Memory Efficient Contrastive Loss", abstract="Batch scaling.")
    PaperFactory(title="Protein Folding with Graphs", abstract="Proteins fold.")

    page = client.get(paper.get_absolute_url()).content.decode()
    section = client.get(related_url(paper), headers={"HX-Request": "true"}).content.decode()

    assert f'hx-get="{related_url(paper)}" hx-trigger="revealed"' in page
    assert "Memory Efficient Contrastive Loss" not in page
    assert "Related papers" in section
    assert "Memory Efficient Contrastive Loss" in section
    assert "Protein Folding with Graphs" not in section
    assert "<html" not in section


def test_related_papers_are_a_page_of_their_own_without_javascript(client):
    paper = PaperFactory(title="Contrastive Loss Scaling for Batch Memory")
    PaperFactory(title="Memory Efficient Contrastive Loss", abstract="Batch scaling.")

    page = client.get(paper.get_absolute_url()).content.decode()
    response = client.get(related_url(paper))

    assert f'<a href="{related_url(paper)}">' in page
    check_page(response.content)
    assert "Memory Efficient Contrastive Loss" in response.content.decode()


def test_related_papers_are_remembered_and_hidden_ones_dropped(client, django_assert_num_queries):
    paper = PaperFactory(title="Contrastive Loss Scaling for Batch Memory")
    other = PaperFactory(title="Memory Efficient Contrastive Loss")
    client.get(related_url(paper), headers={"HX-Request": "true"})
    Paper.objects.filter(pk=other.pk).update(is_hidden=True)

    # the paper, the related ones by id from the cache
    with django_assert_num_queries(2):
        html = client.get(related_url(paper), headers={"HX-Request": "true"}).content.decode()

    assert "Memory Efficient Contrastive Loss" not in html


def test_related_papers_of_a_hidden_or_unknown_paper_are_not_found(client):
    hidden = PaperFactory(is_hidden=True)
    assert client.get(related_url(hidden)).status_code == 404
    assert client.get("/papers/2401.99999/related/").status_code == 404


def test_a_paper_without_related_papers_or_votes_still_reads_well(client):
    paper = PaperFactory(title="$\\int$", abstract="")
    html = client.get(paper.get_absolute_url()).content.decode()
    section = client.get(related_url(paper), headers={"HX-Request": "true"}).content.decode()
    assert section.strip() == ""
    assert "No related papers" in client.get(related_url(paper)).content.decode()
    assert "No upvotes yet" in html
    assert "arXiv lists no abstract" in html


def test_a_missing_or_hidden_paper_is_404(client):
    hidden = PaperFactory(is_hidden=True)
    assert client.get("/papers/2401.00001/").status_code == 404
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get("/papers/hep-th/9901001/").status_code == 404


def test_a_missing_paper_s_404_offers_to_submit_it_but_a_hidden_one_s_does_not(client):
    response = client.get("/papers/hep-th/9901001/")
    check_page(response.content)
    html = response.content.decode()
    assert "arXiv:hep-th/9901001 is not on" in html
    assert 'href="/submit/?arxiv_id=hep-th/9901001">Submit this paper</a>' in html
    hidden = PaperFactory(is_hidden=True)
    assert "Submit this paper" not in client.get(hidden.get_absolute_url()).content.decode()


def test_the_submit_form_is_filled_in_from_the_link(client, voter):
    client.force_login(voter)
    html = client.get("/submit/?arxiv_id=2406.12345").content.decode()
    assert 'value="2406.12345"' in html


def test_the_vote_button_shows_a_signed_in_readers_vote(client, voter):
    paper = PaperFactory()
    VoteFactory(paper=paper, user=voter)
    client.force_login(voter)
    for url in ["/", paper.get_absolute_url()]:
        html = client.get(url).content.decode()
        assert "is-voted" in html
        assert 'aria-pressed="true"' in html


# --- An author --------------------------------------------------------------------------------


def test_the_author_page_lists_their_papers_newest_first(client, settings):
    settings.PAPERS_PER_PAGE = 2
    now = timezone.now()
    for days, title in [(30, "Oldest"), (1, "Newest"), (10, "Middle")]:
        PaperFactory(
            title=f"{title} by Noether",
            authors=["Emmy Noether"],
            published_at=now - dt.timedelta(days=days),
        )
    PaperFactory(title="Someone else's", authors=["Carl Gauss"])

    first = client.get("/authors/emmy-noether/").content.decode()
    second = client.get("/authors/emmy-noether/?page=2").content.decode()

    assert "<h1>Emmy Noether</h1>" in first
    assert "3 papers here, newest first" in first
    assert order_of(first, "Middle by Noether", "Newest by Noether") == [
        "Newest by Noether",
        "Middle by Noether",
    ]
    assert "Oldest by Noether" in second
    assert "Someone else" not in first + second
    assert client.get("/authors/nobody-at-all/").status_code == 404


# --- About pages and crawlers ---------------------------------------------------------------


def test_the_ranking_page_documents_the_formula_from_the_code(client, settings):
    from papers import ranking

    settings.TRENDING_DAYS = 9
    html = client.get(reverse("papers:about_ranking")).content.decode()
    assert f"{ranking.GRAVITY:g}" in html and f"{ranking.OFFSET_HOURS:g} hours" in html
    assert "9 days" in html
    # The worked example: 10 votes, featured today, read at 06:00: 10 / 8**1.8.
    assert f"{10 / 8**ranking.GRAVITY:.4f}" in html


def test_the_api_page_documents_both_endpoints_with_a_real_example(client):
    html = client.get(reverse("papers:api_docs")).content.decode()
    assert "/api/daily_papers" in html and "/api/papers/" in html
    assert "&quot;submittedOnDailyAt&quot;: &quot;2017-06-13T00:00:00.000Z&quot;" in html
    assert "2026-W47" in html


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    assert "Disallow: /admin/" in text


# --- Layout and errors --------------------------------------------------------------------------


def test_every_page_has_the_layout_landmarks_and_navigation(client):
    PaperFactory()
    html = client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert '<nav class="site-nav" aria-label="Main">' in html
    assert '<footer class="site-footer">' in html
    for name in ["home", "trending", "new", "search"]:
        assert f'href="{reverse(f"papers:{name}")}"' in html
    assert "Sign in" in html
    assert 'aria-current="page">Daily</a>' in html
    assert 'src="/static/vendor/katex/katex.min.js"' not in html  # no math: test_design


def test_category_chips_lead_to_the_category_s_papers(client):
    paper = PaperFactory(primary_category="cs.LG", categories=["cs.LG", "stat.ML"])
    card = client.get("/").content.decode()
    assert 'class="chip" href="/search/?cat=cs.LG"' in card
    page = client.get(paper.get_absolute_url()).content.decode()
    assert 'href="/search/?cat=cs.LG"' in page and 'href="/search/?cat=stat.ML"' in page


def test_favicon_ico_leads_to_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith(".svg") and "favicon" in response["Location"]
    assert "max-age=86400" in response["Cache-Control"]
    from django.contrib.staticfiles import finders

    assert finders.find("img/favicon.svg")


def test_the_404_page_is_friendly(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "the latest papers" in html


def test_the_500_page_needs_no_database_no_request_context(rf):
    with CaptureQueriesContext(connection) as queries:
        response = views.server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert len(queries) == 0
    check_page(response.content)


def test_every_page_is_valid_html_with_labelled_controls(client, voter):
    paper = PaperFactory(
        daily_date=dt.date(2026, 11, 20),
        authors=[f"Many Authors {i}" for i in range(40)],
        title="Valid $x$ markup",
    )
    PaperFactory(title="Valid markup too", daily_date=dt.date(2026, 11, 18))
    vote_times(paper, 2)
    urls = [
        "/",
        "/papers/date/2026-11-20/",
        "/papers/date/2026-11-19/",
        "/papers/week/2026-W47/",
        "/papers/month/2026-11/",
        "/trending/",
        "/new/",
        "/search/",
        "/search/?q=valid",
        "/search/?q=nothing+matches+this",
        "/search/?q=valid&cat=bad!&since=2026-13-01",
        paper.get_absolute_url(),
        "/authors/many-authors-0/",
        "/about/ranking/",
        "/api/",
        "/papers/date/2026-02-30/",
    ]
    for signed_in in (False, True):
        if signed_in:
            client.force_login(voter)
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 400, 404), url
            try:
                check_page(response.content)
            except AssertionError as exc:
                raise AssertionError(f"{url}: {exc}") from None


# --- Hostile text is inert everywhere ----------------------------------------------------------


def test_a_hostile_title_abstract_and_author_are_escaped_on_every_page(client):
    paper = PaperFactory(
        title=f"Hostile {HOSTILE}",
        abstract=f"Abstract {HOSTILE}",
        authors=[f"Mallory {HOSTILE}"],
        code_url="javascript:alert(3)",
        project_url="data:text/html,<script>alert(4)</script>",
        daily_date=dt.date(2026, 11, 20),
    )
    Paper.objects.filter(pk=paper.pk).update(rank_score=1)
    author_url = paper.authorships.get().author.get_absolute_url()
    urls = [
        "/",
        "/papers/date/2026-11-20/",
        "/papers/week/2026-W47/",
        "/papers/month/2026-11/",
        "/new/",
        "/search/?q=hostile",
        paper.get_absolute_url(),
        author_url,
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "Hostile" in html, url
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        assert "javascript:alert" not in html, url
        assert "data:text/html" not in html, url
    # Every tag in the page is one the templates wrote, not one from the paper.
    detail = client.get(paper.get_absolute_url()).content.decode()
    assert not re.search(r"<img[^>]*onerror", detail)


# --- Query counts do not grow with the list ----------------------------------------------------


def _fill(n, day):
    for i in range(n):
        paper = PaperFactory(
            daily_date=day,
            title=f"Quantum transformer study {i}",
            authors=[f"Writer {j}" for j in range(7)],
            submitted_by=reader(),
        )
        Paper.objects.filter(pk=paper.pk).update(rank_score=1.0 / (i + 1))


LIST_URLS = [
    "/",
    "/papers/date/{day}/",
    "/papers/week/{week}/",
    "/papers/month/{month}/",
    "/trending/",
    "/new/",
    "/authors/writer-0/",
    "/search/?q=quantum+transformer",
    "/search/?q=quantum&cat=cs.LG&since=2000-01-01&sort=newest",
]


def _queries(client, url):
    """Queries of a page rendered with no card cached (papers.cards): the most it takes."""
    cards.forget()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), response.content.decode().count('class="card"')


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_list_pages_take_the_same_few_queries_for_3_or_30_papers(client, voter, signed_in):
    if signed_in:
        client.force_login(voter)
    day = TODAY
    year, week, _ = day.isocalendar()
    urls = [
        u.format(day=day.isoformat(), week=f"{year}-W{week:02d}", month=f"{day:%Y-%m}")
        for u in LIST_URLS
    ]
    _fill(3, day)
    small = {url: _queries(client, url) for url in urls}
    _fill(27, day)
    large = {url: _queries(client, url) for url in urls}

    for url in urls:
        (small_count, small_cards), (large_count, large_cards) = small[url], large[url]
        assert small_cards == 3 and large_cards == 30, url
        assert small_count == large_count, url
        assert large_count <= 8, url


def test_the_front_page_takes_seven_queries_for_a_signed_in_reader(
    client, voter, django_assert_num_queries
):
    _fill(5, TODAY)
    client.force_login(voter)
    # session, user, latest day, neighbouring days, count, the cards' keys (papers.cards),
    # and for the cards not cached yet: the papers with their first authors
    with django_assert_num_queries(7):
        client.get("/")
    with django_assert_num_queries(6):
        client.get("/")


def test_the_paper_page_takes_a_fixed_number_of_queries(client, django_assert_num_queries):
    paper = PaperFactory(authors=[f"Writer {j}" for j in range(40)])
    vote_times(paper, 12)
    # paper, authors, voters, the public collections with it, the discussion's state
    # (related papers load separately; no comment query without comments:
    # tests/test_discussion.py counts those)
    with django_assert_num_queries(5):
        client.get(paper.get_absolute_url())
