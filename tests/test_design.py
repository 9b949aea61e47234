"""The redesign (issue 13): cards, compressed HTML, KaTeX only where there is math, and
web addresses in abstracts as safe links. Layout in a real browser:
test_design_browser.py."""

import gzip
import re

import pytest
from django.test import Client
from django.utils.crypto import get_random_string

from papers import pagegzip
from papers.pagecache import PLACEHOLDER
from papers.templatetags.paper_text import has_math, linkify

from .factories import PaperFactory

KATEX_JS = 'src="/static/vendor/katex/katex.min.js"'
KATEX_CSS = 'href="/static/vendor/katex/katex.min.css"'

pytestmark = pytest.mark.django_db


# --- Compressed HTML ----------------------------------------------------------------------


def test_the_daily_page_is_sent_gzipped_to_a_browser_that_accepts_it(client):
    PaperFactory(title="A Compressible Paper", abstract="Words repeat. " * 40)

    response = client.get("/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    html = gzip.decompress(response.content).decode()
    assert "A Compressible Paper" in html
    assert len(response.content) < len(html) / 2


def test_a_client_that_does_not_accept_gzip_gets_plain_html(client):
    PaperFactory(title="A Plain Paper")
    response = client.get("/")
    assert not response.has_header("Content-Encoding")
    assert "A Plain Paper" in response.content.decode()


def test_a_page_from_the_page_cache_is_gzipped_with_the_visitor_s_own_csrf_token(settings):
    """The first visitor's page is compressed by GZipMiddleware, the next ones' from the
    pieces the cache keeps (papers.pagegzip): each with its own token, and it works."""
    settings.PAGE_CACHE_SECONDS = 60
    paper = PaperFactory(title="A Cached Paper — naïve “quotes”")
    pages = []
    for expected in ("miss", "hit", "hit"):
        visitor = Client(enforce_csrf_checks=True)
        response = visitor.get("/", HTTP_ACCEPT_ENCODING="gzip")
        assert response["X-Page-Cache"] == expected
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
        html = gzip.decompress(response.content).decode()  # checks the CRC and length
        assert PLACEHOLDER not in html
        assert "A Cached Paper — naïve “quotes”" in html
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        assert html.count(token) >= 2  # the vote form and hx-headers
        pages.append(html)
        # The token in the page is this visitor's: their vote form is accepted.
        answer = visitor.post(
            f"/papers/{paper.arxiv_id}/vote/", {"csrfmiddlewaretoken": token, "action": "up"}
        )
        assert answer.status_code != 403
    assert len(set(pages)) == 3


def test_gzip_pieces_rebuild_any_page_with_any_token():
    placeholder = PLACEHOLDER.encode()
    text = "<p>ünïcode · “x” %s and again %s, then the end %s</p>" % ((PLACEHOLDER,) * 3)
    content = (text * 200).encode()
    pieces = pagegzip.pieces(content, placeholder)
    assert len(pieces) == 601
    for _ in range(5):
        token = get_random_string(64)
        body = pagegzip.gzipped(pieces, content, placeholder, token)
        assert gzip.decompress(body) == content.replace(placeholder, token.encode())
    with pytest.raises(ValueError):
        pagegzip.gzipped(pieces, content, placeholder, "short")


def test_json_from_the_api_is_gzipped_too(client):
    for n in range(5):
        PaperFactory(title=f"Paper {n}")
    response = client.get("/api/daily_papers", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert b"Paper 4" in gzip.decompress(response.content)


# --- KaTeX only where there is math -------------------------------------------------------


def test_a_list_without_math_loads_no_katex(client):
    PaperFactory(title="Plain Words Only", abstract="Nothing to typeset, it costs 5 dollars.")
    html = client.get("/").content.decode()
    assert KATEX_JS not in html and KATEX_CSS not in html
    assert 'data-katex-js="/static/vendor/katex/katex.min.js"' in html  # for htmx swaps


def test_a_list_with_math_in_any_card_loads_katex(client):
    PaperFactory(title="Plain Words")
    PaperFactory(title="Bounds on $O(n \\log n)$ Sorting")
    for url in ("/", "/new/", "/trending/"):
        html = client.get(url).content.decode()
        assert KATEX_JS in html and KATEX_CSS in html, url


def test_a_paper_page_loads_katex_only_when_its_title_or_abstract_has_math(client):
    plain = PaperFactory(title="Plain", abstract="No formulas here.")
    inline = PaperFactory(title="Plain too", abstract="We show \\(x^2\\) grows.")
    display = PaperFactory(title="A $\\lambda$-calculus", abstract="Words.")
    assert KATEX_JS not in client.get(plain.get_absolute_url()).content.decode()
    assert KATEX_JS in client.get(inline.get_absolute_url()).content.decode()
    assert KATEX_JS in client.get(display.get_absolute_url()).content.decode()


def test_the_ranking_page_typesets_its_formula(client):
    html = client.get("/about/ranking/").content.decode()
    assert KATEX_JS in html and KATEX_CSS in html


def test_has_math_reads_texts_papers_and_lists_of_them():
    assert has_math("a $x$ b") and has_math("\\(y\\)") and has_math("\\[z\\]")
    assert not has_math("costs \\$5") and not has_math("") and not has_math(None)
    paper = PaperFactory.build(title="t", abstract="with $x$")
    assert has_math(paper) and has_math([PaperFactory.build(), paper])
    assert not has_math([PaperFactory.build()])


# --- Web addresses in abstracts -----------------------------------------------------------


def test_an_address_in_an_abstract_becomes_a_nofollow_link_on_the_paper_page(client):
    paper = PaperFactory(
        abstract="Code and data are at https://github.com/example/repo. See the paper.",
        comments="12 pages; project page (https://example.org/p?a=1&b=2)",
    )
    html = client.get(paper.get_absolute_url()).content.decode()
    assert (
        '<a href="https://github.com/example/repo" rel="nofollow ugc">'
        "https://github.com/example/repo</a>. See the paper." in html
    )
    assert (
        '(<a href="https://example.org/p?a=1&amp;b=2" rel="nofollow ugc">'
        "https://example.org/p?a=1&amp;b=2</a>)" in html
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "see https://a.org/x.",
            'see <a href="https://a.org/x" rel="nofollow ugc">https://a.org/x</a>.',
        ),
        (
            "(at https://en.wikipedia.org/wiki/A_(b))",
            '(at <a href="https://en.wikipedia.org/wiki/A_(b)" rel="nofollow ugc">'
            "https://en.wikipedia.org/wiki/A_(b)</a>)",
        ),
        ("HTTP://A.ORG/", '<a href="HTTP://A.ORG/" rel="nofollow ugc">HTTP://A.ORG/</a>'),
        ("no link: http:// alone", "no link: http:// alone"),
        ("javascript:alert(1) stays text", "javascript:alert(1) stays text"),
        ("ftp://a.org/x stays text", "ftp://a.org/x stays text"),
    ],
)
def test_linkify_links_http_addresses_only_and_leaves_trailing_punctuation_out(text, expected):
    assert linkify(text) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        'https://a.org/"><script>alert(1)</script>',
        "https://a.org/'onmouseover='alert(1)",
        "https://a.org/<img src=x onerror=alert(1)>",
        'https://a.org/x" onclick="alert(1)',
        "<script>alert(1)</script> https://a.org/",
        "https://a.org/&quot;&gt;&lt;script&gt;",
    ],
)
def test_linkify_never_lets_markup_out_of_the_text_or_the_href(hostile):
    html = linkify(hostile)
    assert "<script" not in html and "<img" not in html
    assert 'onmouseover="' not in html and 'onclick="alert' not in html
    assert "'onmouseover" not in html or "&#x27;onmouseover" in html
    # Every tag left is one of ours, with an href that is one attribute.
    for tag in html.split("<")[1:]:
        assert tag.startswith(('a href="https://a.org/', "/a>")), tag


