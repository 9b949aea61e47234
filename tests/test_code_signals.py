"""Code signals: papers linked to their GitHub repository, stars fetched with
conditional requests and rate limits honoured (PyGithub's recordings of api.github.com,
served locally), star history and velocity, Hugging Face's models, datasets and Spaces
(Hugging Face's documented shape: no recording exists), and the command."""

import datetime as dt
import gzip
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from codesignals import hf, service
from codesignals.github import GitHubClient
from codesignals.models import PaperSignals, Repository, StarCount, github_full_name
from codesignals.tasks import refresh_code_signals

from .factories import PaperFactory
from .github_replay import exchanges, serve
from .recorded_http import RecordedServer

PYGITHUB = "https://github.com/PyGithub/PyGithub"


@pytest.fixture
def github(settings):
    with RecordedServer() as server:
        settings.GITHUB_API_URL = server.url
        settings.GITHUB_TOKEN = ""
        yield server


@pytest.fixture
def hub(settings):
    with RecordedServer() as server:
        settings.HF_API_URL = f"{server.url}/api"
        settings.HF_REQUEST_INTERVAL = 0
        yield server


def hf_repos(models=(), datasets=(), spaces=()) -> str:
    """Hugging Face's documented shape for GET /api/arxiv/{id}/repos."""
    return json.dumps({"models": list(models), "datasets": list(datasets), "spaces": list(spaces)})


def refresh(repositories) -> service.Report:
    report = service.Report()
    service.refresh_repositories(repositories, report)
    return report


def linked(paper) -> Repository:
    service.link_papers(type(paper).objects.filter(pk=paper.pk))
    return PaperSignals.objects.get(paper=paper).repository


# --- Which repository ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, name",
    [
        ("https://github.com/PyGithub/PyGithub", "PyGithub/PyGithub"),
        ("http://www.github.com/owner/repo.git", "owner/repo"),
        ("https://github.com/owner/repo/tree/main/src", "owner/repo"),
        ("https://github.com/owner/my.repo_v2#readme", "owner/my.repo_v2"),
        ("https://github.com/owner", ""),
        ("https://github.com/orgs/owner/repositories", ""),
        ("https://github.com/sponsors/someone", ""),
        ("https://gitlab.com/owner/repo", ""),
        ("https://owner.github.io/repo", ""),
        ("javascript:alert(1)//github.com/a/b", ""),
        ("", ""),
    ],
)
def test_a_github_repository_is_read_from_a_code_link(url, name):
    assert github_full_name(url) == name


def test_papers_linking_one_repository_share_it_whatever_the_case(db):
    first = PaperFactory(code_url=PYGITHUB)
    second = PaperFactory(code_url="https://github.com/pygithub/pygithub.git")
    elsewhere = PaperFactory(code_url="https://gitlab.com/owner/repo")

    service.link_papers(service.papers_to_link())

    assert Repository.objects.count() == 1
    assert linked(first) == linked(second) == Repository.objects.get()
    assert PaperSignals.objects.get(paper=elsewhere).repository is None
    # Nothing changed: nothing is linked again.
    assert service.link_papers(service.papers_to_link()) == 0


# --- GitHub: stars, conditional requests ---------------------------------------------------


def test_stars_and_the_etag_are_stored_with_todays_count(db, github):
    paper = PaperFactory(code_url=PYGITHUB)
    repository = linked(paper)
    serve(github, exchanges("Repository.setUp.txt")[0])

    report = refresh([repository])

    repository.refresh_from_db()
    assert (report.refreshed, report.failures) == (1, [])
    assert repository.status == Repository.Status.OK
    assert (repository.stars, repository.github_id) == (7122, 3544490)
    assert repository.etag.startswith('W/"37ea5857')
    assert repository.last_modified == "Mon, 06 Jan 2025 21:35:40 GMT"
    assert StarCount.objects.get().stars == 7122
    sent = github.requests[0].headers
    assert sent["Accept"] == "application/vnd.github+json"
    assert sent["X-GitHub-Api-Version"] == "2022-11-28"
    assert "Authorization" not in sent


