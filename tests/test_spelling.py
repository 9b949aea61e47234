"""Did you mean: short typos caught by trigram matching (pg_trgm) on PostgreSQL, over the
vocabulary of the papers' titles (search.spelling, search.models.SearchWord)."""

import re
from html import escape, unescape
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from playwright.sync_api import expect

from papers.models import Paper
from search import spelling
from search.models import SearchWord
from semantic import embedding, encoder, hybrid, index

from .factories import PaperFactory

pytestmark = pytest.mark.django_db

TITLES = [
    "Scaling Transformers to Long Inputs",
    "Diffusion Models for Image Synthesis",
    "A Diffusion Model of Protein Folding",
    "Graph Neural Networks at Scale",
    "Language Models as Reasoners",
    "Speculative Decoding for Faster Inference",
    "Vision Language Models in Robotics",
    "Attention Modules Revisited",
]


@pytest.fixture
def papers():
    made = [PaperFactory(title=title, abstract="An abstract.") for title in TITLES]
    SearchWord.objects.rebuild()
    return made


def page(client, **params):
    response = client.get("/search/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_vocabulary_counts_title_words_of_visible_papers(papers):
    PaperFactory(title="Hidden Hyperparameter Paper", is_hidden=True)
    SearchWord.objects.rebuild()
    counts = dict(SearchWord.objects.values_list("word", "papers"))
    assert counts["diffusion"] == 2 and counts["transformers"] == 1
    assert "hyperparameter" not in counts
    assert "a" not in counts  # words of fewer than 3 letters are left out


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("tranformers", "transformers"),
        ("difusion modle", "diffusion model"),
        ("speculative decodng", "speculative decoding"),
        ("grpah nueral netwroks", "graph neural networks"),
        ("vision-langauge modles", "vision-language models"),
        ('"difusion" modle -tranformers', '"difusion" model -tranformers'),
        ("lanugage models or atention", "language models or attention"),
        # One statement looks both up, each at its own threshold ("modles" and "models"
        # share 0.27 of their trigrams: less than "langauge"'s 0.33).
        ("langauge modles", "language models"),
    ],
)
def test_misspelled_words_are_corrected_and_the_rest_kept(papers, typed, meant):
    assert spelling.correct(typed) == meant


@pytest.mark.parametrize(
    "query",
    [
        "diffusion models",
        "transformer",
        "transformed",
        "protein",
        "xyzzy",
        "AI",
        "ok",
        "2406.12345",
    ],
)
def test_known_words_and_words_with_nothing_near_are_left_alone(papers, query):
    assert spelling.correct(query) is None


def test_a_long_query_is_not_corrected(papers):
    assert spelling.correct("difusion " + "words " * 3 + "in a long sentence here") is None


def test_a_query_that_finds_nothing_searches_its_correction_and_says_so(papers, client):
    html = page(client, q="tranformers")
    assert "Scaling <mark>Transformers</mark> to Long Inputs" in html
    assert "No paper contains “tranformers”: showing results for" in html
    assert "<strong>transformers</strong>" in html

    html = page(client, q="difusion modle", mode="keyword")
    assert "Diffusion Models for Image Synthesis" in html
    assert "A Diffusion Model of Protein Folding" in html
    assert "<strong>diffusion model</strong>" in html


def check_url(html):
    """The page's "did you mean" placeholder: the URL htmx asks once the page is shown."""
    match = re.search(r'hx-get="(/search/spelling/\?[^"]*)" hx-trigger="load"', html)
    assert match, html
    return unescape(match.group(1))


def offer(client, url, htmx=True):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_a_query_that_finds_a_few_offers_its_correction(papers, client):
    # "modles" finds nothing, but "diffusion or modles" finds the two diffusion papers.
    html = page(client, q="diffusion or modles", mode="keyword", cat="cs.LG", sort="newest")
    assert "Diffusion Models for Image Synthesis" in html
    # Offered once the page is shown (htmx), not in the page's own request.
    assert "Did you mean" not in html
    url = check_url(html)
    assert f'<a href="{escape(url)}">Check the spelling</a>' in html  # without JavaScript
    fragment = offer(client, url)
    assert "Did you mean" in fragment and "<html" not in fragment
    # The link goes to the search, keeping the mode, the filter and the order.
    link = unescape(re.search(r'<a href="([^"]*)">diffusion or models</a>', fragment).group(1))
    assert link.startswith("/search/?") and "q=diffusion+or+models" in link
    assert "mode=keyword" in link and "cat=cs.LG" in link and "sort=newest" in link
    # Without JavaScript, a page of its own says the same.
    assert "Did you mean" in offer(client, url, htmx=False)


def test_a_typo_some_paper_has_is_still_offered_the_common_word(papers, client, monkeypatch):
    """At scale an abstract somewhere has the typo too: it finds that paper, and the
    page offers the word of far more titles (RATIO times as many) one edit away."""
    PaperFactory(title="Sequence models", abstract="A tranformers study.")
    SearchWord.objects.rebuild()
    monkeypatch.setattr(spelling, "RATIO", 1)  # "transformers" is in 1 title, not 20
    html = page(client, q="tranformers", mode="keyword")
    assert "Sequence models" in html
    fragment = offer(client, check_url(html))
    assert "Did you mean" in fragment and "q=transformers" in fragment
    monkeypatch.setattr(spelling, "RATIO", 2)
    assert offer(client, check_url(page(client, q="tranformers", mode="keyword"))) == ""
    assert "No other spelling" in offer(client, check_url(html), htmx=False)


