"""The JSON API: /api/daily_papers and /api/papers/<id>, in Hugging Face's field names."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from papers.models import Paper

from .factories import PaperFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def get_json(client, url, params=None, status=200):
    response = client.get(url, params or {})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def with_votes(paper, n):
    Paper.objects.filter(pk=paper.pk).update(upvote_count=n)
    return paper


def test_daily_papers_without_parameters_is_the_latest_day_most_upvoted_first(client):
    PaperFactory(title="Yesterday", daily_date=TODAY - dt.timedelta(days=1))
    with_votes(PaperFactory(title="Second"), 2)
    with_votes(PaperFactory(title="First"), 7)

    items = get_json(client, "/api/daily_papers")

    assert [item["title"] for item in items] == ["First", "Second"]


def test_an_item_has_hugging_faces_field_names_for_what_we_have(client):
    submitter = UserFactory(username="sam", display_name="Sam Submitter", password="!")
    paper = PaperFactory(
        arxiv_id="2410.17243",
        title="Breaking the Memory Barrier:\n  Near Infinite Batch Size",
        abstract="Contrastive loss is a powerful approach.",
        authors=["Zesen Cheng", "Hang Zhang"],
        published_at=dt.datetime(2024, 10, 22, 17, 59, 30, tzinfo=dt.UTC),
        daily_date=dt.date(2024, 10, 25),
        code_url="https://github.com/DAMO-NLP-SG/Inf-CLIP",
        project_url="https://example.org/inf-clip",
        submitted_by=submitter,
    )
    with_votes(paper, 64)

    [item] = get_json(client, "/api/daily_papers", {"date": "2024-10-25"})

    assert item == {
        "paper": {
            "id": "2410.17243",
            "authors": [{"name": "Zesen Cheng"}, {"name": "Hang Zhang"}],
            "publishedAt": "2024-10-22T17:59:30.000Z",
            "title": "Breaking the Memory Barrier:\n  Near Infinite Batch Size",
            "summary": "Contrastive loss is a powerful approach.",
            "upvotes": 64,
            "comments": 0,
            "submittedOnDailyAt": "2024-10-25T00:00:00.000Z",
            "submittedOnDailyBy": {"name": "sam", "fullname": "Sam Submitter"},
            "githubRepo": "https://github.com/DAMO-NLP-SG/Inf-CLIP",
            "projectPage": "https://example.org/inf-clip",
            "thumbnail": None,  # issue 13: none rendered yet
        },
        "publishedAt": "2024-10-25T00:00:00.000Z",
        "title": "Breaking the Memory Barrier: Near Infinite Batch Size",
        "summary": "Contrastive loss is a powerful approach.",
        "submittedBy": {"name": "sam", "fullname": "Sam Submitter"},
        "thumbnail": None,
    }


def test_optional_fields_we_lack_are_left_out(client):
    PaperFactory(code_url="", project_url="", submitted_by=None)
    [item] = get_json(client, "/api/daily_papers")
    assert "submittedBy" not in item
    assert not {"githubRepo", "projectPage", "submittedOnDailyBy"} & item["paper"].keys()


def test_week_and_month_select_their_papers(client):
    PaperFactory(title="In week 47", daily_date=dt.date(2026, 11, 16))
    PaperFactory(title="In week 48", daily_date=dt.date(2026, 11, 23))
    PaperFactory(title="In December", daily_date=dt.date(2026, 12, 1))

    week = get_json(client, "/api/daily_papers", {"week": "2026-W47"})
    month = get_json(client, "/api/daily_papers", {"month": "2026-11"})
    day = get_json(client, "/api/daily_papers", {"date": "2026-11-23"})
    empty = get_json(client, "/api/daily_papers", {"date": "2026-11-24"})

    assert [i["title"] for i in week] == ["In week 47"]
    assert sorted(i["title"] for i in month) == ["In week 47", "In week 48"]
    assert [i["title"] for i in day] == ["In week 48"]
    assert empty == []


def test_pages_are_limited_and_linked(client):
    for n in range(5):
        with_votes(PaperFactory(title=f"Paper {n}"), 10 - n)

    first = client.get("/api/daily_papers", {"limit": 2})
    last = client.get("/api/daily_papers", {"limit": 2, "p": 2})

    assert [i["title"] for i in json.loads(first.content)] == ["Paper 0", "Paper 1"]
    assert first["Link"] == '<http://testserver/api/daily_papers?limit=2&p=1>; rel="next"'
    assert [i["title"] for i in json.loads(last.content)] == ["Paper 4"]
    assert "Link" not in last


@pytest.mark.parametrize(
    "params, message",
    [
        ({"date": "2026-02-30"}, "is not a day of the calendar"),
        ({"date": "yesterday"}, "is not a date"),
        ({"week": "2026-W60"}, "2026 has no week 60"),
        ({"month": "2026-00"}, "has no month 0"),
        ({"date": "2026-11-20", "week": "2026-W47"}, "at most one of date, week and month"),
        ({"limit": "0"}, "limit must be a whole number from 1 to 100"),
        ({"limit": "many"}, "limit must be a whole number"),
        ({"p": "-1"}, "p must be a whole number"),
        ({"date": "\x00<script>"}, "is not a date"),
    ],
)
def test_bad_parameters_get_a_400_that_says_why(client, params, message):
    PaperFactory()
    body = get_json(client, "/api/daily_papers", params, status=400)
    assert message in body["error"]


@pytest.mark.parametrize("arxiv_id", ["2406.12345", "hep-th/9901001"])
def test_a_paper_by_id_in_either_style(client, arxiv_id):
    PaperFactory(arxiv_id=arxiv_id, authors=[f"Author {i}" for i in range(12)])

    paper = get_json(client, f"/api/papers/{arxiv_id}")

    assert paper["id"] == arxiv_id
    assert [a["name"] for a in paper["authors"]] == [f"Author {i}" for i in range(12)]
    assert paper["upvotes"] == 0


def test_a_missing_or_hidden_paper_is_a_json_404(client):
    hidden = PaperFactory(is_hidden=True)
    assert "error" in get_json(client, "/api/papers/2401.00001", status=404)
    assert "error" in get_json(client, f"/api/papers/{hidden.arxiv_id}", status=404)
    assert "error" in get_json(client, "/api/papers/not-an-id", status=404)


def test_hostile_text_is_inert_json(client):
    abstract = HOSTILE + " R&D &amp; <!-- -->"
    hostile = {"title": HOSTILE, "authors": [HOSTILE], "code_url": "javascript:alert(3)"}
    PaperFactory(abstract=abstract, **hostile)

    response = client.get("/api/daily_papers")

    assert b"<" not in response.content and b">" not in response.content
    assert b"&" not in response.content and b"\\u0026amp;" in response.content
    assert b"javascript:" not in response.content
    assert response["X-Content-Type-Options"] == "nosniff"
    [item] = json.loads(response.content)
    assert item["paper"]["title"] == HOSTILE and item["summary"] == abstract
    assert item["paper"]["authors"] == [{"name": HOSTILE}]


def test_the_api_is_readable_from_other_origins_and_refuses_writes(client):
    PaperFactory()
    assert client.get("/api/daily_papers")["Access-Control-Allow-Origin"] == "*"
    assert client.post("/api/daily_papers").status_code == 405


def test_the_query_count_does_not_grow_with_the_page(client, django_assert_num_queries):
    for _ in range(20):
        PaperFactory(authors=["Ada Lovelace", "Alan Turing"])
    # latest day, papers (with submitters), authors
    with django_assert_num_queries(3):
        client.get("/api/daily_papers")