def test_a_token_is_sent_when_configured(db, github, settings):
    settings.GITHUB_TOKEN = "ghp_example"
    repository = linked(PaperFactory(code_url=PYGITHUB))
    serve(github, exchanges("Repository.setUp.txt")[0])

    refresh([repository])

    assert github.requests[0].headers["Authorization"] == "Bearer ghp_example"


def test_the_second_request_is_conditional_and_a_304_keeps_the_stars(db, github):
    repository = linked(PaperFactory(code_url="https://github.com/akfish/PyGithub"))
    first = exchanges("ConditionalRequestUpdate.setUp.txt")[0]
    unchanged = exchanges("ConditionalRequestUpdate.testDidNotUpdate.txt")[0]
    serve(github, first, times=1)
    serve(github, unchanged)
    refresh([repository])
    repository.refresh_from_db()
    # Recorded in 2013 (the github.beta media type): stars were "watchers" then.
    assert repository.stars == first.json["watchers_count"] == 0

    report = refresh([repository])

    sent = github.requests[1].headers
    assert sent["If-None-Match"] == '"8600bedcb7fed1d8065e1693e05529ce"'
    assert sent["If-Modified-Since"] == "Thu, 22 Aug 2013 02:09:11 GMT"
    assert sent["If-None-Match"] == unchanged.request_headers["If-None-Match"]
    assert (report.not_modified, report.refreshed, report.failures) == (1, 0, [])
    repository.refresh_from_db()
    assert repository.stars == 0 and repository.etag == '"8600bedcb7fed1d8065e1693e05529ce"'


def test_a_renamed_repository_is_followed_and_stored_under_its_new_name(db, github):
    paper = PaperFactory(code_url="https://github.com/protoncoin/protoncoin")
    repository = linked(paper)
    moved, found = exchanges("Repository.testGetRepositoryWith301Redirect.txt")
    serve(github, moved)
    serve(github, found)

    report = refresh([repository])

    assert [r.path for r in github.requests] == [
        "/repos/protoncoin/protoncoin",
        "/repositories/112116543",
    ]
    assert report.renamed == ["protoncoin/protoncoin → padima2/protoncoin"]
    repository.refresh_from_db()
    assert (repository.full_name, repository.github_id, repository.stars) == (
        "padima2/protoncoin",
        112116543,
        5,
    )
    # The paper still links the old name: it stays on the renamed repository.
    assert service.link_papers(service.papers_to_link()) == 0
    assert linked(paper) == repository and Repository.objects.count() == 1


def test_a_rename_onto_a_known_repository_merges_them(db, github):
    old = linked(PaperFactory(code_url="https://github.com/protoncoin/protoncoin"))
    new = linked(PaperFactory(code_url="https://github.com/padima2/protoncoin"))
    moved, found = exchanges("Repository.testGetRepositoryWith301Redirect.txt")
    serve(github, moved)
    serve(github, found)

    refresh([old])

    assert list(Repository.objects.values_list("pk", flat=True)) == [new.pk]
    assert PaperSignals.objects.filter(repository=new).count() == 2


def test_a_missing_repository_is_marked_and_named(db, github):
    repository = linked(PaperFactory(code_url="https://github.com/jacquev6/Xxx"))
    serve(github, exchanges("Exceptions.testUnknownObject.txt")[1])

    report = refresh([repository])

    repository.refresh_from_db()
    assert repository.status == Repository.Status.MISSING
    assert report.failures == ["jacquev6/Xxx: not found on GitHub (404); marked missing"]
    # Not asked again within the week.
    assert repository not in service.due_repositories()


