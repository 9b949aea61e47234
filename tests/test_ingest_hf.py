"""The Hugging Face daily papers API: both response shapes, featuring, links, the raw
record, and bad input."""

import copy
import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ingest import arxiv, hf
from ingest.records import TransientSourceError
from ingest.upsert import ingest
from papers.models import Paper

from .recorded_http import FIXTURES, RecordedServer, fixture_text

DAILY = "hf-daily-papers/daily_papers_2024-10-25.json"


def items():
    return json.loads(fixture_text(DAILY))


def current_shape(item, featured_at="2026-11-26T13:40:11.000Z"):
    """A 2024-shape item in the current shape (schema/api_get_daily_papers_response)."""
    item = copy.deepcopy(item)
    item["paper"] |= {
        "submittedOnDailyAt": featured_at,
        "submittedOnDailyBy": item.pop("submittedBy"),
        "githubRepo": "https://github.com/DAMO-NLP-SG/Inf-CLIP",
        "githubStars": 201,
        "projectPage": "https://damo-nlp-sg.github.io/Inf-CLIP/",
        "ai_summary": "Tiling the similarity matrix makes contrastive loss memory-light.",
    }
    return item


@pytest.fixture
def hub(db, settings):
    with RecordedServer() as server:
        settings.HF_DAILY_PAPERS_URL = f"{server.url}/api/daily_papers"
        yield server


def test_the_2024_shape_features_the_papers_on_the_lists_day(db):
    result = ingest(hf.read_file(FIXTURES / DAILY))

    assert (result.created, result.failed) == (29, 0)
    # No submittedOnDailyAt: each item's publishedAt is when it was put on the list.
    assert set(Paper.objects.values_list("daily_date", flat=True)) == {dt.date(2024, 10, 25)}
    paper = Paper.objects.get(arxiv_id="2410.17243")
    # Hard-wrapped in the response, one line here.
    assert paper.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert paper.author_names.split(", ")[:3] == ["Zesen Cheng", "Hang Zhang", "Kehan Li"]
    assert paper.author_count == 9
    assert paper.published_at == dt.datetime(2024, 10, 22, 17, 59, 30, tzinfo=dt.UTC)
    assert paper.source["hf"]["numComments"] == 3
    assert paper.source["hf"]["mediaUrls"][0].endswith(".png")


def test_a_date_given_for_the_2024_shape_is_the_day(db):
    ingest(hf.read_file(FIXTURES / DAILY, list_date=dt.date(2026, 11, 27)))

    assert set(Paper.objects.values_list("daily_date", flat=True)) == {dt.date(2026, 11, 27)}


def test_the_current_shape_gives_the_day_and_the_links(db):
    data = [current_shape(items()[0])]

    result = ingest(hf.parse(json.dumps(data)))

    assert result.created == 1
    paper = Paper.objects.get(arxiv_id="2410.17243")
    assert paper.daily_date == dt.date(2026, 11, 26)
    assert paper.code_url == "https://github.com/DAMO-NLP-SG/Inf-CLIP"
    assert paper.project_url == "https://damo-nlp-sg.github.io/Inf-CLIP/"
    assert paper.source["hf"]["paper"]["githubStars"] == 201


def test_links_found_in_the_abstract_fill_in(db):
    ingest(hf.read_file(FIXTURES / DAILY))

    assert Paper.objects.get(arxiv_id="2410.17779").code_url == (
        "https://github.com/Hao840/ADEM-VL"
    )
    assert Paper.objects.get(arxiv_id="2410.18505").code_url == (
        "https://huggingface.co/datasets/BAAI/CCI3-HQ"
    )


def test_a_featured_day_is_never_cleared_or_moved(db):
    ingest(hf.read_file(FIXTURES / DAILY))

    later = [current_shape(item, "2026-11-27T08:00:00.000Z") for item in items()[:3]]
    result = ingest(hf.parse(json.dumps(later)))

    assert result.updated == 3  # the links and the raw record are new
    assert set(Paper.objects.values_list("daily_date", flat=True)) == {dt.date(2024, 10, 25)}


def test_hugging_face_does_not_overwrite_arxivs_metadata(db):
    page = FIXTURES / "arxiv-api/2026/id_1707.08567_s0_m100_6a1afebfc6a3.xml"
    ingest(arxiv.read_file(page))
    before = Paper.objects.get(arxiv_id="1707.08567")
    item = copy.deepcopy(items()[0])
    item["paper"]["id"] = "1707.08567"
    item["paper"]["title"] = "A title as Hugging Face had it"

    ingest(hf.parse(json.dumps([item])))

    paper = Paper.objects.get(arxiv_id="1707.08567")
    assert paper.title == before.title
    assert paper.author_names == before.author_names
    # ... but it does feature the paper and keep its record.
    assert paper.daily_date == dt.date(2024, 10, 25)
    assert paper.source["hf"]["paper"]["title"] == "A title as Hugging Face had it"
    assert "arxiv" in paper.source


