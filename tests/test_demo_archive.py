"""The demo's archive: 3,403 real papers from two years of Hugging Face daily lists,
loaded by `load_demo` through the Hugging Face reader and the ingestion upsert."""

import datetime as dt
import gzip
import io
import json

from django.core.management import call_command
from django.utils import timezone

from ingest import demo, demo_archive
from papers.models import Paper, Vote

from .factories import PaperFactory

# arXiv's metadata and Hugging Face's counts and links: no user, avatar or organisation.
PAPER_FIELDS = {
    "id",
    "title",
    "summary",
    "publishedAt",
    "authors",
    "upvotes",
    "githubRepo",
    "githubStars",
    "projectPage",
    "ai_keywords",
}


def _load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", verbosity=0, stdout=out)
    return out.getvalue()


def _write_archive(path, rows):
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
    return path


def _row(day: dt.date, arxiv_id: str, upvotes: int) -> dict:
    return {
        "date": day.isoformat(),
        "paper": {
            "id": arxiv_id,
            "title": f"Paper {arxiv_id}",
            "summary": "An abstract.",
            "publishedAt": f"{day.isoformat()}T00:00:00.000Z",
            "upvotes": upvotes,
            "authors": [{"name": "Ada Example"}],
        },
        "title": f"Paper {arxiv_id}",
        "publishedAt": f"{day.isoformat()}T06:00:00.000Z",
        "numComments": 0,
    }


def test_a_demo_loaded_before_the_archive_gets_it_once_on_the_next_run(db):
    demo.load()
    before = Paper.objects.count()

    output = _load_demo()

    assert "already loaded" in output
    assert "Demo archive loaded: 3403 papers" in output
    assert Paper.objects.count() == before + 3403
    # Each paper is on its own day's list, six a day, ranked in Hugging Face's order.
    day = Paper.objects.featured().filter(daily_date=dt.date(2026, 8, 21))
    assert day.count() == 6
    ranked = list(day.ranked())
    hf_upvotes = [p.source["hf"]["paper"]["upvotes"] for p in ranked]
    assert hf_upvotes == sorted(hf_upvotes, reverse=True)
    assert ranked[0].arxiv_id == "2608.19880"
    assert ranked[0].code_url == "https://github.com/google-research/envharness"
    assert list(ranked[0].authorships.values_list("author__name", flat=True)[:2]) == [
        "Chengsong Huang",
        "Zifeng Wang",
    ]
    # The counts are the votes' own.
    for paper in ranked:
        assert paper.upvote_count == Vote.objects.filter(paper=paper).count() > 0
    # The Python-repr days of December 2024 are read too.
    assert Paper.objects.filter(daily_date=dt.date(2024, 12, 20)).count() == 6

    papers, votes = Paper.objects.count(), Vote.objects.count()
    again = _load_demo()
    assert "Demo archive" not in again
    assert (Paper.objects.count(), Vote.objects.count()) == (papers, votes)


def test_the_archive_keeps_no_hugging_face_user_data():
    with gzip.open(demo_archive.ARCHIVE_FILE, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    assert len(rows) == 3403
    assert len({row["paper"]["id"] for row in rows}) == 3403
    for row in rows:
        assert set(row) <= {"date", "paper", "title", "publishedAt", "numComments"}
        assert set(row["paper"]) <= PAPER_FIELDS
        assert all(set(author) == {"name"} for author in row["paper"]["authors"])


def test_a_database_holding_other_papers_gets_neither_demo_nor_archive(db):
    PaperFactory()

    output = _load_demo()

    assert "not loaded" in output
    assert Paper.objects.count() == 1


def test_days_inside_the_demos_two_weeks_are_left_to_the_demo(db, tmp_path):
    today = timezone.localdate()
    path = _write_archive(
        tmp_path / "papers.jsonl.gz",
        [
            _row(today - dt.timedelta(days=30), "2601.00001", 40),
            _row(today - dt.timedelta(days=30), "2601.00002", 4),
            _row(today - dt.timedelta(days=3), "2601.00003", 90),
        ],
    )
    assert demo_archive.archive_ids(path) == ["2601.00001", "2601.00002"]
    assert not demo_archive.is_loaded(path)

    result, votes = demo_archive.load(path)

    assert result.created == 2 and result.failed == 0
    assert set(Paper.objects.values_list("arxiv_id", "daily_date")) == {
        ("2601.00001", today - dt.timedelta(days=30)),
        ("2601.00002", today - dt.timedelta(days=30)),
    }
    top, other = Paper.objects.order_by("arxiv_id")
    assert top.upvote_count == len(demo.USERS) and 0 < other.upvote_count < top.upvote_count
    assert votes == top.upvote_count + other.upvote_count
    assert demo_archive.is_loaded(path)
    # A second load writes nothing new.
    result, added = demo_archive.load(path)
    assert (result.created, result.updated, result.unchanged, added) == (0, 0, 2, 0)
    assert Vote.objects.count() == votes
