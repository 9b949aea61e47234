"""The arXiv API (Atom): reading both formats, paging, politeness, errors, and the
upsert rules every source shares (idempotency, versions, authors, text)."""

import datetime as dt
import re

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ingest import arxiv
from ingest.locks import source_lock
from ingest.records import TransientSourceError
from ingest.upsert import ingest
from papers.models import Author, Authorship, Paper

from .recorded_http import FIXTURES, RecordedServer, fixture_text

API = "arxiv-api/2026/"
PAGES = {
    "0": "q_testing_s0_m10_bc5a6c384fe9.xml",
    "10": "q_testing_s10_m10_34e56e15aaac.xml",
    "20": "q_testing_s20_m10_348a237fecab.xml",
    "30": "q_testing_s30_m10_f2e39f0143dc.xml",
    "40": "q_testing_s40_m10_96dd32eb854c.xml",
    "50": "q_testing_s50_m10_7f488ab8598c.xml",
}
EMPTY = API + "id_0000.0000_s0_m100_8b51d9633a68.xml"
ERROR_400 = API + "id_abc_s0_m100_b79c8dcf6bc3.xml"


@pytest.fixture
def api(db, settings):
    with RecordedServer() as server:
        settings.ARXIV_API_URL = f"{server.url}/api/query"
        settings.ARXIV_REQUEST_INTERVAL = 0
        yield server


def read(name):
    return ingest(arxiv.read_file(FIXTURES / name))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- Reading ---------------------------------------------------------------------------


def test_it_reads_the_current_format(db):
    result = read(API + PAGES["0"])

    assert (result.created, result.failed) == (10, 0)
    paper = Paper.objects.get(arxiv_id="2202.12139")
    assert paper.title == (
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    )
    assert paper.version == 1
    assert paper.primary_category == "cs.SE"
    assert paper.categories == ["cs.SE", "cs.LG"]
    assert paper.doi == "10.1109/ICSTW55395.2022.00035"
    assert paper.journal_ref.startswith("Artificial Intelligence in Software Testing @ 2022")
    assert paper.comments == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert paper.published_at == dt.datetime(2022, 2, 24, 15, 5, 19, tzinfo=dt.UTC)
    assert paper.daily_date is None  # indexed, not featured
    names = list(paper.authorships.order_by("position").values_list("author__name", flat=True))
    assert names == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert paper.author_names == "Mohit Kumar Ahuja, Arnaud Gotlieb, Helge Spieker"
    assert paper.author_count == 3


def test_it_reads_the_2016_format_and_undoes_its_hard_wraps(db):
    result = read("arxiv-api/2016/search_query=au_del_maestro.xml")

    assert (result.created, result.failed) == (10, 0)
    paper = Paper.objects.get(arxiv_id="1201.4869")
    assert paper.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    assert paper.abstract.startswith("As helium-4 is cooled below 2.17 K it undergoes a phase")
    assert "\n" not in paper.abstract and "  " not in paper.abstract
    assert paper.primary_category == "cond-mat.mes-hall"
    assert paper.doi == "10.1142/S021797921244002X"
    old = Paper.objects.get(arxiv_id="cond-mat/0412498")
    assert old.is_old_style


def test_paragraph_breaks_survive_and_non_ascii_is_kept(db):
    read(API + PAGES["40"])

    paper = Paper.objects.get(arxiv_id="2007.09895")
    first, second = paper.abstract.split("\n")[:2]
    assert first.startswith("Recently, there has been significant work studying")
    assert second.startswith("First, we prove that tolerant uniformity testing")
    # LaTeX and Unicode as arXiv sent them.
    assert r"$\tilde{O}(\varepsilon^{-2})$" in paper.abstract
    assert r"$\tildeΘ(\sqrt{\log N} \cdot \varepsilon^{-2})$" in paper.abstract


def test_old_style_ids_keep_their_archive_and_authors_their_affiliations(db):
    read(API + "id_astro-ph_0601001_s0_m100_3150dca9dc76.xml")

    paper = Paper.objects.get(arxiv_id="astro-ph/0601001")
    assert paper.title.startswith("Frequency of Hot Jupiters and Very Hot Jupiters")
    assert "V_max<17.5" in paper.abstract  # &lt; in the XML, plain text here
    assert paper.source["arxiv"]["affiliations"][0] == ["Andrew Gould", "Ohio State"]


# --- Fetching -----------------------------------------------------------------------------


