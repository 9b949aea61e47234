"""Search on PostgreSQL: full text over title, authors and abstract, ranked, highlighted,
filtered and paged; and odd input that must never break it."""

import datetime as dt

import pytest
from django.utils import timezone

from papers import highlight
from papers.models import Paper
from search import fulltext, matching

from .factories import PaperFactory

pytestmark = pytest.mark.django_db


def results(client, **params):
    response = client.get("/search/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_it_finds_papers_by_title_abstract_and_author_and_ranks_title_matches_first(client):
    PaperFactory(title="Protein structure", abstract="We use a diffusion process.")
    PaperFactory(title="Diffusion models for images", abstract="Images.")
    PaperFactory(title="Unrelated", abstract="Nothing to see.", authors=["Diffusion Dan"])
    PaperFactory(title="Graph networks", abstract="Message passing.")

    html = results(client, q="diffusion")

    assert "3 papers match, best match first." in html
    title_hit = html.index("models for images")
    author_hit = html.index("Unrelated")
    abstract_hit = html.index("Protein structure")
    assert title_hit < author_hit < abstract_hit
    assert "Graph networks" not in html


def test_it_matches_word_forms_and_highlights_them(client):
    PaperFactory(title="Scaling Transformers to Long Inputs", abstract="A transformer reads.")

    html = results(client, q="transformer")

    assert "Scaling <mark>Transformers</mark> to Long Inputs" in html
    assert "<mark>transformer</mark> reads" in html


@pytest.mark.parametrize("name", ["Kaiming He", "Williams", "he williams"])
def test_author_names_are_found_as_written(client, name):
    PaperFactory(title="Deep residual learning", authors=["Kaiming He", "Ann Williams"])
    PaperFactory(title="Other work", authors=["Kaiming Li"])
    html = results(client, q=name)
    assert "1 paper matches" in html and "Deep residual learning" in html


def test_the_queryset_ranks_and_marks_without_the_view():
    PaperFactory(title="Sparse attention", abstract="Dense things.")
    PaperFactory(title="Dense retrieval", abstract="We revisit sparse attention in depth.")

    ids = matching.search_ids(Paper.objects.all(), "sparse attention")
    ranks = dict(
        matching.search_matches(Paper.objects.all(), "sparse attention").values_list(
            "pk", "search_rank"
        )
    )
    found = matching.with_search_marks(
        Paper.objects.filter(pk__in=ids), "sparse attention"
    ).in_bulk()

    assert [found[pk].title for pk in ids] == ["Sparse attention", "Dense retrieval"]
    assert ranks[ids[0]] > ranks[ids[1]]
    assert f"{highlight.START}Sparse{highlight.STOP}" in found[ids[0]].title_marked


def test_highlighting_escapes_the_paper_text_before_marking_it(client):
    PaperFactory(
        title='Robust <script>alert("x")</script> detection',
        abstract='Robust "><img src=x onerror=alert(1)> methods & more.',
        authors=["<b>Bold</b> Author"],
    )

    html = results(client, q="robust")

    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Bold" not in html
    assert "<mark>Robust</mark> &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&amp; more" in html


def test_render_marked_balances_marks_and_escapes_everything_else():
    start, stop = highlight.START, highlight.STOP
    assert highlight.render_marked(f"a {start}<b>{stop} c") == "a <mark>&lt;b&gt;</mark> c"
    assert highlight.render_marked(f"{start}open") == "<mark>open</mark>"
    assert highlight.render_marked(f"{stop}x{start}{start}y") == "x<mark>y</mark>"
    assert highlight.render_marked(None) == ""


def test_phrases_exclusions_and_or_follow_web_search_syntax(client):
    PaperFactory(title="Large language model alignment")
    PaperFactory(title="Language of large models")
    PaperFactory(title="Vision model alignment")

    phrase = results(client, q='"large language model"')
    assert "Large language model alignment" in phrase and "Language of large models" not in phrase

    excluded = results(client, q="alignment -vision")
    assert "Large language model alignment" in excluded and "Vision model alignment" not in excluded

    either = results(client, q="vision or language")
    assert "3 papers match" in either


def test_filters_narrow_by_category_and_publication_date(client):
    now = timezone.now()
    PaperFactory(title="Kernel methods old", published_at=now - dt.timedelta(days=400))
    PaperFactory(title="Kernel methods new", published_at=now)
    PaperFactory(
        title="Kernel methods physics",
        published_at=now,
        primary_category="hep-th",
        categories=["hep-th"],
    )

    since = (now - dt.timedelta(days=30)).date().isoformat()
    recent = results(client, q="kernel", since=since)
    assert "Kernel methods new" in recent and "Kernel methods old" not in recent

    until = (now - dt.timedelta(days=30)).date().isoformat()
    older = results(client, q="kernel", until=until)
    assert "Kernel methods old" in older and "Kernel methods new" not in older

    physics = results(client, q="kernel", cat="hep-th")
    assert "Kernel methods physics" in physics and "Kernel methods new" not in physics

    computing = results(client, q="kernel", cat="cs.*")
    assert "Kernel methods physics" not in computing and "Kernel methods new" in computing


def refused(client, **params):
    response = client.get("/search/", params)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was searched" in html
    return html


def test_bad_filters_get_a_message_and_keep_the_input(client):
    PaperFactory(title="Kernel methods")
    html = refused(client, q="kernel", cat="<script>", since="2026-13-45")
    assert "Use an arXiv category such as cs.LG" in html
    assert "Kernel methods" not in html
    assert "Enter a valid date." in html
    assert 'value="kernel"' in html
    assert 'value="&lt;script&gt;"' in html

    html = refused(client, q="kernel", since="2026-11-20", until="2026-11-01")
    assert "The end date is before the start date." in html

    html = refused(client, q="kernel", since="0001-01-01")
    assert "Pick a date between" in html


def test_since_bad_is_refused_with_a_message_not_an_empty_result(client):
    PaperFactory(title="Kernel methods")
    html = refused(client, q="kernel", since="bad")
    assert "Enter a valid date." in html
    assert 'value="bad"' in html


def test_a_category_without_words_lists_that_categorys_papers_newest_first(client):
    now = timezone.now()
    PaperFactory(
        title="Older learning paper",
        primary_category="cs.LG",
        categories=["cs.LG"],
        published_at=now - dt.timedelta(days=3),
    )
    PaperFactory(
        title="Newer learning paper",
        primary_category="cs.LG",
        categories=["cs.LG", "stat.ML"],
        published_at=now - dt.timedelta(days=1),
    )
    PaperFactory(title="A physics paper", primary_category="hep-th", categories=["hep-th"])

    html = results(client, q="", cat="cs.LG")

    assert "Papers in cs.LG" in html
    assert html.index("Newer learning paper") < html.index("Older learning paper")
    assert "A physics paper" not in html
    assert "No papers here yet" in results(client, cat="math.AG")


def test_results_can_be_ordered_newest_first(client):
    now = timezone.now()
    PaperFactory(title="Bandit bandit bandit", published_at=now - dt.timedelta(days=9))
    PaperFactory(title="Regret of a bandit", published_at=now)

    best = results(client, q="bandit")
    newest = results(client, q="bandit", sort="newest")

    assert best.index("Bandit bandit bandit") < best.index("Regret of a")
    assert newest.index("Regret of a") < newest.index("Bandit bandit bandit")
    assert "newest first" in newest


def test_results_are_paged_and_pages_keep_the_query(client, settings):
    settings.PAPERS_PER_PAGE = 4
    for i in range(6):
        PaperFactory(title=f"Manifold learning {i}")

    first = results(client, q="manifold", cat="cs.LG")
    second = results(client, q="manifold", cat="cs.LG", page=2)

    assert first.count('class="card"') == 4 and second.count('class="card"') == 2
    assert "Page 1 of 2" in first
    assert 'href="?q=manifold&amp;cat=cs.LG&amp;page=2"' in first


def test_only_a_bounded_number_of_matches_is_ranked(client, monkeypatch):
    monkeypatch.setattr(fulltext, "CANDIDATE_LIMIT", 5)
    for i in range(8):
        PaperFactory(title=f"Common word {i}")

    assert len(matching.search_ids(Paper.objects.all(), "common")) == 5
    html = results(client, q="common")
    assert "More than 5 papers match" in html


def test_ranked_matches_come_from_scans_that_start_at_the_same_place_each_time():
    # With synchronized scans (PostgreSQL's default) a scan of a large table starts where
    # the previous one stopped: a common word's first CANDIDATE_LIMIT matches, hence its
    # results, changed with every request. The test table is too small to show it.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronize_seqscans")
        assert cursor.fetchone()[0] == "off"


def test_a_query_without_searchable_words_is_refused_before_any_scan():
    PaperFactory(title="Under_score")
    query = matching.search_matches(Paper.objects.all(), "_ __ ___").values("pk")
    # PostgreSQL checks the empty tsquery once, before touching the table.
    plan = query.explain(analyze=True)
    # Either folded to false while planning, or checked before the scan runs.
    assert "One-Time Filter: false" in plan or "never executed" in plan
    assert list(query) == []


def test_no_results_suggests_what_to_try(client):
    PaperFactory(title="Something else")
    html = results(client, q="xylophone", cat="cs.LG")
    assert "No papers match “xylophone”" in html
    assert "Search again without the date and category filters" in html
    assert 'href="/trending/"' in html


def test_an_empty_search_shows_tips_and_runs_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        html = results(client, q="   ")
    assert "Tips" in html
    assert "No papers match" not in html


def test_an_arxiv_id_goes_straight_to_the_paper(client):
    paper = PaperFactory(arxiv_id="hep-th/9901001")
    response = client.get("/search/", {"q": "https://arxiv.org/abs/hep-th/9901001v2"})
    assert response.status_code == 302
    assert response["Location"] == paper.get_absolute_url()
    # An id that is not here is searched as text.
    assert client.get("/search/", {"q": "2406.99999"}).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "",
        '"',
        '"""',
        "'",
        "&|!():*",
        "a & | b",
        "!!!(",
        ":*",
        "-",
        "- -",
        "or",
        "foo or or",
        "<script>alert(1)</script>",
        "\x00",
        "nul\x00byte",
        "\u202e\u0000\uffff\ue000",
        "日本語の論文",
        "Ünïcödé façade",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚀",
        "\\",
        "%",
        "_",
        "x" * 10_000,
        "word " * 2_000,
        "(a OR b) AND NOT c",
        "https://arxiv.org/abs/",
        "2406.12345v99999",
    ],
)
def test_odd_queries_never_fail(client, query):
    PaperFactory(title="Robust estimation", abstract="Quotes ' \" and & | ! ( ) : *")
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html


