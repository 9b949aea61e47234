"""Search by meaning with the real model (all-MiniLM-L6-v2 on ONNX Runtime, int8), the
real index library (usearch) and PostgreSQL. The model is loaded once per test session
(semantic.encoder keeps it per process)."""

import datetime as dt
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from papers.models import Paper
from semantic import embedding, encoder, hybrid, index
from semantic.models import PaperEmbedding

from .conftest import FIXTURES, ROOT, database_url_for_tests
from .factories import PaperFactory, UserFactory, VoteFactory

REFERENCE = json.loads((FIXTURES / "semantic" / "reference_embeddings.json").read_text())


@pytest.fixture(scope="session")
def model():
    return encoder.get_encoder()


@pytest.fixture(autouse=True)
def _own_index(settings, tmp_path, monkeypatch):
    """Each test builds its index in its own folder and sees new vectors at once."""
    settings.SEMANTIC_INDEX_DIR = str(tmp_path / "index")
    monkeypatch.setattr(index, "FRESH_SECONDS", 0)
    monkeypatch.setattr(index, "CHECK_SECONDS", 0)
    index.forget()
    yield
    index.forget()


def real_papers(**extra):
    """The 18 real papers (title, abstract) of the reference fixture."""
    papers = []
    for doc in REFERENCE["documents"]:
        papers.append(
            PaperFactory(
                arxiv_id=doc["arxiv_id"], title=doc["title"], abstract=doc["abstract"], **extra
            )
        )
    return papers


def embed_all(model):
    return embedding.embed_pending(enc=model)


def arxiv_ids(ids):
    by_pk = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "arxiv_id"))
    return [by_pk[i] for i in ids]


# --- The encoder --------------------------------------------------------------------------


def test_the_int8_encoder_agrees_with_sentence_transformers_on_real_papers(model):
    texts = [encoder.document_text(d["title"], d["abstract"]) for d in REFERENCE["documents"]]
    ours = model.encode(texts)
    theirs = np.array([d["vector"] for d in REFERENCE["documents"]], np.float32)
    queries = np.array([model.encode_query(q["text"]) for q in REFERENCE["queries"]])
    their_queries = np.array([q["vector"] for q in REFERENCE["queries"]], np.float32)

    assert ours.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-3)
    assert (ours * theirs).sum(axis=1).min() >= 0.98
    assert (queries * their_queries).sum(axis=1).min() >= 0.98


def test_vectors_keep_the_input_order_and_do_not_depend_on_the_other_texts(model):
    texts = ["a short one", "a much longer text about graph neural networks " * 20, "mid text"]
    together = model.encode(texts)
    alone = np.stack([model.encode([t])[0] for t in texts])
    reversed_ = model.encode(texts[::-1])[::-1]

    # Each text runs alone: the same text gets the same vector whatever came with it.
    assert np.allclose(together, alone, atol=1e-6)
    assert np.allclose(together, reversed_, atol=1e-6)
    assert (together[0] @ together[1]) < 0.9  # and different texts differ


# --- Storing vectors ----------------------------------------------------------------------


def test_embed_papers_embeds_what_is_missing_stale_or_changed_and_nothing_else(db, model):
    first, second, third = PaperFactory.create_batch(3)

    result = embed_all(model)
    assert (result.embedded, PaperEmbedding.objects.count()) == (3, 3)
    assert embed_all(model).embedded == 0

    Paper.objects.filter(pk=first.pk).update(title="A new title", modified_at=timezone.now())
    Paper.objects.filter(pk=second.pk).update(upvote_count=5, modified_at=timezone.now())
    PaperEmbedding.objects.filter(paper=third).update(model_key="an-older-model")
    again = embed_all(model)

    assert (again.embedded, again.unchanged) == (2, 1)
    stored = PaperEmbedding.objects.get(paper=first)
    assert stored.text_hash == encoder.text_hash(
        encoder.document_text("A new title", first.abstract)
    )
    assert set(PaperEmbedding.objects.values_list("model_key", flat=True)) == {model.key}


