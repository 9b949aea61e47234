"""Did you mean: short typos caught by trigram matching (pg_trgm) on PostgreSQL, over the
vocabulary of the papers' titles (search.spelling, search.models.SearchWord)."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

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


def test_a_query_that_finds_a_few_offers_its_correction(papers, client):
    # "modles" finds nothing, but "diffusion or modles" finds the two diffusion papers.
    html = page(client, q="diffusion or modles", mode="keyword", cat="cs.LG", sort="newest")
    assert "Diffusion Models for Image Synthesis" in html
    assert "Did you mean" in html
    # The link keeps the mode, the filter and the order.
    assert "q=diffusion+or+models" in html
    assert "mode=keyword" in html and "cat=cs.LG" in html and "sort=newest" in html


def test_a_typo_some_paper_has_is_still_offered_the_common_word(papers, client, monkeypatch):
    """At scale an abstract somewhere has the typo too: it finds that paper, and the
    page offers the word of far more titles (RATIO times as many) one edit away."""
    PaperFactory(title="Sequence models", abstract="A tranformers study.")
    SearchWord.objects.rebuild()
    monkeypatch.setattr(spelling, "RATIO", 1)  # "transformers" is in 1 title, not 20
    html = page(client, q="tranformers", mode="keyword")
    assert "Sequence models" in html
    assert "Did you mean" in html and "q=transformers" in html
    monkeypatch.setattr(spelling, "RATIO", 2)
    assert "Did you mean" not in page(client, q="tranformers", mode="keyword")


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


def test_the_trigram_lookup_uses_the_index():
    """At scale the vocabulary is large (about 150,000 title words at a million papers):
    the lookup must go through the trigram GIN index, not read every word."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO search_searchword (word, papers) "
            "SELECT 'w' || md5(n::text), 1 FROM generate_series(1, 200000) n"
        )
        cursor.execute("ANALYZE search_searchword")
        with transaction.atomic():
            word = "tranformer"
            threshold = spelling.similarity_threshold(len(word))
            cursor.execute(f"SET LOCAL pg_trgm.similarity_threshold = {threshold}")
            cursor.execute("EXPLAIN " + spelling.SIMILAR_WORDS, [word, word, word, 50])
            plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on search_word_trigram" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_the_containment_probe_uses_the_full_text_index():
    """A word no title has is looked up in the papers' full text: through the GIN index,
    never a scan of every paper (3 s at a million)."""
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + spelling.CONTAINED, ["tranformer"] * 3)
        plan = "\n".join(row[0] for row in cursor.fetchall())
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
