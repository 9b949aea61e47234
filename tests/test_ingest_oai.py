"""arXiv OAI-PMH: both metadata formats, resumption tokens, 503 Retry-After, and the
repository's error replies."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ingest import oai
from ingest.models import HarvestCheckpoint
from ingest.records import TransientSourceError
from ingest.upsert import ingest
from papers.models import Paper

from .recorded_http import FIXTURES, RecordedServer, fixture_text

RAW = "arxiv-oai/arxivraw/"
ARXIV = "arxiv-oai/arxiv-format/"
RAW_PAGE = RAW + "ListRecordsResponse.xml"  # 6 records and resumptionToken 726959|1001
ARXIV_PAGE = ARXIV + "listrecords-hep-th-2017-12-14.xml"  # 3 records, no token


@pytest.fixture
def repository(db, settings):
    with RecordedServer() as server:
        settings.ARXIV_OAI_URL = f"{server.url}/oai2"
        settings.ARXIV_REQUEST_INTERVAL = 0
        yield server


def read(name):
    return ingest(oai.read_file(FIXTURES / name))


def test_it_reads_the_arxiv_format(db):
    result = read(ARXIV_PAGE)

    assert (result.created, result.failed) == (3, 0)
    paper = Paper.objects.get(arxiv_id="1607.01710")
    assert paper.title == (
        "Refinements of the Weyl pure geometrical thick branes from information-entropic measure"
    )
    assert paper.author_names == (
        "R. A. C. Correa, D. M. Dantas, P. H. R. S. Moraes, A. de Souza Dutra, C. A. S. Almeida"
    )
    assert paper.categories == ["hep-th"]
    assert paper.doi == "10.1002/andp.201700188"
    assert paper.published_at == dt.datetime(2016, 7, 6, tzinfo=dt.UTC)
    assert paper.updated_at == dt.datetime(2016, 10, 13, tzinfo=dt.UTC)
    assert paper.source["arxiv"]["license"] == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    spin = Paper.objects.get(arxiv_id="1507.07790")
    assert "spin-$1/2$ AB problem" in spin.abstract


def test_it_reads_the_version_history_of_arxivraw(db):
    read(RAW_PAGE)

    paper = Paper.objects.get(arxiv_id="0704.0716")
    assert paper.version == 4
    assert paper.published_at == dt.datetime(2007, 4, 5, 12, 45, 3, tzinfo=dt.UTC)
    assert paper.updated_at == dt.datetime(2008, 11, 14, 9, 7, 25, tzinfo=dt.UTC)
    assert [v["version"] for v in paper.source["arxiv"]["versions"]] == ["v1", "v2", "v3", "v4"]
    assert paper.source["arxiv"]["msc-class"] == "05A15, 05A16"
    # "A, B, and C" and "A and B" are split into names, in order.
    assert Paper.objects.get(arxiv_id="0704.0471").author_names == (
        "D.V. Shetty, S.J. Yennello, G.A. Souliotis"
    )
    assert Paper.objects.get(arxiv_id="0704.1109").author_count == 2
    assert "$^{11}$Be" in Paper.objects.get(arxiv_id="0704.1586").title


def test_a_record_without_a_namespace_is_still_read(db):
    result = read(ARXIV + "sample_arxiv_record0.xml")

    assert result.created == 1
    paper = Paper.objects.get(arxiv_id="1601.03238")
    assert paper.author_names.startswith("Planck Collaboration, Jieci Wang")


def test_it_follows_the_resumption_token(repository):
    repository.add("/oai2", file=RAW_PAGE, when={"metadataPrefix": "arXivRaw"})
    repository.add("/oai2", file=ARXIV_PAGE, when={"resumptionToken": "726959|1001"})

    result = ingest(
        oai.harvest(metadata_prefix="arXivRaw", from_date=dt.date(2014, 10, 1), set_spec="math")
    )

    assert (result.created, result.failed) == (9, 0)
    first, second = repository.requests_to("/oai2")
    assert first.params == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "from": "2014-10-01",
        "set": "math",
    }
    # OAI-PMH: a resumption token is sent alone.
    assert second.params == {"verb": "ListRecords", "resumptionToken": "726959|1001"}


def test_a_503_retry_after_is_honoured(repository):
    repository.add("/oai2", status=503, headers={"Retry-After": "1"}, body="busy", times=1)
    repository.add("/oai2", file=ARXIV_PAGE)

    result = ingest(oai.harvest(from_date=dt.date(2017, 12, 14)))

    assert result.created == 3
    first, second = repository.requests_to("/oai2")
    assert second.at - first.at >= 1
    assert first.params == second.params


def test_a_long_retry_after_is_left_to_the_task_retry(repository, settings):
    settings.INGEST_MAX_RETRY_AFTER = 30
    repository.add("/oai2", status=503, headers={"Retry-After": "3600"}, body="busy")

    with pytest.raises(TransientSourceError) as raised:
        ingest(oai.harvest())

    assert raised.value.retry_after == 3600
    assert len(repository.requests_to("/oai2")) == 1


def test_no_records_match_is_an_empty_result(repository):
    repository.add("/oai2", file=RAW + "ErrorResponseNoRecordsMatch.xml")

    result = ingest(oai.harvest(set_spec="moo"))

    assert (result.created, result.failed) == (0, 0)


@pytest.mark.parametrize(
    "reply, words",
    [
        ("ErrorResponseBadArgument.xml", "OAI-PMH badArgument: Verb 'ListRecords', illegal"),
        ("ErrorResponseBadVerb.xml", "OAI-PMH badVerb: Bad verb."),
        ("ErrorResponseIdDoesNotExist.xml", "OAI-PMH idDoesNotExist: Identifier"),
    ],
)
def test_repository_errors_are_reported_in_its_words(repository, reply, words):
    repository.add("/oai2", file=RAW + reply)

    result = ingest(oai.harvest())

    assert result.failed == 1
    assert words in result.errors[0]


def test_a_bad_resumption_token_keeps_the_pages_before_it(repository, capsys):
    repository.add("/oai2", file=RAW_PAGE, when={"metadataPrefix": "arXiv"})
    repository.add("/oai2", file=RAW + "ErrorResponseBadResumptionToken.xml")

    with pytest.raises(CommandError):
        call_command("ingest_oai", "--from", "2014-10-01", "--set", "math")

    assert Paper.objects.count() == 6
    captured = capsys.readouterr()
    assert "6 created / 0 updated / 0 unchanged / 1 failed" in captured.out
    assert "badResumptionToken" in captured.err


def test_an_http_400_with_an_oai_error_is_reported(repository):
    repository.add("/oai2", file=RAW + "ErrorResponseBadArgument.xml", status=400)

    result = ingest(oai.harvest())

    assert "badArgument" in result.errors[0] and "(HTTP 400)" in result.errors[0]


def test_the_command_reads_saved_responses(db, capsys):
    call_command(
        "ingest_oai", "--file", str(FIXTURES / RAW_PAGE), "--file", str(FIXTURES / ARXIV_PAGE)
    )

    assert "9 created / 0 updated / 0 unchanged / 0 failed" in capsys.readouterr().out


def test_a_truncated_page_keeps_its_whole_records(db, tmp_path):
    text = fixture_text(RAW_PAGE)
    cut = text.index("<record>", text.index("0704.1109")) + 300
    path = tmp_path / "cut.xml"
    path.write_text(text[:cut])

    result = ingest(oai.read_file(path))

    # 0704.0471, 0704.0716, 0704.0874, 0704.1109 are whole; 0704.1114 is cut.
    assert result.created == 4
    assert result.failed == 1
    assert "in record oai:arXiv.org:0704.1114; it was skipped" in result.errors[0]
    assert not Paper.objects.filter(arxiv_id="0704.1114").exists()


def test_a_record_without_an_id_fails_alone(db, tmp_path):
    text = fixture_text(ARXIV_PAGE).replace("<id>1507.07790</id>", "", 1)
    text = text.replace("oai:arXiv.org:1507.07790", "", 1)
    path = tmp_path / "no-id.xml"
    path.write_text(text)

    result = ingest(oai.read_file(path))

    assert (result.created, result.failed) == (2, 1)
    assert "record 2 (no id): record has no <id>" in result.errors[0]


def test_arxivraw_then_the_arxiv_format_keeps_the_version(db):
    read(RAW_PAGE)
    paper = Paper.objects.get(arxiv_id="0704.0716")

    # Stored at v4 (2008-11-14); a GetRecord-style arXiv record with an older update
    # date (no version in this format) must not take it back.
    text = fixture_text(ARXIV_PAGE).replace("1412.8323", "0704.0716")
    text = text.replace("<updated>2017-12-13</updated>", "<updated>2007-09-28</updated>")
    result = ingest(oai.parse_response(text.encode()).items)

    assert result.unchanged == 1
    paper.refresh_from_db()
    assert paper.version == 4
    assert paper.title == "Limit distributions and scaling functions"


# --- Checkpoints: a stopped harvest goes on where it stopped ----------------------------

WINDOW = {"from_date": "2014-10-01", "set_spec": "math", "metadata_prefix": "arXivRaw"}
TOKEN = "726959|1001"  # RAW_PAGE's resumptionToken


def kinds(repository):
    """What each request asked for: the window's first page, or a page by token."""
    return [r.params.get("resumptionToken", "start") for r in repository.requests_to("/oai2")]