def test_clean_query_strips_control_characters_and_caps_length():
    assert fulltext.clean_query("a\x00b\tc\n d") == "a b c d"
    assert len(fulltext.clean_query("y" * 5000)) == fulltext.MAX_QUERY_LENGTH
    assert fulltext.clean_query(None) == ""


def test_the_fallback_without_full_text_search_matches_every_word():
    PaperFactory(title="Neural ODE solvers", authors=["Ricky Chen"])
    PaperFactory(title="Neural fields")

    found = list(matching._search_without_full_text(Paper.objects.all(), "neural chen"))

    assert [p.title for p in found] == ["Neural ODE solvers"]
    marked = fulltext.mark_terms(found[0].title, fulltext.fallback_terms("neural chen"))
    assert highlight.render_marked(marked) == "<mark>Neural</mark> ODE solvers"


def test_repeated_words_are_searched_once_and_long_queries_are_cut():
    assert fulltext.clean_query("model Model  model learning") == "model learning"
    assert fulltext.clean_query('"a b" "a b" c or d or e') == '"a b" c or d or e'
    words = " ".join(f"word{i}" for i in range(40))
    assert len(fulltext.clean_query(words).split()) == fulltext.MAX_QUERY_WORDS
    assert fulltext.is_shortened(words) and not fulltext.is_shortened("model model model")