def test_a_killed_embed_papers_leaves_whole_batches_and_the_rerun_completes(
    transactional_db, model
):
    PaperFactory.create_batch(120)
    env = os.environ | {"DATABASE_URL": database_url_for_tests(), "DEBUG": "1"}
    command = [sys.executable, "manage.py", "embed_papers", "--batch-size", "8"]
    run = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while PaperEmbedding.objects.count() < 16 and time.monotonic() < deadline:
        assert run.poll() is None, "embed_papers ended before it could be killed"
        time.sleep(0.02)
    run.kill()  # SIGKILL: as in a crash
    run.wait()
    stored = PaperEmbedding.objects.count()
    assert 0 < stored < 120, "the run was not interrupted midway"
    assert stored % 8 == 0  # whole batches only

    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)

    assert rerun.returncode == 0, rerun.stderr
    assert f"{120 - stored} papers embedded" in rerun.stdout
    assert PaperEmbedding.objects.count() == 120


# --- Searching ----------------------------------------------------------------------------


def search_page(client, **params):
    response = client.get(reverse("papers:search"), params)
    assert response.status_code == 200
    return response


def test_a_paraphrased_query_finds_its_paper_that_keyword_search_misses(db, client, model):
    real_papers()
    embed_all(model)
    index.rebuild(model.key)
    query = "turning one camera footage into 3D two-eye movies"

    keyword = hybrid.search_ids(query, "keyword")
    semantic = hybrid.search_ids(query, "semantic", limit=3)
    hybrid_ids = hybrid.search_ids(query, "hybrid", limit=3)
    page = search_page(client, q=query)

    assert "2512.09363" not in keyword
    assert semantic[0] == "2512.09363"
    assert hybrid_ids[0] == "2512.09363"
    assert page.context["page"].object_list[0].arxiv_id == "2512.09363"
    assert "Similar in meaning" in page.content.decode()


def test_hybrid_puts_an_exact_title_first_and_says_why_each_result_is_there(db, client, model):
    real_papers()
    embed_all(model)
    index.rebuild(model.key)
    title = "Balancing Pipeline Parallelism with Vocabulary Parallelism"

    page = search_page(client, q=title)
    results = page.context["page"].object_list

    assert results[0].arxiv_id == "2411.05288"
    assert results[0].match_reason == "Exact title"
    assert {r.match_reason for r in results[1:]} <= {
        "Matched words",
        "Similar in meaning",
        "Matched words, similar in meaning",
    }
    html = page.content.decode()
    assert 'aria-current="page" title="Matching words and similar meaning, merged">' in html
    assert "mode=semantic" in html and "mode=keyword" in html


def test_keyword_mode_is_the_full_text_search_unchanged(db, client, model):
    real_papers()
    embed_all(model)

    page = search_page(client, q="stereo video", mode="keyword")

    assert [p.arxiv_id for p in page.context["page"].object_list] == ["2512.09363"]
    assert "<mark>" in page.content.decode()


def test_filters_still_fill_a_page_when_the_nearest_papers_are_filtered_out(
    db, client, model, monkeypatch, settings
):
    # 40 vision papers closest to the query, 40 language papers further away: the
    # language filter must still give a full page of 30, from the index path too.
    settings.PAPERS_PER_PAGE = 30
    for n in range(40):
        PaperFactory(
            title=f"Image segmentation with convolutional networks, study {n}",
            abstract="Pixel-level segmentation of photographs with convolutional networks.",
            primary_category="cs.CV",
            categories=["cs.CV"],
        )
        PaperFactory(
            title=f"Machine translation of low-resource languages, study {n}",
            abstract="Translating text between languages with few parallel sentences.",
            primary_category="cs.CL",
            categories=["cs.CL"],
        )
    embed_all(model)
    index.rebuild(model.key)
    query = "segmenting pictures into regions"

    exact = search_page(client, q=query, mode="semantic", cat="cs.CL")
    monkeypatch.setattr(hybrid, "PREFILTER_MAX", 5)  # the oversampling path
    sampled = search_page(client, q=query, mode="semantic", cat="cs.CL")
    unfiltered = search_page(client, q=query, mode="semantic")

    def categories(page):  # the results may be cards' rows (cached cards): by id
        ids = [p.pk for p in page.context["page"].object_list]
        found = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "primary_category"))
        return [found[i] for i in ids]

    for page in (exact, sampled):
        assert len(categories(page)) == 30
        assert set(categories(page)) == {"cs.CL"}
    assert categories(unfiltered)[0] == "cs.CV"