def test_a_withdrawn_paper_is_indexed_but_not_featured(db):
    item = current_shape(items()[1])
    item["paper"]["withdrawnAt"] = "2026-11-26T15:00:00.000Z"

    ingest(hf.parse(json.dumps([item])))

    assert Paper.objects.get(arxiv_id="2410.16251").daily_date is None


def test_it_fetches_the_days_list(hub):
    hub.add("/api/daily_papers", file=DAILY)

    result = ingest(hf.fetch(dt.date(2024, 10, 25)))

    assert result.created == 29
    (request,) = hub.requests_to("/api/daily_papers")
    assert request.params == {"date": "2024-10-25", "limit": "100", "p": "0"}


def test_a_429_is_transient(hub):
    hub.add("/api/daily_papers", status=429, body='{"error": "rate limited"}')

    with pytest.raises(TransientSourceError, match="HTTP 429"):
        ingest(hf.fetch(dt.date(2024, 10, 25)))


def test_an_http_404_is_reported_with_its_body(hub):
    hub.add("/api/daily_papers", status=404, body='{"error": "Invalid date"}')

    result = ingest(hf.fetch(dt.date(1999, 1, 1)))

    assert result.failed == 1
    assert "HTTP 404" in result.errors[0] and "Invalid date" in result.errors[0]


def test_the_command_reads_a_saved_list_with_its_date(db, capsys):
    call_command("ingest_hf_daily", "--file", str(FIXTURES / DAILY), "--date", "2026-11-20")

    assert "29 created / 0 updated / 0 unchanged / 0 failed" in capsys.readouterr().out
    assert Paper.objects.filter(daily_date=dt.date(2026, 11, 20)).count() == 29


def test_a_truncated_file_keeps_the_items_before_the_cut(db, tmp_path, capsys):
    text = fixture_text(DAILY)
    cut = text.index('"id":"2410.18693"')  # inside the fourth item
    path = tmp_path / "cut.json"
    path.write_text(text[:cut])

    with pytest.raises(CommandError):
        call_command("ingest_hf_daily", "--file", str(path))

    assert Paper.objects.count() == 3
    assert "cut.json: item 4: malformed JSON" in capsys.readouterr().err


def test_an_item_missing_fields_fails_alone(db):
    data = items()[:4]
    del data[1]["paper"]["title"], data[1]["title"]
    data[2]["paper"].pop("id")

    result = ingest(hf.parse(json.dumps(data), where="list.json"))

    assert (result.created, result.failed) == (2, 2)
    assert "list.json: item 2 (2410.16251): missing field 'paper.title'" in result.errors[0]
    assert "list.json: item 3: missing field 'paper.id'" in result.errors[1]


def test_an_item_of_unexpected_types_fails_alone(db):
    data = items()[:4]
    data[1]["paper"]["authors"] = [{"name": 42}]  # breaks the cleaning of names
    data[2]["paper"]["publishedAt"] = 1729814400  # breaks the reading of the item

    result = ingest(hf.parse(json.dumps(data), where="list.json"))

    assert (result.created, result.failed) == (2, 2)
    assert "list.json: item 2 (2410.16251): could not be read (TypeError" in result.errors[0]
    assert "list.json: item 3: could not be read (" in result.errors[1]
    assert Paper.objects.filter(arxiv_id=data[3]["paper"]["id"]).exists()


def test_something_other_than_a_list_is_refused(db):
    result = ingest(hf.parse('{"error": "Internal Error"}', where="reply"))

    assert result.failed == 1
    assert "Hugging Face daily papers error: Internal Error" in result.errors[0]


def test_html_in_a_title_is_sanitised_and_latex_kept(db):
    item = copy.deepcopy(items()[0])
    item["paper"]["title"] = (
        'Scaling <script>alert("x")</script><b>Contrastive</b> Loss for $k<n$ and $O(n^2)$'
    )

    ingest(hf.parse(json.dumps([item])))

    title = Paper.objects.get(arxiv_id="2410.17243").title
    assert title == "Scaling Contrastive Loss for $k<n$ and $O(n^2)$"