def test_a_page_takes_the_same_queries_whether_its_query_is_misspelled_or_not(
    papers, client, django_assert_max_num_queries
):
    """A page's queries do not depend on its results (tests/test_pages.py): a query
    that found a few is corrected in a request of its own, a few queries whatever its
    words; one that found nothing is corrected in the page's request, within the 8."""
    counts = {}
    for query in ["diffusion", "diffusion or modles", "models"]:  # 2, 2 and 3 results
        with CaptureQueriesContext(connection) as queries:
            page(client, q=query, mode="keyword")
        counts[query] = len(queries)
    assert len(set(counts.values())) == 1, counts
    for query in [
        "tranformers",
        "difusion modle",
        "grpah nueral netwroks",
        "speculatve decodng fastr inferense",
        "lanugage models or atention",
    ]:
        for mode in ("keyword", "hybrid"):
            with django_assert_max_num_queries(8):
                html = page(client, q=query, mode=mode)
            assert "showing results for" in html, query
    few = {}
    for words in ["diffusion or modles", "diffusion or modles tranformers grpah nueral netwroks"]:
        url = "/search/spelling/?" + urlencode({"q": words})
        with CaptureQueriesContext(connection) as queries:
            offer(client, url)
        few[words] = len(queries)
    assert len(set(few.values())) == 1 and max(few.values()) <= 1, few


def test_a_correct_query_gets_no_suggestion(papers, client):
    html = page(client, q="diffusion")
    assert "Did you mean" not in html and "showing results for" not in html


@pytest.mark.parametrize(
    "query",
    [
        "tran\x00formers",
        "RAW:%ED%A0%80difusion",  # a lone surrogate, as a browser can't send it
        "difusion " * 2000,
        "∑∫ ∂x²",
        "% _ \\ ' \" ;",
        "the of and",
        "modle' OR 1=1 --",
        "<script>alert(1)</script> tranformers",
    ],
)
def test_hostile_queries_still_give_a_page(papers, client, query):
    if query.startswith("RAW:"):
        response = client.get("/search/?q=" + query[4:])
    else:
        response = client.get("/search/", {"q": query})
    assert response.status_code in (200, 400)
    assert b"<script>alert(1)" not in response.content


def test_the_suggestion_is_escaped(client):
    PaperFactory(title="Transformers <b>bold</b> claims", abstract="An abstract.")
    SearchWord.objects.rebuild()
    html = page(client, q="<i>tranformers</i>")
    assert "<i>" not in html and "&lt;i&gt;" in html


def explain_lookup(cursor, words, probe):
    cursor.execute("EXPLAIN " + spelling.LOOKUP, spelling.lookup_params(words, probe))
    return "\n".join(row[0] for row in cursor.fetchall())


def test_the_trigram_lookup_uses_the_index():
    """At scale the vocabulary is large (about 150,000 title words at a million papers):
    the lookup must go through the trigram GIN index, not read every word, and look
    all of a query's words up in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO search_searchword (word, papers) "
            "SELECT 'w' || md5(n::text), 1 FROM generate_series(1, 200000) n"
        )
        cursor.execute("ANALYZE search_searchword")
        plan = explain_lookup(cursor, ["tranformer", "modle"], probe=False)
    assert "Bitmap Index Scan on search_word_trigram" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "paper_search" not in plan, plan  # no full-text probe unless asked


def test_the_containment_probe_uses_the_full_text_index():
    """A word no title has is looked up in the papers' full text: through the GIN index,
    never a scan of every paper (3 s at a million)."""
    with connection.cursor() as cursor:
        plan = explain_lookup(cursor, ["tranformer", "difusion"], probe=True)
    assert "Bitmap Index Scan on paper_search" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_the_command_rebuilds_the_vocabulary(papers):
    SearchWord.objects.all().delete()
    call_command("refresh_search_words")
    assert SearchWord.objects.filter(word="speculative").exists()


def test_the_edit_distance_counts_a_swap_as_one():
    assert spelling.edits("modle", "model") == 1
    assert spelling.edits("tranformer", "transformer") == 1
    assert spelling.edits("difusion", "diffusion") == 1
    assert spelling.edits("kitten", "sitting") == 3
    assert spelling.edits("", "abc") == 3


def test_hybrid_search_by_meaning_reads_the_correction_too(papers, client, settings, tmp_path):
    """With stored vectors (the real model), a misspelled query is corrected before it is
    embedded: the page searches the correction both ways."""
    settings.SEMANTIC_INDEX_DIR = str(tmp_path / "index")
    index.forget()
    embedding.embed_pending(enc=encoder.get_encoder())
    try:
        outcome = hybrid.search("difusion modle", Paper.objects.all(), filtered=False)
        html = page(client, q="difusion modle")
    finally:
        index.forget()
    assert outcome.mode == "hybrid" and outcome.corrected
    assert outcome.words == "diffusion model"
    titles = dict(Paper.objects.values_list("pk", "title"))
    assert {titles[i] for i in outcome.ids[:2]} == {
        "Diffusion Models for Image Synthesis",
        "A Diffusion Model of Protein Folding",
    }
    assert "showing results for “<strong>diffusion model</strong>”" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reader_sees_the_suggestion_appear_and_follows_it(page):
    """In Chromium: the placeholder asks for "Did you mean" once the page is shown
    (htmx, under the site's CSP) and the link searches the correction."""
    for title in TITLES:
        PaperFactory(title=title, abstract="An abstract.")
    SearchWord.objects.rebuild()
    page.goto("/search/?q=diffusion+or+modles&mode=keyword")
    notice = page.get_by_role("status").filter(has_text="Did you mean")
    expect(notice).to_be_visible()
    expect(page.get_by_text("Check the spelling")).to_have_count(0)  # noscript only
    notice.get_by_role("link", name="diffusion or models").click()
    page.wait_for_url("**/search/?*q=diffusion+or+models*")
    expect(page.get_by_role("heading", name="Results for “diffusion or models”")).to_be_visible()