def test_a_paper_embedded_after_the_index_was_built_is_found(db, model):
    real_papers()
    embed_all(model)
    built = index.rebuild(model.key)
    assert built.count == 18
    assert "0704.0001" in hybrid.search_ids("photon pairs at hadron colliders", "semantic", 3)

    PaperFactory(
        arxiv_id="2412.00001",
        title="Folding proteins with language models",
        abstract="We predict the three-dimensional structure of proteins from their amino "
        "acid sequence with a protein language model.",
    )
    embed_all(model)  # the index file is not rebuilt

    assert hybrid.search_ids("protein structure prediction", "semantic", 1) == ["2412.00001"]

    index.refresh(model.key)  # the worker adds it; the search is the same
    index.forget()
    assert index.read_meta()["count"] == 19
    assert hybrid.search_ids("protein structure prediction", "semantic", 1) == ["2412.00001"]


def test_web_workers_map_the_new_index_file_when_it_changes(db, model):
    real_papers()
    embed_all(model)
    index.rebuild(model.key)
    first, _ = index.loaded.get()
    time.sleep(0.01)
    index.rebuild(model.key)
    second, meta = index.loaded.get()

    assert first is not second
    assert meta["count"] == len(second) == 18


def test_a_search_of_an_index_file_is_remembered_and_a_new_file_is_searched_again(
    db, model, monkeypatch
):
    real_papers()
    embed_all(model)
    index.rebuild(model.key)
    walks = []
    walk = index.usearch_index().search

    def counted(self, *args, **kwargs):
        walks.append(args)
        return walk(self, *args, **kwargs)

    monkeypatch.setattr(index.usearch_index(), "search", counted)
    query = "photon pairs at hadron colliders"

    first = hybrid.search_ids(query, "semantic", 5)
    again = hybrid.search_ids(query, "semantic", 5)
    assert first == again and first[0] == "0704.0001"
    assert len(walks) == 1  # the second search read the first one's neighbours

    # What may be shown is checked on every search: a paper hidden since is left out.
    Paper.objects.filter(arxiv_id="0704.0001").update(is_hidden=True)
    assert hybrid.search_ids(query, "semantic", 4) == first[1:]
    assert len(walks) == 1

    time.sleep(0.01)
    index.rebuild(model.key)  # a new file: its graph is walked for the same query
    assert hybrid.search_ids(query, "semantic", 4) == first[1:]
    assert len(walks) == 2

    # Deeper searches than NEAREST_CACHE_MAX (a filter's) are not kept: each walks.
    monkeypatch.setattr(index, "NEAREST_CACHE_MAX", 3)
    vector = model.encode_query(query)
    assert index.nearest(vector, 5, model.key) == index.nearest(vector, 5, model.key)
    assert len(walks) == 4


@pytest.fixture
def broken_model(settings, tmp_path, model):
    """The ONNX file is corrupt: the model cannot load."""
    settings.EMBEDDING_CACHE_DIR = str(tmp_path / "models")
    path = encoder.onnx_path(encoder.current_spec())
    path.parent.mkdir()
    path.write_bytes(b"not an onnx graph")
    loaded = encoder._encoder
    encoder.reset_encoder()
    yield
    encoder.reset_encoder()
    encoder._encoder = loaded