def test_the_primary_rate_limit_stops_the_run_and_keeps_what_was_stored(db, github):
    a = linked(PaperFactory(code_url=PYGITHUB))
    b = linked(PaperFactory(code_url="https://github.com/jacquev6/PyGithub"))
    c = linked(PaperFactory(code_url="https://github.com/jacquev6/other"))
    serve(github, exchanges("Repository.setUp.txt")[0])
    serve(
        github,
        exchanges("SpecificExceptions.testRateLimitExceeded.txt")[1],
        "/repos/jacquev6/PyGithub",
    )

    report = refresh([a, b, c])

    assert [r.path for r in github.requests] == [
        "/repos/PyGithub/PyGithub",
        "/repos/jacquev6/PyGithub",
    ]
    assert report.refreshed == 1
    assert "GitHub rate limit (API Rate Limit Exceeded for" in report.stopped
    assert report.stopped.endswith("2 repositories not refreshed")
    assert Repository.objects.get(pk=a.pk).stars == 7122
    assert Repository.objects.get(pk=c.pk).checked_at is None


def test_no_request_is_sent_once_the_remaining_quota_is_zero(db, github):
    a = linked(PaperFactory(code_url=PYGITHUB))
    b = linked(PaperFactory(code_url="https://github.com/jacquev6/PyGithub"))
    # The recorded 200 as the last request of the hour would come (Remaining: 0).
    reset = int(timezone.now().timestamp()) + 600
    serve(
        github,
        exchanges("Repository.setUp.txt")[0],
        **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )

    report = refresh([a, b])

    assert [r.path for r in github.requests] == ["/repos/PyGithub/PyGithub"]
    assert report.refreshed == 1 and "rate limit is used up until" in report.stopped
    assert report.stopped.endswith("1 repositories not refreshed")


def test_a_secondary_rate_limit_honours_retry_after(db, github):
    repository = linked(PaperFactory(code_url=PYGITHUB))
    serve(
        github,
        exchanges("SpecificExceptions.testAuthenticatedRateLimitExceeded.txt")[1],
        "/repos/PyGithub/PyGithub",
    )
    client = GitHubClient()

    report = service.Report()
    service.refresh_repositories([repository], report, client=client)

    assert "secondary rate limit" in report.stopped and "abuse detection" in report.stopped
    wait = (client.blocked_until - timezone.now()).total_seconds()
    assert 55 < wait <= 60


# --- Star history and velocity ---------------------------------------------------------------


def test_star_velocity_is_the_stars_gained_over_the_last_days(db, settings):
    settings.STAR_VELOCITY_DAYS = 7
    repository = Repository.objects.create(full_name="a/b")
    today = dt.date(2026, 12, 5)
    for days_ago, stars in [(10, 50), (7, 100), (3, 130), (0, 180)]:
        StarCount.objects.create(
            repository=repository, day=today - dt.timedelta(days_ago), stars=stars
        )

    assert repository.velocity(today) == 80
    assert repository.velocity(today, days=2) == 50
    # Counted only since it was first seen: the gain since then.
    assert repository.velocity(today, days=30) == 130


def test_one_count_per_day_the_latest_wins(db):
    repository = Repository.objects.create(full_name="a/b")
    today = timezone.now().date()
    StarCount.objects.create(repository=repository, day=today - dt.timedelta(days=2), stars=10)

    service.record_stars(repository, 15, today)
    service.record_stars(repository, 17, today)

    assert StarCount.objects.filter(repository=repository).count() == 2
    assert Repository.objects.get().stars_gained == 7


def test_recent_papers_are_refreshed_more_often(db):
    now = timezone.now()
    today = now.date()
    fresh = linked(PaperFactory(code_url="https://github.com/a/fresh", daily_date=today))
    old = linked(
        PaperFactory(code_url="https://github.com/a/old", daily_date=today - dt.timedelta(days=60))
    )
    never = linked(
        PaperFactory(
            code_url="https://github.com/a/never", daily_date=today - dt.timedelta(days=60)
        )
    )
    Repository.objects.filter(pk__in=[fresh.pk, old.pk]).update(
        checked_at=now - dt.timedelta(hours=7)
    )

    due = list(service.due_repositories(now))

    assert due == [never, fresh]
    Repository.objects.filter(pk=old.pk).update(checked_at=now - dt.timedelta(days=8))
    assert old in service.due_repositories(now)