def test_it_pages_through_a_query_by_category_and_date(api, settings):
    settings.ARXIV_PAGE_SIZE = 10
    for start, name in PAGES.items():
        api.add("/api/query", file=API + name, when={"start": start})
    api.add("/api/query", file=EMPTY)

    result = ingest(arxiv.fetch_new(["cs.LG", "cs.CL"], dt.date(2026, 11, 20)))

    assert (result.created, result.failed) == (60, 0)
    requests = api.requests_to("/api/query")
    assert [r.params["start"] for r in requests] == ["0", "10", "20", "30", "40", "50", "60"]
    query = requests[0].params
    assert query["max_results"] == "10"
    assert query["sortBy"] == "submittedDate"
    today = timezone.now().date()
    assert query["search_query"] == (
        f"(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202611200000 TO {today:%Y%m%d}2359]"
    )
    agent = requests[0].headers["User-Agent"]
    assert agent.startswith("Daily Papers/") and "mailto:" in agent


def test_paging_stops_at_total_results(api, settings):
    # A page whose totalResults says there is nothing after it.
    page = fixture_text(API + PAGES["0"]).replace(
        "<opensearch:totalResults>214881</opensearch:totalResults>",
        "<opensearch:totalResults>10</opensearch:totalResults>",
    )
    api.add("/api/query", body=page)

    result = ingest(arxiv.fetch_new(["cs.LG"], dt.date(2026, 11, 20)))

    assert result.created == 10
    assert len(api.requests_to("/api/query")) == 1


def test_it_waits_between_requests(api, settings):
    settings.ARXIV_REQUEST_INTERVAL = 0.4
    for start, name in list(PAGES.items())[:2]:
        api.add("/api/query", file=API + name, when={"start": start})
    api.add("/api/query", file=EMPTY)

    ingest(arxiv.fetch_new(["cs.LG"], dt.date(2026, 11, 20)))

    times = [r.at for r in api.requests_to("/api/query")]
    assert len(times) == 3
    assert all(later - earlier >= 0.38 for earlier, later in zip(times, times[1:], strict=False))


def test_a_503_with_retry_after_is_waited_out(api):
    api.add("/api/query", status=503, headers={"Retry-After": "1"}, body="busy", times=1)
    api.add("/api/query", file=API + "id_1707.08567_s0_m100_6a1afebfc6a3.xml")

    result = ingest(arxiv.fetch_ids(["1707.08567"]))

    assert result.created == 1
    first, second = api.requests_to("/api/query")
    assert second.at - first.at >= 1


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_overload_and_server_errors_are_transient_and_keep_earlier_pages(api, settings, status):
    settings.ARXIV_PAGE_SIZE = 10
    api.add("/api/query", file=API + PAGES["0"], when={"start": "0"})
    api.add("/api/query", status=status, body="try later")

    with pytest.raises(TransientSourceError) as raised:
        ingest(arxiv.fetch_new(["cs.LG"], dt.date(2026, 11, 20)))

    assert f"HTTP {status}" in str(raised.value)
    assert raised.value.partial_result.created == 10
    assert Paper.objects.count() == 10


def test_a_stalled_server_times_out(api, settings):
    settings.INGEST_HTTP_TIMEOUT = 0.5
    api.add("/api/query", file=EMPTY, delay=3)

    with pytest.raises(httpx.TimeoutException):
        ingest(arxiv.fetch_ids(["1707.08567"]))


def test_the_http_400_error_feed_is_reported_in_arxivs_words(api):
    api.add("/api/query", file=ERROR_400, status=400)

    result = ingest(arxiv.fetch_ids(["abc"]))

    assert result.failed == 1
    assert "arXiv API error: incorrect id format for abc" in result.errors[0]
    assert Paper.objects.count() == 0


def test_an_id_list_drops_a_bad_id_and_keeps_the_good_one(api):
    api.add("/api/query", file=API + "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.xml")

    result = ingest(arxiv.fetch_ids(["0808.05394", "1707.08567"]))

    assert (result.created, result.failed) == (1, 0)
    assert api.requests_to("/api/query")[0].params["id_list"] == "0808.05394,1707.08567"


# --- The commands ------------------------------------------------------------------------


def test_the_command_reads_saved_responses_and_sums_up(db, capsys):
    call_command(
        "ingest_arxiv",
        "--file",
        str(FIXTURES / API / PAGES["0"]),
        "--file",
        str(FIXTURES / API / PAGES["10"]),
    )

    out = capsys.readouterr()
    assert "arXiv API: 20 created / 0 updated / 0 unchanged / 0 failed" in out.out
    assert "papers" in out.err  # the progress bar


def test_the_command_fails_on_the_error_feed(db, capsys):
    with pytest.raises(CommandError, match="1 record"):
        call_command("ingest_arxiv", "--file", str(FIXTURES / ERROR_400))

    assert "incorrect id format for abc" in capsys.readouterr().err