def test_a_model_that_fails_to_load_gives_keyword_results_and_a_notice(
    db, client, model, broken_model
):
    PaperFactory(title="Stereo video generation", abstract="Monocular to stereo video.")
    embed_all(model)  # vectors exist, made while the model worked

    page = search_page(client, q="stereo video")
    semantic = search_page(client, q="stereo video", mode="semantic")
    api = client.get(reverse("semantic:api_search"), {"q": "stereo video"})

    for response in (page, semantic):
        assert [p.title for p in response.context["page"].object_list] == [
            "Stereo video generation"
        ]
        assert "Search by meaning is unavailable at the moment" in response.content.decode()
    assert api.status_code == 200 and api.json()[0]["title"] == "Stereo video generation"


def test_a_query_the_model_cannot_embed_in_time_gives_keyword_results(
    db, client, model, monkeypatch
):
    PaperFactory(title="Stereo video generation", abstract="Monocular to stereo video.")
    embed_all(model)
    monkeypatch.setattr(hybrid, "_encode_query", lambda text: time.sleep(0.5))
    monkeypatch.setattr(hybrid.settings, "EMBEDDING_QUERY_TIMEOUT", 0.05)

    page = search_page(client, q="stereo video")

    assert len(page.context["page"].object_list) == 1
    assert "Search by meaning is unavailable at the moment" in page.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "\x00",
        "stereo\x00video",
        "x" * 10_000,
        "stereo " * 2_000,
        "the of and a to",
        "$\\int_0^1 x^2\\,dx = \\frac{1}{3}$",
        "∀ε>0 ∃δ>0",
        "%%%",
    ],
)
def test_hostile_queries_give_a_page(db, client, model, query):
    real_papers()
    embed_all(model)
    for mode in ("hybrid", "semantic"):
        response = client.get(reverse("papers:search"), {"q": query, "mode": mode})
        assert response.status_code in (200, 400)
        api = client.get(reverse("semantic:api_search"), {"q": query[:250]})
        assert api.status_code in (200, 400)


def test_a_lone_surrogate_in_the_query_gives_a_page(db, client, model):
    real_papers()
    embed_all(model)

    response = client.get("/search/?q=%ED%A0%80video&mode=semantic")

    assert response.status_code == 200
    assert len(hybrid.search_ids("\ud800 stereo video", "semantic", 3)) == 3


# --- Related papers, more like this -------------------------------------------------------


def test_related_papers_come_from_stored_vectors_with_a_more_like_this_link(
    db, client, model, monkeypatch
):
    real_papers()
    embed_all(model)
    index.rebuild(model.key)
    monkeypatch.setattr(encoder, "get_encoder", lambda: pytest.fail("no model call"))

    response = client.get(reverse("papers:related", args=["2603.24414"]))
    more = client.get(reverse("papers:search"), {"like": "2603.24414"})

    html = response.content.decode()
    assert "AgentDoG 1.5" in html  # the other agent-safety paper, sharing few title words
    assert f"{reverse('papers:search')}?like=2603.24414" in html
    results = arxiv_ids([p.pk for p in more.context["page"].object_list])
    assert results[0] == "2605.29801" and "2603.24414" not in results
    assert "Papers like" in more.content.decode()


def test_more_like_this_keeps_to_papers_with_code_when_asked(db, client, model):
    papers = real_papers()
    with_code = {p.arxiv_id for p in papers[::3] if p.arxiv_id != "2603.24414"}
    Paper.objects.filter(arxiv_id__in=with_code).update(code_url="https://github.com/a/b")
    embed_all(model)
    index.rebuild(model.key)

    everything = client.get(reverse("papers:search"), {"like": "2603.24414"})
    only_code = client.get(reverse("papers:search"), {"like": "2603.24414", "has_code": "1"})

    assert len(everything.context["page"].object_list) == len(papers) - 1
    found = arxiv_ids([p.pk for p in only_code.context["page"].object_list])
    assert sorted(found) == sorted(with_code)