# --- Hugging Face models, datasets and Spaces ----------------------------------------------


def test_linked_artifacts_are_counted_and_the_most_liked_kept(db, hub, settings):
    settings.HF_REPOS_KEPT = 2
    paper = PaperFactory(arxiv_id="2004.07180")
    hub.add(
        "/api/arxiv/2004.07180/repos",
        body=hf_repos(
            models=[
                {"id": "allenai/specter", "likes": 60, "downloads": 900000},
                {"id": "allenai/specter2", "likes": 120, "downloads": 80000},
                {"id": "someone/specter-finetuned", "likes": 1},
            ],
            datasets=[{"id": "allenai/scirepeval", "likes": 12}],
        ),
        headers={"Content-Type": "application/json"},
    )

    report = service.Report()
    service.refresh_artifacts([paper], report)

    signals = PaperSignals.objects.get(paper=paper)
    assert (signals.models_count, signals.datasets_count, signals.spaces_count) == (3, 1, 0)
    assert [m["id"] for m in signals.hf_models] == ["allenai/specter2", "allenai/specter"]
    assert signals.hf_datasets == [{"id": "allenai/scirepeval", "likes": 12}]
    assert report.artifacts == 1 and report.failures == []


def test_a_paper_hugging_face_does_not_know_has_no_artifacts(db, hub):
    paper = PaperFactory()
    hub.add(f"/api/arxiv/{paper.arxiv_id}/repos", body='{"error": "Paper not found"}', status=404)

    report = service.Report()
    service.refresh_artifacts([paper], report)

    signals = PaperSignals.objects.get(paper=paper)
    assert not signals.has_artifacts and signals.hf_checked_at is not None


@pytest.mark.parametrize(
    "body, message",
    [
        ("<html>rate limited</html>", "not JSON"),
        ("[]", "expected an object"),
        ('{"models": {"id": "x"}}', "'models' is not a list"),
        ('{"likes": 3}', "none of models, datasets, spaces"),
    ],
)
def test_a_bad_hugging_face_answer_is_named(db, hub, body, message):
    paper = PaperFactory()
    hub.add(f"/api/arxiv/{paper.arxiv_id}/repos", body=body)

    report = service.Report()
    service.refresh_artifacts([paper], report)

    assert len(report.failures) == 1 and message in report.failures[0]
    assert report.failures[0].startswith(paper.arxiv_id)
    assert PaperSignals.objects.get(paper=paper).hf_error


def test_an_item_without_an_id_is_skipped_and_named(settings):
    artifacts = hf.parse(hf_repos(models=[{"id": "a/b"}, {"likes": 3}]), where="2004.07180")
    assert artifacts.counts["models"] == 1
    assert artifacts.skipped == ["2004.07180: models item 2 has no id"]


# --- The command and the periodic task ------------------------------------------------------


def test_the_command_refreshes_one_paper(db, github, hub, capsys):
    paper = PaperFactory(arxiv_id="2004.07180", code_url=PYGITHUB)
    serve(github, exchanges("Repository.setUp.txt")[0])
    hub.add("/api/arxiv/2004.07180/repos", body=hf_repos(spaces=[{"id": "a/demo", "likes": 4}]))

    call_command("refresh_code_signals", "--paper", "2004.07180")

    signals = PaperSignals.objects.select_related("repository").get(paper=paper)
    assert signals.repository.stars == 7122 and signals.spaces_count == 1
    assert "1 repositories refreshed" in capsys.readouterr().out


