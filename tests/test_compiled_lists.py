"""List queries compiled once per shape (papers.compiled.shaped, papers.cards.Described,
issue 16): the SQL sent with each request's values gives what the ORM's queryset gives,
for every list, viewer and filter; each shape is compiled once; no stand-in value ever
reaches the database; one viewer's values never reach another's query."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from codesignals.models import PaperSignals, Repository
from library.models import SavedPaper
from library.views import _saved_by
from papers import cards, compiled
from papers.models import Author, Paper
from papers.views.lists import new_papers, period_papers, trending_papers

from .accounts_helpers import verified
from .factories import PaperFactory, UserFactory, VoteFactory

TODAY = dt.date(2026, 12, 4)


@pytest.fixture
def papers(db):
    """Three days of papers, some with code, votes and saves by two members."""
    made = []
    for days_ago in range(3):
        day = TODAY - dt.timedelta(days=days_ago)
        for n in range(4):
            made.append(
                PaperFactory(
                    daily_date=day,
                    authors=["Ada One", f"Bo Two {n}"],
                    published_at=timezone.now() - dt.timedelta(days=days_ago, hours=n),
                )
            )
    repository = Repository.objects.create(full_name="ada/sparse", stars=12)
    for paper in made[::3]:
        Paper.objects.filter(pk=paper.pk).update(code_url="https://github.com/ada/sparse")
        PaperSignals.objects.create(paper=paper, repository=repository)
    Paper.objects.filter(pk=made[5].pk).update(is_hidden=True)
    return made


@pytest.fixture
def members(db, papers):
    mia = verified(UserFactory(username="mia"))
    otto = verified(UserFactory(username="otto"))
    for paper in papers[:6]:
        VoteFactory(user=mia, paper=paper)
    for paper in papers[4:9]:
        VoteFactory(user=otto, paper=paper)
    for paper in papers[1:10:2]:
        SavedPaper.objects.create(user=mia, paper=paper)
    return mia, otto


def _rows(rows) -> list:
    return [{k: v for k, v in vars(row).items() if k != "source"} for row in rows]


def _the_orm_s(queryset, also=()) -> list:
    """What cards.Deferred reads of the queryset the ORM builds (no compiled query)."""
    return _rows(cards.Deferred(queryset, also)[:])


def _viewers(members):
    from django.contrib.auth.models import AnonymousUser

    return [AnonymousUser(), *members]


LISTS = [
    (period_papers, {"first": TODAY, "last": TODAY}),
    (period_papers, {"first": TODAY - dt.timedelta(days=6), "last": TODAY}),
    (period_papers, {"first": dt.date(2026, 11, 1), "last": dt.date(2026, 11, 30)}),
    (trending_papers, {"since": TODAY - dt.timedelta(days=1)}),
    (new_papers, {}),
]


@pytest.mark.parametrize("has_code", [False, True])
@pytest.mark.parametrize(("build", "values"), LISTS)
def test_a_compiled_list_reads_what_the_orm_reads_for_every_viewer(
    members, build, values, has_code
):
    for viewer in _viewers(members):
        given = {"user": viewer, "has_code": has_code, **values}
        described = cards.Described(build, **given)
        expected = _the_orm_s(build(**given))
        assert _rows(described[:]) == expected
        assert described.count() == build(**given).count() == len(expected)
        assert _rows(described[1:3]) == expected[1:3]
        assert _rows(described[2:]) == expected[2:]


def test_the_viewers_state_is_each_viewers_own(members, papers):
    mia, otto = members
    day = {"first": TODAY, "last": TODAY, "has_code": False}
    by_mia = {r.pk: r for r in cards.Described(period_papers, user=mia, **day)[:]}
    by_otto = {r.pk: r for r in cards.Described(period_papers, user=otto, **day)[:]}
    # The same compiled query, each member's id put in.
    assert {pk for pk, r in by_mia.items() if r.user_has_voted} == {p.pk for p in papers[:4]}
    assert not any(r.user_has_voted for r in by_otto.values())
    assert {pk for pk, r in by_mia.items() if r.user_has_saved} == {papers[1].pk, papers[3].pk}


def test_saved_papers_and_authors_lists_read_what_the_orm_reads(members, papers):
    mia, _ = members
    also = ("arxiv_id", "saved_at", "read_at")
    ids = [p.pk for p in papers[1:10:2]]
    described = cards.Described(_saved_by, also=also, user=mia).among(ids, also)
    assert _rows(described[:]) == _the_orm_s(_saved_by(mia).filter(pk__in=ids), also)

    author = Author.objects.get(name="Ada One")
    assert Paper.objects.ids_by_author_newest(author) == list(
        Paper.objects.visible().by_author(author).newest().values_list("pk", flat=True)
    )
    assert cards.rows_in_order(cards.listed(mia), []) == []


def test_days_and_their_neighbours_are_the_orms(papers):
    assert Paper.objects.latest_day() == TODAY
    assert Paper.objects.neighbour_days(TODAY, TODAY) == (TODAY - dt.timedelta(days=1), None)
    middle = TODAY - dt.timedelta(days=1)
    assert Paper.objects.neighbour_days(middle, middle) == (TODAY - dt.timedelta(days=2), TODAY)
    # A filtered queryset keeps to its own papers.
    assert Paper.objects.filter(daily_date__lt=TODAY).latest_day() == middle
    Paper.objects.update(daily_date=None)
    assert Paper.objects.latest_day() is None
    assert Paper.objects.neighbour_days(TODAY, TODAY) == (None, None)


def _compilations(monkeypatch) -> list:
    made = []
    original = compiled.CompiledQuery.__init__

    def counting(self, queryset, *args, **kwargs):
        made.append(str(queryset.query)[:60])
        original(self, queryset, *args, **kwargs)

    monkeypatch.setattr(compiled.CompiledQuery, "__init__", counting)
    return made


@pytest.mark.parametrize(
    "url", ["/", "/papers/date/2026-12-03/", "/papers/week/2026-W49/", "/trending/", "/new/"]
)
def test_a_list_page_compiles_its_queries_once_and_sends_no_stand_in(
    client, members, monkeypatch, url
):
    mia, otto = members
    compiled.forget()
    made = _compilations(monkeypatch)
    client.force_login(mia)
    assert client.get(url).status_code == 200
    first = len(made)
    assert first >= 1  # the page's rows, and the count and the days where it has them
    for who in (otto, mia):
        client.force_login(who)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        sent = " ".join(q["sql"] for q in queries.captured_queries)
        assert "-7000001" not in sent and "1001-01-01" not in sent
        assert str(who.pk) in sent
    assert len(made) == first  # the same shapes: nothing compiled again
    client.logout()
    assert client.get(url).status_code == 200
    assert len(made) > first  # signed out is a shape of its own
    assert client.get(url + "?has_code=1").status_code == 200


def test_pages_of_a_list_take_their_own_values(client, members, settings):
    settings.PAPERS_PER_PAGE = 2
    client.force_login(members[0])
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/papers/week/2026-W49/?page={page}").content.decode()
        seen.append([p.pk for p in Paper.objects.all() if f'id="paper-{p.pk}"' in html])
    assert all(len(s) == 2 for s in seen[:2])
    assert len({pk for s in seen for pk in s}) == sum(len(s) for s in seen)


def test_a_shape_takes_booleans_and_anonymous_viewers_as_its_form(members):
    from django.contrib.auth.models import AnonymousUser

    mia, otto = members
    shape = compiled._shape_of
    assert shape({"user": mia, "day": TODAY})[0] == shape({"user": otto, "day": TODAY})[0]
    assert shape({"user": mia})[0] != shape({"user": AnonymousUser()})[0]
    assert shape({"has_code": True})[0] != shape({"has_code": False})[0]
    assert shape({"pks": [1, 2]})[0] != shape({"pks": [1, 2, 3]})[0]
    _, standins, replaced, real = shape({"user": mia, "first": TODAY, "pks": [7, 8]})
    assert real == {"user": mia.pk, "first": TODAY, "pks.0": 7, "pks.1": 8}
    assert replaced["user"].pk < 0 and replaced["first"].year == 1001
    assert set(standins.values()) == {"user", "first", "pks.0", "pks.1"}


def test_a_vote_shows_on_the_next_compiled_page(client, members, papers):
    mia, _ = members
    client.force_login(mia)
    paper = papers[8]
    url = reverse("papers:day", args=[paper.daily_date.isoformat()])
    assert f'id="paper-{paper.pk}"' in client.get(url).content.decode()
    client.post(reverse("papers:vote", args=[paper.arxiv_id]), {"action": "up"})
    page = client.get(url).content.decode()
    card = page[page.index(f'id="paper-{paper.pk}"') :]
    assert 'aria-pressed="true"' in card[: card.index("</article>")]


def _titled_like(words):
    return Paper.objects.filter(title__icontains=words).values_list("pk")


def test_a_value_the_orm_changes_on_its_way_to_the_query_is_refused_when_compiled(db):
    # title__icontains sends "%words%": the stand-in is nowhere among the parameters,
    # and the query would have run with it.
    with pytest.raises(ValueError, match="no parameter holds"):
        compiled.shaped(_titled_like, words="attention")


@pytest.fixture
def worded(db):
    """Papers to search by words, one of them hidden."""
    titles = [
        "Sparse attention for long documents",
        "Graph networks with attention",
        "Sparse graph partitioning",
        "Attention is sparse in vision transformers",
        "Hidden sparse attention",
    ]
    made = [
        PaperFactory(title=title, published_at=timezone.now() - dt.timedelta(days=n))
        for n, title in enumerate(titles)
    ]
    Paper.objects.filter(pk=made[-1].pk).update(is_hidden=True)
    return made


@pytest.mark.parametrize("newest", [False, True])
@pytest.mark.parametrize(
    "query", ["attention", '"sparse attention"', "sparse -graph", "graph or vision", "zzyzx"]
)
def test_words_matched_everywhere_by_compiled_sql_are_the_orms_matches(worded, query, newest):
    from search import matching

    compiled_ids = matching.search_ids(None, query, newest)
    assert compiled_ids == matching.search_ids(Paper.objects.all(), query, newest)
    assert worded[-1].pk not in compiled_ids


@pytest.mark.parametrize("top", [1, 2, 3, 10])
@pytest.mark.parametrize("query", ["attention", "sparse", "graph or vision or sparse"])
def test_the_best_matches_ranked_by_the_database_are_the_first_of_all_matches(worded, query, top):
    from search import matching

    # Equal ranks (the same words in the same place) are broken by upvotes, then id,
    # as search_ids sorts them: some ties and upvotes to break them.
    Paper.objects.filter(pk=worded[2].pk).update(upvote_count=5)
    everything = matching.search_ids(None, query)
    assert len(everything) >= 2
    assert matching.search_ids(None, query, top=top) == everything[:top]
    assert matching.search_ids(Paper.objects.all(), query, top=top) == everything[:top]


def test_a_search_compiles_its_queries_once_and_sends_no_stand_in(client, worded, monkeypatch):
    compiled.forget()
    made = _compilations(monkeypatch)
    for query in ("documents", "vision", "documents"):  # then its cards are seen lately
        assert client.get(f"/search/?q={query}").status_code == 200
    first = len(made)
    assert first >= 2  # the words' matches and the results' rows
    for query in ("documents", "vision"):  # each finds one paper: the same shapes
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/search/?q={query}")
        assert len(response.context["page"].object_list) == 1
        sent = " ".join(q["sql"] for q in queries.captured_queries)
        assert "stand-in" not in sent and "-7000001" not in sent
        assert f"'{query}'" in sent
    assert len(made) == first


def _visible_of(pks):
    return Paper.objects.visible().filter(pk__in=compiled.unnested(pks)).values_list("pk")


def test_ids_sent_as_one_array_make_one_shape_for_any_number(papers, monkeypatch):
    compiled.forget()
    made = _compilations(monkeypatch)
    every = [paper.pk for paper in papers]
    for some in (every[:2], every, every[3:9]):
        with CaptureQueriesContext(connection) as queries:
            found = [row[0] for row in compiled.shaped(_visible_of, pks=compiled.Ids(some)).rows()]
        assert sorted(found) == sorted(
            Paper.objects.visible().filter(pk__in=some).values_list("pk", flat=True)
        )
        assert papers[5].pk not in found  # the hidden one (the fixture hides it)
        assert "-7000001" not in queries.captured_queries[0]["sql"]
    assert len(made) == 2  # the check and the query, once for all three