def test_an_address_inside_a_formula_is_left_for_katex_to_read():
    text = "We set $f = \\text{https://a.org/}$ and link https://b.org/ too."
    html = linkify(text)
    assert "$f = \\text{https://a.org/}$" in html
    assert '<a href="https://a.org/' not in html
    assert '<a href="https://b.org/" rel="nofollow ugc">' in html
    # A formula left open holds the rest of the text: KaTeX would see it as one.
    assert "<a" not in linkify("cost $5 at https://a.org/")


def test_a_hostile_abstract_stays_text_on_the_paper_page(client):
    paper = PaperFactory(
        abstract='See https://a.org/"><script>alert(1)</script> and <b>bold</b> $x<y$.'
    )
    html = client.get(paper.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in html and "<b>bold</b>" not in html
    assert '<a href="https://a.org/" rel="nofollow ugc">https://a.org/</a>&quot;&gt;' in html
    assert "$x&lt;y$" in html


# --- Cards --------------------------------------------------------------------------------


def test_a_card_off_its_day_says_which_date_is_which(client):
    import datetime as dt

    from django.utils import timezone

    published = timezone.make_aware(dt.datetime(2026, 10, 22, 17))
    PaperFactory(title="Dated", published_at=published, daily_date=dt.date(2026, 12, 3))
    html = client.get("/new/").content.decode()
    assert 'Featured 3 Dec</a> · <span title="First published on arXiv">arXiv <time' in html
    assert ">22 Oct</time>" in html  # the same year: no year


def test_a_card_shows_initials_for_at_most_four_authors_and_the_count(client):
    PaperFactory(
        authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Kurt Gödel", "Emmy Noether"]
    )
    html = client.get("/").content.decode()
    for initials in ("AL", "AT", "GH", "KG"):
        assert f">{initials}</span>" in html
    assert ">EN</span>" not in html
    assert "· 5 authors" in html
    assert 'class="avatar-stack" aria-hidden="true"' in html


def test_the_paper_page_has_the_same_upvote_box_as_the_card(client):
    paper = PaperFactory()
    card = client.get("/").content.decode()
    page = client.get(paper.get_absolute_url()).content.decode()
    for html in (card, page):
        assert 'class="vote-button"' in html
        assert '<svg class="vote-arrow" aria-hidden="true"' in html