def test_the_command_reads_recorded_responses_and_names_what_failed(db, tmp_path, capsys):
    paper = PaperFactory(arxiv_id="2004.07180", code_url=PYGITHUB)
    repo_file = tmp_path / "repo.json"
    repo_file.write_text(exchanges("Repository.setUp.txt")[0].body)
    hf_file = tmp_path / "hf.json"
    hf_file.write_text(hf_repos(models=[{"id": "allenai/specter"}]))
    broken = tmp_path / "broken.json"
    broken.write_text('{"full_name": "a/b", "stargazers_')

    with pytest.raises(CommandError, match=r"1 record\(s\) failed"):
        call_command(
            "refresh_code_signals",
            "--paper",
            "2004.07180",
            "--file",
            str(repo_file),
            "--file",
            str(broken),
            "--file",
            str(hf_file),
        )

    out = capsys.readouterr()
    assert "failed: broken.json: not JSON" in out.err
    signals = PaperSignals.objects.select_related("repository").get(paper=paper)
    assert signals.repository.full_name == "PyGithub/PyGithub"
    assert signals.repository.stars == 7122 and signals.models_count == 1


def test_the_periodic_task_links_and_refreshes_what_is_due(db, github, hub):
    paper = PaperFactory(code_url=PYGITHUB)
    serve(github, exchanges("Repository.setUp.txt")[0])
    hub.add(f"/api/arxiv/{paper.arxiv_id}/repos", body=hf_repos())

    result = refresh_code_signals()

    assert result == {
        "refreshed": 1,
        "not_modified": 0,
        "artifacts": 1,
        "renamed": 0,
        "failed": 0,
        "stopped": "",
    }
    # Everything is fresh now: nothing is asked again.
    github.requests.clear()
    hub.requests.clear()
    refresh_code_signals()
    assert github.requests == [] and hub.requests == []


def test_the_command_stops_at_the_rate_limit_and_says_what_it_left(db, github, hub, capsys):
    # Linked newest paper first, so PyGithub's repository is asked about first.
    PaperFactory(code_url="https://github.com/jacquev6/PyGithub")
    first = PaperFactory(code_url=PYGITHUB)
    serve(github, exchanges("Repository.setUp.txt")[0])
    serve(
        github,
        exchanges("SpecificExceptions.testRateLimitExceeded.txt")[1],
        "/repos/jacquev6/PyGithub",
    )

    with pytest.raises(CommandError, match=r"1 record\(s\) failed"):
        call_command("refresh_code_signals")

    out = capsys.readouterr()
    assert "failed: GitHub rate limit (API Rate Limit Exceeded for" in out.err
    assert "stopped:" in out.out
    # What came before the limit is stored; Hugging Face is not asked after it.
    assert PaperSignals.objects.get(paper=first).repository.stars == 7122
    assert hub.requests == []


# --- The demo's recorded stars (make run, offline) -------------------------------------------


def _archive(tmp_path, items):
    path = tmp_path / "papers.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item) + "\n")
    return path


def test_the_demo_gets_the_stars_its_archive_recorded_and_a_rerun_changes_nothing(db, tmp_path):
    from codesignals.demo import load_demo_stars

    listed = PaperFactory(code_url="https://github.com/Owner/Repo")
    unrecorded = PaperFactory(code_url="https://github.com/someone/else")
    fetched = PaperFactory(code_url="https://github.com/already/fetched")
    Repository.objects.create(
        full_name="already/fetched", stars=7, status="ok", checked_at=timezone.now()
    )

    def listing(day, repo, stars):
        return {
            "date": day,
            "paper": {"githubRepo": f"https://github.com/{repo}", "githubStars": stars},
        }

    path = _archive(
        tmp_path,
        [
            listing("2025-01-06", "owner/repo", 10),
            listing("2025-02-03", "owner/repo", 42),
            listing("2025-02-03", "already/fetched", 999),
            listing("2025-02-04", "no/stars", None),
        ],
    )

    assert load_demo_stars(path) == 1
    assert load_demo_stars(path) == 0

    repository = linked(listed)
    assert (repository.stars, repository.status, repository.checked_at) == (42, "ok", None)
    assert list(repository.star_counts.values_list("day", "stars")) == [(dt.date(2025, 2, 3), 42)]
    assert linked(unrecorded).stars is None  # nothing recorded: left for a real fetch
    assert linked(fetched).stars == 7  # a count fetched from GitHub is never replaced