def test_the_command_fetches_by_category_and_since(api, capsys):
    api.add("/api/query", file=API + "id_astro-ph_0601001_s0_m100_3150dca9dc76.xml", times=1)
    api.add("/api/query", file=EMPTY)

    call_command("ingest_arxiv", "--category", "astro-ph", "--since", "2026-11-01")

    query = api.requests_to("/api/query")[0].params["search_query"]
    assert query.startswith("(cat:astro-ph) AND submittedDate:[202611010000 TO ")
    assert "1 created" in capsys.readouterr().out


def test_the_command_reports_an_unreachable_source(db, settings, capsys):
    settings.ARXIV_API_URL = "http://127.0.0.1:9/api/query"  # nothing listens on port 9
    settings.ARXIV_REQUEST_INTERVAL = 0

    with pytest.raises(CommandError):
        call_command("ingest_arxiv", "--category", "cs.LG")

    assert "arXiv API is unavailable" in capsys.readouterr().err


# --- Bad input -------------------------------------------------------------------------------


def test_a_truncated_feed_keeps_the_complete_entries(db, tmp_path, capsys):
    text = fixture_text(API + PAGES["0"])
    entries = [m.start() for m in re.finditer("<entry>", text)]
    path = write(tmp_path, "truncated.xml", text[: entries[5] + 900])  # inside the 6th

    with pytest.raises(CommandError):
        call_command("ingest_arxiv", "--file", str(path))

    # Five whole entries stored; the sixth, cut in its abstract, not half-written.
    assert Paper.objects.count() == 5
    sixth = re.findall(r"<id>http://arxiv.org/abs/([^<]+)</id>", text)[5]
    assert not Paper.objects.filter(arxiv_id=sixth.split("v")[0]).exists()
    err = capsys.readouterr().err
    assert "truncated.xml: malformed XML at line" in err
    assert f"in entry {sixth}; the entry was skipped" in err


def test_a_broken_entry_in_the_middle_fails_alone(db, tmp_path):
    text = fixture_text(API + PAGES["0"])
    # A stray "&" (a common hand-edit and proxy error) breaks the third entry.
    broken = text.replace(
        "<title>Active Fuzzing for Testing", "<title>Active Fuzzing & for Testing", 1
    )

    result = ingest(arxiv.read_file(write(tmp_path, "broken.xml", broken)))

    assert result.created == 9
    assert result.failed == 1
    assert "in entry 2005.14124v2" in result.errors[0]
    assert not Paper.objects.filter(arxiv_id="2005.14124").exists()


def test_an_entry_without_a_title_fails_alone(db, tmp_path):
    text = fixture_text(API + PAGES["0"])
    title = (
        "<title>Towards Explainable Test Case Prioritisation with Learning-to-Rank Models</title>"
    )
    path = write(tmp_path, "no-title.xml", text.replace(title, ""))

    result = ingest(arxiv.read_file(path))

    assert (result.created, result.failed) == (9, 1)
    assert "entry 2 (2405.13786v1): entry has no <title>" in result.errors[0]
    assert not Paper.objects.filter(arxiv_id="2405.13786").exists()


def test_something_that_is_not_a_feed_is_refused(db, tmp_path):
    path = write(tmp_path, "page.html", "<html><body>Rate limited</body></html>")

    result = ingest(arxiv.read_file(path))

    assert result.failed == 1
    assert "not an Atom feed" in result.errors[0]


# --- Upsert rules -----------------------------------------------------------------------------


def test_the_same_input_twice_changes_nothing(db):
    read(API + PAGES["0"])
    before = dict(Paper.objects.values_list("arxiv_id", "modified_at"))
    authorships = list(Authorship.objects.order_by("pk").values_list("pk", flat=True))

    again = read(API + PAGES["0"])

    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert dict(Paper.objects.values_list("arxiv_id", "modified_at")) == before
    assert list(Authorship.objects.order_by("pk").values_list("pk", flat=True)) == authorships


def _as_version_1(text: str, arxiv_id: str) -> str:
    """The entry for arxiv_id as its v1 looked: older title, abstract and dates."""
    start = text.index(f"<id>http://arxiv.org/abs/{arxiv_id}v2</id>")
    end = text.index("</entry>", start)
    entry = text[start:end]
    old = (
        entry.replace(f"{arxiv_id}v2", f"{arxiv_id}v1")
        .replace("<title>", "<title>Draft: ", 1)
        .replace("<summary>", "<summary>Preliminary version. ", 1)
    )
    old = re.sub(r"<updated>[^<]+</updated>", "<updated>2020-05-28T00:00:00Z</updated>", old)
    return text[:start] + old + text[end:]