def test_a_shortened_query_says_so(client):
    PaperFactory(title="Word0 word1 paper")
    html = results(client, q=" ".join(f"word{i}" for i in range(40)))
    assert f"only its first {fulltext.MAX_QUERY_WORDS} words were searched" in html


@pytest.mark.django_db(transaction=True)
def test_time_limit_cancels_a_slow_query_and_restores_the_setting():
    from django.db import connection

    with pytest.raises(fulltext.SearchTookTooLong):
        with fulltext.time_limit(50):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(2)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.django_db(transaction=True)
def test_a_search_that_takes_too_long_gets_a_message_not_an_error(client, monkeypatch):
    long_abstract = " ".join(["alpha beta gamma delta epsilon"] * 600)
    PaperFactory.create_batch(60, title="Alpha study", abstract=long_abstract)
    monkeypatch.setattr(fulltext, "SEARCH_TIME_LIMIT_MS", 1)

    html = results(client, q='"gamma delta" alpha')

    assert "That search took too long" in html
    assert "without the quotes" in html


def test_searching_for_an_id_the_site_lacks_offers_to_submit_it(client):
    PaperFactory(title="Unrelated")
    response = client.get("/search/", {"q": "https://arxiv.org/abs/2406.99999v2"})
    html = response.content.decode()
    assert "arXiv:2406.99999 is not on" in html
    assert 'href="/submit/?arxiv_id=2406.99999">Submit this paper</a>' in html
    # Words are not an id: no such offer.
    assert "Submit this paper" not in client.get("/search/", {"q": "attention"}).content.decode()


def test_searching_for_a_hidden_paper_s_id_offers_nothing(client):
    hidden = PaperFactory(is_hidden=True)
    html = client.get("/search/", {"q": hidden.arxiv_id}).content.decode()
    assert "Submit this paper" not in html


def fallback(query):
    return [p.title for p in matching._search_without_full_text(Paper.objects.all(), query)]


def test_the_fallback_reads_the_search_tips_phrases_exclusions_and_or():
    PaperFactory(title="Diffusion model for images", abstract="We sample.")
    PaperFactory(title="Language model scaling", abstract="Attention is used.")
    PaperFactory(title="Vision attention", abstract="A model of diffusion.")

    assert sorted(fallback('"diffusion model"')) == ["Diffusion model for images"]
    assert sorted(fallback("attention -vision")) == ["Language model scaling"]
    assert sorted(fallback('attention -"language model"')) == ["Vision attention"]
    assert sorted(fallback('images or "language model"')) == [
        "Diffusion model for images",
        "Language model scaling",
    ]
    assert fallback("-model") == []  # only an exclusion: nothing to look for


def test_the_fallback_puts_title_matches_first():
    PaperFactory(title="Notes on sampling", abstract="About diffusion, briefly.")
    PaperFactory(title="Diffusion at scale", abstract="Sampling.")
    assert fallback("diffusion") == ["Diffusion at scale", "Notes on sampling"]
    # Highlights are for what was looked for, not for what was excluded.
    assert fulltext.fallback_terms('diffusion -scale "at scale"') == ["diffusion", "at scale"]