def test_a_retried_task_continues_from_the_checkpoint(repository):
    from ingest.tasks import ingest_oai

    repository.add("/oai2", file=RAW_PAGE, when={"metadataPrefix": "arXivRaw"})
    repository.add("/oai2", status=503, body="busy", when={"resumptionToken": TOKEN}, times=1)
    repository.add("/oai2", file=ARXIV_PAGE, when={"resumptionToken": TOKEN})

    # In-process, the retry runs at once (throw=False: as a worker, retry on a Retry).
    outcome = ingest_oai.apply(kwargs=WINDOW, throw=False)

    assert outcome.successful(), outcome.traceback
    assert outcome.result["created"] == 3  # the second try
    assert kinds(repository) == ["start", TOKEN, TOKEN]
    assert Paper.objects.count() == 9
    assert not HarvestCheckpoint.objects.exists()  # the window is done


def test_the_command_run_again_continues_where_it_stopped(repository, capsys):
    repository.add("/oai2", file=RAW_PAGE, when={"metadataPrefix": "arXivRaw"})
    repository.add("/oai2", status=503, body="busy", when={"resumptionToken": TOKEN}, times=1)
    repository.add("/oai2", file=ARXIV_PAGE, when={"resumptionToken": TOKEN})
    args = ["ingest_oai", "--from", "2014-10-01", "--set", "math", "--format", "arXivRaw"]

    with pytest.raises(CommandError):
        call_command(*args)
    first = capsys.readouterr()
    assert "6 created / 0 updated / 0 unchanged / 1 failed" in first.out
    assert "Stopped at page 2; run the same command again to continue." in first.err
    checkpoint = HarvestCheckpoint.objects.get()
    assert (checkpoint.token, checkpoint.pages) == (TOKEN, 1)

    call_command(*args)

    second = capsys.readouterr()
    assert "Resuming at page 2, where the last harvest of this window stopped" in second.err
    assert "3 created / 0 updated / 0 unchanged / 0 failed" in second.out
    assert kinds(repository) == ["start", TOKEN, TOKEN]
    assert not HarvestCheckpoint.objects.exists()


def test_another_window_or_restart_starts_from_the_beginning(repository, capsys):
    repository.add("/oai2", file=ARXIV_PAGE)
    HarvestCheckpoint.objects.create(
        window=oai.window_key("arXiv", None, None, "math"), token=TOKEN
    )

    call_command("ingest_oai", "--set", "cs")  # another set: another window
    call_command("ingest_oai", "--set", "math", "--restart")

    assert kinds(repository) == ["start", "start"]
    assert not HarvestCheckpoint.objects.exists()  # the math window was harvested whole


def test_an_expired_token_starts_the_window_again(repository):
    repository.add(
        "/oai2",
        file=RAW + "ErrorResponseBadResumptionToken.xml",
        when={"resumptionToken": "expired|1"},
    )
    repository.add("/oai2", file=ARXIV_PAGE, when={"metadataPrefix": "arXiv"})
    HarvestCheckpoint.objects.create(window=oai.window_key(), token="expired|1", pages=40)

    result, run = oai.ingest_window()

    assert (result.created, result.failed) == (3, 0)
    assert kinds(repository) == ["expired|1", "start"]
    assert run.finished and not HarvestCheckpoint.objects.exists()