def test_more_like_this_can_be_ordered_newest_first(db, client, model):
    papers = real_papers()
    start = timezone.now() - dt.timedelta(days=100)
    for n, paper in enumerate(papers):
        # Each on its own day, in an order unrelated to closeness (7 is prime to 18).
        Paper.objects.filter(pk=paper.pk).update(
            published_at=start + dt.timedelta(days=(n * 7) % len(papers))
        )
    embed_all(model)
    index.rebuild(model.key)

    closest = client.get(reverse("papers:search"), {"like": "2603.24414"})
    newest = client.get(reverse("papers:search"), {"like": "2603.24414", "sort": "newest"})

    by_closeness = [p.pk for p in closest.context["page"].object_list]
    by_date = [p.pk for p in newest.context["page"].object_list]
    published = dict(Paper.objects.values_list("pk", "published_at"))
    assert sorted(by_date) == sorted(by_closeness)
    assert by_date == sorted(by_date, key=published.get, reverse=True)
    assert by_date != by_closeness
    assert "newest first" in newest.content.decode()


def test_more_like_this_for_an_unknown_paper_is_a_404(db, client):
    assert client.get(reverse("papers:search"), {"like": "2401.99999"}).status_code == 404


# --- For you ------------------------------------------------------------------------------


def test_for_you_recommends_recent_papers_near_what_the_user_upvoted(db, client, model):
    papers = {p.arxiv_id: p for p in real_papers()}
    old = timezone.now() - dt.timedelta(days=400)
    Paper.objects.filter(arxiv_id="2605.29801").update(published_at=old, daily_date=old.date())
    reader = UserFactory()
    VoteFactory(user=reader, paper=papers["2603.24414"])  # agent safety
    embed_all(model)
    client.force_login(reader)

    response = client.get(reverse("semantic:for_you"))

    shown = response.context["papers"]
    html = response.content.decode()
    assert response.status_code == 200
    assert "2603.24414" not in [p.arxiv_id for p in shown]  # already upvoted
    assert "2605.29801" not in [p.arxiv_id for p in shown]  # too old
    assert shown[0].arxiv_id in {"2508.13167", "2503.02682", "2607.22529"}  # agents, skills
    assert "Because you upvoted" in html and "ClawKeeper" in html


def test_for_you_recommends_papers_near_one_the_user_only_saved_or_collected(
    db, client, model, monkeypatch
):
    from library.models import Collection, SavedPaper
    from semantic import recommend

    monkeypatch.setattr(recommend, "RECENT_SECONDS", 0)
    papers = {p.arxiv_id: p for p in real_papers()}
    reader, collector = UserFactory(), UserFactory()
    SavedPaper.objects.save_paper(reader, papers["2603.24414"])  # agent safety; no votes
    Collection.objects.create_named(collector, "Video").add_paper(papers["2512.09363"])
    embed_all(model)

    client.force_login(reader)
    response = client.get(reverse("semantic:for_you"))

    shown = [p.arxiv_id for p in response.context["papers"]]
    html = response.content.decode()
    assert not Paper.objects.upvoted_by(reader).exists()
    assert "2603.24414" not in shown  # the saved paper itself
    assert shown[0] in {"2605.29801", "2508.13167", "2503.02682", "2607.22529"}  # agents
    assert "Because you saved" in html and "ClawKeeper" in html
    assert "Because you upvoted" not in html

    client.force_login(collector)
    response = client.get(reverse("semantic:for_you"))

    shown = [p.arxiv_id for p in response.context["papers"]]
    assert shown[0] in {"2506.19851", "2510.12586", "2409.08857"}  # video, generation
    assert "Because you added" in response.content.decode()
    assert "to a collection" in response.content.decode()