def test_a_newer_version_updates_title_abstract_version_and_dates(db, tmp_path):
    text = fixture_text(API + PAGES["0"])
    read_v1 = write(tmp_path, "v1.xml", _as_version_1(text, "2005.14124"))
    ingest(arxiv.read_file(read_v1))
    paper = Paper.objects.get(arxiv_id="2005.14124")
    assert (paper.version, paper.title[:7]) == (1, "Draft: ")

    result = read(API + PAGES["0"])

    assert (result.updated, result.unchanged) == (1, 9)
    paper.refresh_from_db()
    assert paper.version == 2
    assert paper.title == "Active Fuzzing for Testing and Securing Cyber-Physical Systems"
    assert not paper.abstract.startswith("Preliminary")
    assert paper.updated_at == dt.datetime(2020, 7, 16, 8, 15, 48, tzinfo=dt.UTC)

    # The older version arriving late changes nothing.
    late = ingest(arxiv.read_file(read_v1))
    assert late.unchanged == 10
    paper.refresh_from_db()
    assert paper.version == 2 and not paper.title.startswith("Draft")


def test_authors_are_matched_by_normalised_name_and_kept_in_order(db, tmp_path):
    text = fixture_text(API + "id_1707.08567_s0_m100_6a1afebfc6a3.xml")
    read(API + "id_1707.08567_s0_m100_6a1afebfc6a3.xml")
    first = list(
        Paper.objects.get(arxiv_id="1707.08567").authorships.values_list("author", flat=True)
    )

    # Another paper by two of them, spelt differently, in another order.
    other = (
        text.replace("1707.08567", "1707.09999")
        .replace("Kees A. Schouhamer Immink", "KEES A SCHOUHAMER-IMMINK")
        .replace("Stan Baggen", "Stan  Baggen")
    )
    names = re.findall(r"<name>([^<]+)</name>", other)
    swapped = other.replace(f"<name>{names[0]}</name>", "<name>@@</name>", 1)
    swapped = swapped.replace(f"<name>{names[1]}</name>", f"<name>{names[0]}</name>", 1)
    swapped = swapped.replace("<name>@@</name>", f"<name>{names[1]}</name>", 1)
    ingest(arxiv.read_file(write(tmp_path, "other.xml", swapped)))

    second = Paper.objects.get(arxiv_id="1707.09999")
    ordered = list(second.authorships.order_by("position").values_list("author", flat=True))
    assert ordered[:2] == [first[1], first[0]]
    assert Author.objects.count() == len(first)
    assert second.author_names.startswith("Stan Baggen, KEES A SCHOUHAMER-IMMINK")


def test_new_papers_in_daily_categories_join_the_list_and_keep_their_day(db, settings):
    settings.DAILY_CATEGORIES = ["cs.SE"]
    settings.DAILY_NEW_DAYS = 100 * 365  # the recorded papers are from 2019-2024

    read(API + PAGES["0"])

    featured = Paper.objects.get(arxiv_id="2202.12139")  # cs.SE
    assert featured.daily_date == dt.date(2022, 2, 24)
    assert Paper.objects.get(arxiv_id="1205.1866").daily_date is None  # cs.AR

    # Re-ingesting never clears or moves the day.
    settings.DAILY_CATEGORIES = []
    read(API + PAGES["0"])
    featured.refresh_from_db()
    assert featured.daily_date == dt.date(2022, 2, 24)


def test_by_default_no_category_joins_the_daily_list(db, settings):
    settings.DAILY_NEW_DAYS = 100 * 365

    read(API + PAGES["0"])

    assert not Paper.objects.filter(daily_date__isnull=False).exists()


def test_code_and_project_links_are_picked_out_of_abstract_and_comments(db):
    read(API + PAGES["40"])

    assert (
        Paper.objects.get(arxiv_id="1706.00679").code_url
        == "https://github.com/ydecastro/super-resolution-testing"
    )
    assert Paper.objects.get(arxiv_id="2507.10541").project_url == (
        "https://opendatalab.github.io/REST"
    )
    assert Paper.objects.get(arxiv_id="2202.09076").code_url == ""


def test_the_source_lock_lets_one_run_fetch_a_window(db):
    with source_lock("arxiv:cs.LG:2026-11-20") as first:
        with source_lock("arxiv:cs.LG:2026-11-20") as second:
            assert (first, second) == (True, False)
        with source_lock("arxiv:cs.CL:2026-11-20") as other_window:
            assert other_window is True
    with source_lock("arxiv:cs.LG:2026-11-20") as later:
        assert later is True
