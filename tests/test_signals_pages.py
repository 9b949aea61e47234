"""Issue 13 on the pages and in the API: thumbnails and code signals on cards and the
paper page (same query counts as before), the JSON contract (githubRepo, githubStars,
thumbnail), the has_code filter, and star velocity as an optional ranking term."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from codesignals import service
from codesignals.models import PaperSignals, Repository, StarCount
from papers import ranking
from papers.models import Paper
from thumbnails.models import Thumbnail
from thumbnails.service import render_and_store

from .factories import PaperFactory, UserFactory
from .recorded_http import FIXTURES

SPECTER = FIXTURES / "pdf" / "2020.acl-main.207.pdf"
TODAY = timezone.now().date()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def with_signals(paper, stars=7122, gained=0, models=0, datasets=0, spaces=0, name=None):
    repository = Repository.objects.create(
        full_name=name or f"lab/{paper.arxiv_id}",
        status=Repository.Status.OK,
        stars=stars,
        stars_gained=gained,
    )
    items = [{"id": f"lab/model-{n}", "likes": n} for n in range(models)]
    return PaperSignals.objects.create(
        paper=paper,
        repository=repository,
        linked_url=paper.code_url,
        models_count=models,
        datasets_count=datasets,
        spaces_count=spaces,
        hf_models=items,
        hf_datasets=[{"id": f"lab/data-{n}"} for n in range(datasets)],
    )


def refused(paper):
    return Thumbnail.objects.create(
        paper=paper, status=Thumbnail.Status.REFUSED, reason="encrypted"
    )


# --- Cards ----------------------------------------------------------------------------------


def test_a_card_shows_the_thumbnail_stars_and_artifact_counts(client):
    paper = PaperFactory(code_url="https://github.com/lab/x")
    thumbnail = render_and_store(paper, SPECTER)
    with_signals(paper, stars=7122, models=3, datasets=1)

    html = client.get("/").content.decode()

    img = re.search(r'<div class="card-thumb">\s*<img ([^>]*)>', html).group(1)
    # The card's own small rendition, at its pixel size (no layout shift), not the page.
    assert f'src="{thumbnail.card_image.url}"' in img and thumbnail.url not in html
    assert 'width="136" height="102"' in img and 'alt=""' in img
    assert "★</span> 7.1k" in html and "GitHub stars" in html
    assert ">3 models</a>" in html and ">1 dataset</a>" in html


def test_a_card_without_a_thumbnail_shows_a_placeholder(client):
    refused(PaperFactory(primary_category="cs.CL"))
    PaperFactory(primary_category="cs.CV")  # never tried

    html = client.get("/").content.decode()

    assert html.count('class="card-thumb-placeholder" aria-hidden="true"') == 2
    assert "<img" not in html.split("<main", 1)[1]


def test_every_thumbnail_loads_lazily_after_the_text(client):
    for n in range(5):
        paper = PaperFactory()
        Paper.objects.filter(pk=paper.pk).update(upvote_count=10 - n)
        render_and_store(paper, SPECTER) if n == 0 else Thumbnail.objects.create(
            paper=paper, status="ready", image=f"thumbnails/{n}.webp", width=480, height=621
        )

    html = client.get("/").content.decode()

    images = re.findall(r'<div class="card-thumb">\s*<img ([^>]*)>', html)
    assert len(images) == 5
    # Decoration at 4.25rem wide, never the largest paint: even the first cards' images
    # must not take a slow connection's bandwidth from the text, fonts and KaTeX.
    assert all('loading="lazy"' in i and "fetchpriority" not in i for i in images)


def test_signals_cost_the_front_page_no_query(client, voter, django_assert_num_queries):
    for n in range(5):
        paper = PaperFactory(code_url=f"https://github.com/lab/p{n}")
        with_signals(paper, models=n)
        render_and_store(paper, SPECTER) if n == 0 else refused(paper)
    client.force_login(voter)
    # session, user, latest day, neighbouring days, count, papers, first authors
    with django_assert_num_queries(7):
        client.get("/")


# --- The paper page ---------------------------------------------------------------------------


def test_the_paper_page_lists_linked_artifacts(client, django_assert_num_queries, settings):
    settings.HF_REPOS_KEPT = 2
    paper = PaperFactory(code_url="https://github.com/allenai/specter")
    signals = with_signals(
        paper, stars=512, gained=40, models=2, datasets=1, name="allenai/specter"
    )
    PaperSignals.objects.filter(pk=signals.pk).update(models_count=5)

    # the paper (signals joined), its authors, the public collections with it (library),
    # the discussion's state: no query of the signals' own
    with django_assert_num_queries(4):
        html = client.get(paper.get_absolute_url()).content.decode()

    assert (
        '<a href="https://github.com/allenai/specter" rel="noopener nofollow">allenai/specter</a>'
        in html
    )
    assert "<strong>512</strong> stars, <strong>+40</strong> in the last 7 days" in html
    assert 'href="https://huggingface.co/lab/model-1"' in html
    assert 'href="https://huggingface.co/datasets/lab/data-0"' in html
    assert "All 5 on Hugging Face" in html and f"huggingface.co/papers/{paper.arxiv_id}" in html


def test_a_paper_with_nothing_linked_says_so(client):
    paper = PaperFactory(code_url="")

    html = client.get(paper.get_absolute_url()).content.decode()

    assert "No code repository, model, dataset or Space is linked to this paper yet." in html


# --- The API ---------------------------------------------------------------------------------


def test_the_api_gives_stars_and_an_absolute_thumbnail_url(client):
    paper = PaperFactory(arxiv_id="2004.07180", code_url="https://github.com/allenai/specter")
    with_signals(paper, stars=512, name="allenai/specter")
    thumbnail = render_and_store(paper, SPECTER)

    data = client.get("/api/papers/2004.07180").json()
    [item] = client.get("/api/daily_papers").json()

    assert data["githubRepo"] == "https://github.com/allenai/specter"
    assert data["githubStars"] == 512
    assert data["thumbnail"] == f"http://testserver/media/{thumbnail.image.name}"
    assert item["paper"] == data and item["thumbnail"] == data["thumbnail"]


def test_a_renamed_repository_is_given_under_its_new_name(client):
    paper = PaperFactory(code_url="https://github.com/protoncoin/protoncoin")
    with_signals(paper, stars=5, name="padima2/protoncoin")

    data = client.get(f"/api/papers/{paper.arxiv_id}").json()

    assert data["githubRepo"] == "https://github.com/padima2/protoncoin"


def test_signals_cost_the_api_no_query(client, django_assert_num_queries):
    for n in range(20):
        paper = PaperFactory(code_url=f"https://github.com/lab/p{n}", authors=["Ada Lovelace"])
        with_signals(paper)
        refused(paper)
    with django_assert_num_queries(3):  # latest day, papers (joined), authors
        items = client.get("/api/daily_papers").json()
    assert {i["paper"]["githubStars"] for i in items} == {7122}


def test_has_code_keeps_the_papers_with_code_in_the_api(client):
    PaperFactory(arxiv_id="2411.00001", code_url="https://github.com/lab/x")
    PaperFactory(arxiv_id="2411.00002", code_url="")

    ids = [i["paper"]["id"] for i in client.get("/api/daily_papers?has_code=1").json()]
    everything = client.get("/api/daily_papers?has_code=0").json()

    assert ids == ["2411.00001"] and len(everything) == 2
    bad = client.get("/api/daily_papers?has_code=yes")
    assert bad.status_code == 400 and "has_code must be 1" in bad.json()["error"]


# --- The has_code filter on the pages ----------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/trending/", "/new/"])
def test_has_code_keeps_the_papers_with_code_on_a_list(client, url):
    PaperFactory(title="With code", code_url="https://github.com/lab/x")
    PaperFactory(title="Without code", code_url="")

    everything = client.get(url).content.decode()
    only = client.get(url, {"has_code": "1"}).content.decode()

    assert "With code" in everything and "Without code" in everything
    assert "With code" in only and "Without code" not in only
    assert 'href="?has_code=1">Only papers with code</a>' in everything
    assert "Showing papers with code" in only and 'href="?">Show all papers</a>' in only


def test_search_has_a_with_code_filter(client):
    PaperFactory(title="Sparse attention with code", code_url="https://github.com/lab/x")
    PaperFactory(title="Sparse attention without", code_url="")

    searched = client.get("/search/", {"q": "sparse attention", "has_code": "1"}).content.decode()
    browsed = client.get("/search/", {"has_code": "1"}).content.decode()

    for html in (searched, browsed):
        assert "Sparse attention with code" in html and "Sparse attention without" not in html
        assert 'id="id_has_code" name="has_code" value="1" checked' in html


# --- Star velocity in the ranking ----------------------------------------------------------------


def test_a_star_weight_of_zero_keeps_todays_ranking(db, settings):
    settings.TRENDING_STAR_WEIGHT = 0
    paper = PaperFactory(daily_date=TODAY)
    Paper.objects.filter(pk=paper.pk).update(upvote_count=10)
    with_signals(paper, gained=500)
    now = timezone.now()

    Paper.objects.refresh_rank_scores(now)

    paper.refresh_from_db()
    assert paper.rank_score == pytest.approx(10 / ranking.decay(TODAY, now))


def test_stars_gained_count_as_weighted_votes(db, settings, voter):
    settings.TRENDING_STAR_WEIGHT = 0.1
    starred, plain = PaperFactory(daily_date=TODAY), PaperFactory(daily_date=TODAY)
    Paper.objects.filter(pk__in=[starred.pk, plain.pk]).update(upvote_count=10)
    with_signals(starred, gained=200)
    now = timezone.now()

    Paper.objects.refresh_rank_scores(now)

    divisor = ranking.decay(TODAY, now)
    assert Paper.objects.get(pk=starred.pk).rank_score == pytest.approx((10 + 20) / divisor)
    assert Paper.objects.get(pk=plain.pk).rank_score == pytest.approx(10 / divisor)
    assert list(Paper.objects.trending(now)) == [Paper.objects.get(pk=starred.pk), plain]
    # A vote rewrites the score with the star term kept.
    starred.add_vote(voter)
    score = Paper.objects.get(pk=starred.pk).rank_score
    assert score == pytest.approx((11 + 20) / ranking.decay(TODAY, timezone.now()), rel=1e-3)


def test_velocity_is_kept_on_the_repository_as_counts_arrive(db, settings):
    settings.STAR_VELOCITY_DAYS = 7
    repository = Repository.objects.create(full_name="lab/x", stars=100)
    StarCount.objects.create(repository=repository, day=TODAY - dt.timedelta(days=7), stars=100)

    service.record_stars(repository, 160, TODAY)

    assert Repository.objects.get().stars_gained == 60


def test_the_ranking_page_explains_the_star_term(client, settings):
    settings.TRENDING_STAR_WEIGHT = 0
    html = client.get("/about/ranking/").content.decode()
    assert "Star velocity" in html and "<var>w</var> = <strong>0</strong>" in html

    settings.TRENDING_STAR_WEIGHT = 0.5
    html = client.get("/about/ranking/").content.decode()
    assert "every star gained in 7 days counts as 0.5 upvotes" in html


def test_the_paper_page_says_why_it_ranks_where_it_does(client, settings):
    settings.TRENDING_STAR_WEIGHT = 0.1
    paper = PaperFactory(daily_date=TODAY)
    Paper.objects.filter(pk=paper.pk).update(upvote_count=12)
    with_signals(paper, gained=30)

    html = client.get(paper.get_absolute_url()).content.decode()

    section = html.split('id="why-ranked-title"', 1)[1].split("</section>", 1)[0]
    assert "12 upvotes, plus 0.1 × 30 stars its code gained in 7 days = 3" in section
    score = (12 + 3) / ranking.decay(TODAY, timezone.now())
    assert f"<strong>{score:.4f}</strong>" in section or f"{score:.3f}" in section
    assert 'href="/about/ranking/"' in section


def test_an_old_paper_says_it_has_left_the_trending_list(client):
    paper = PaperFactory(daily_date=TODAY - dt.timedelta(days=40))

    html = client.get(paper.get_absolute_url()).content.decode()

    assert "no longer on the trending list" in html


def test_a_user_can_still_vote_with_stars_weighted(client, settings):
    settings.TRENDING_STAR_WEIGHT = 1
    user = UserFactory()
    paper = PaperFactory()
    with_signals(paper, gained=5)
    assert paper.add_vote(user)
    assert Paper.objects.get(pk=paper.pk).upvote_count == 1


def test_link_previews_show_the_first_page(client):
    paper = PaperFactory()
    thumbnail = render_and_store(paper, SPECTER)

    html = client.get(paper.get_absolute_url()).content.decode()

    url = f"http://testserver/media/{thumbnail.image.name}"
    assert f'<meta property="og:image" content="{url}">' in html
    assert '<meta property="og:image:width" content="480">' in html
    refused(other := PaperFactory())
    assert "og:image" not in client.get(other.get_absolute_url()).content.decode()