def test_for_you_guides_a_new_user_and_needs_sign_in(db, client):
    assert client.get(reverse("semantic:for_you")).status_code == 302
    client.force_login(UserFactory())

    response = client.get(reverse("semantic:for_you"))

    assert "Upvote or save a few papers to start" in response.content.decode()


# --- The JSON API -------------------------------------------------------------------------


def test_the_search_api_answers_in_hugging_faces_shape(db, client, model):
    real_papers()
    embed_all(model)

    response = client.get(reverse("semantic:api_search"), {"q": "stereo video", "limit": "3"})

    items = response.json()
    assert response.status_code == 200 and len(items) == 3
    first = items[0]
    assert first["paper"]["id"] == "2512.09363"
    assert set(first) >= {"paper", "publishedAt", "title", "summary", "highlightedTitle"}
    assert {"type": "highlight", "text": "Stereo"} in first["highlightedTitle"]
    assert "".join(s["text"] for s in first["highlightedSummary"]) == first["summary"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 251},
        {"q": ""},
        {"q": "llm", "limit": "121"},
        {"q": "llm", "limit": "0"},
        {"q": "llm", "limit": "ten"},
    ],
)
def test_the_search_api_refuses_a_long_query_or_a_bad_limit(db, client, params):
    response = client.get(reverse("semantic:api_search"), params)

    assert response.status_code == 400
    assert "error" in response.json()


def test_a_process_that_maps_the_index_before_loading_the_model_survives(db, model):
    # Importing onnxruntime after usearch crashes the process (semantic.index).
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "django.setup(); from semantic import encoder, index; index.usearch_index();"
        "print(encoder.get_encoder().encode_query('graph networks').shape)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "(384,)"


def test_papers_brought_by_an_ingestion_task_are_embedded_and_indexed(db, settings, model):
    from ingest.tasks import ingest_hf_daily

    from .recorded_http import RecordedServer

    with RecordedServer() as hub:
        settings.HF_DAILY_PAPERS_URL = f"{hub.url}/api/daily_papers"
        hub.add("/api/daily_papers", file="hf-daily-papers/daily_papers_2024-10-25.json")

        ingest_hf_daily.delay(day="2024-10-25")  # eager here: the worker in production

    assert Paper.objects.count() == PaperEmbedding.objects.count() == 29
    assert index.read_meta()["count"] == 29


def test_web_workers_search_the_mapped_index_as_deep_as_it_was_built(db, model):
    # usearch keeps no search depth in the file: a restored index would search with its
    # default of 64 and miss neighbours at a million papers.
    real_papers()
    embed_all(model)
    index.rebuild(model.key)
    index.forget()
    mapped, _ = index.loaded.get()

    assert index.EXPANSION_SEARCH > 64
    assert mapped.expansion_search == index.EXPANSION_SEARCH
    assert mapped.expansion_add == index.EXPANSION_ADD


def test_without_an_index_workers_scan_only_the_newest_vectors_and_say_so(
    db, settings, model, caplog
):
    # A new site or web machine before its first build: every vector is unindexed, and
    # a worker must not hold a million of them.
    settings.SEMANTIC_EXACT_SCAN_MAX = 5
    real_papers()
    embed_all(model)
    PaperFactory(
        arxiv_id="2412.00001",
        title="Folding proteins with language models",
        abstract="We predict the three-dimensional structure of proteins from their amino "
        "acid sequence with a protein language model.",
    )
    embed_all(model)  # written last: the newest vector

    with caplog.at_level("WARNING", logger="semantic.index"):
        ids, matrix = index.loaded.unindexed(model.key)
        found = hybrid.search_ids("protein structure prediction", "semantic", 1)

    assert len(ids) == matrix.shape[0] == 5
    assert found == ["2412.00001"]
    assert "searching the newest 5 exactly" in caplog.text

    index.rebuild(model.key)  # once built, every paper is found through the index
    index.forget()
    assert "0704.0001" in hybrid.search_ids("photon pairs at hadron colliders", "semantic", 3)
