"""Keeping papers' code signals: which GitHub repository each paper links to, its stars
(and their history, hence the star velocity), and the Hugging Face models, datasets and
Spaces that cite it. Plain functions, called by the periodic task, the management
command and the tests.

How often (`due_repositories`, `due_papers`) favours recent papers, whose signals move:

    featured in the last 7 days     GitHub every 6 hours, Hugging Face every 12 hours
    in the last 30 days             daily                 every 3 days
    earlier                         weekly                every 30 days

A repository not found on GitHub is asked again weekly (it may come back public).
"""

import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from ingest.records import SourceError, TransientSourceError
from papers.models import Paper

from . import hf
from .github import GitHubClient, GitHubError, RateLimited, repository_problem, stars_of
from .models import PaperSignals, Repository, StarCount, github_full_name

log = logging.getLogger(__name__)

# (featured within, refresh every) for GitHub and for Hugging Face; older: the last.
GITHUB_TIERS = [
    (7, dt.timedelta(hours=6)),
    (30, dt.timedelta(days=1)),
    (None, dt.timedelta(days=7)),
]
HF_TIERS = [(7, dt.timedelta(hours=12)), (30, dt.timedelta(days=3)), (None, dt.timedelta(days=30))]


@dataclasses.dataclass
class Report:
    """What a run did, named record by record like the ingestion commands' results."""

    refreshed: int = 0
    not_modified: int = 0
    artifacts: int = 0
    renamed: list[str] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    stopped: str = ""

    def fail(self, message: str):
        log.warning("code signals: %s", message)
        self.failures.append(message)

    def summary(self) -> str:
        parts = [
            f"{self.refreshed} repositories refreshed",
            f"{self.not_modified} unchanged (304)",
            f"{self.artifacts} papers' Hugging Face repos",
            f"{len(self.renamed)} renamed",
            f"{len(self.failures)} failed",
        ]
        return ", ".join(parts) + (f"; stopped: {self.stopped}" if self.stopped else "")

    def as_dict(self) -> dict:
        return {
            "refreshed": self.refreshed,
            "not_modified": self.not_modified,
            "artifacts": self.artifacts,
            "renamed": len(self.renamed),
            "failed": len(self.failures),
            "stopped": self.stopped,
        }


# --- Which repository a paper links to ---------------------------------------------------


def repository_named(full_name: str) -> Repository:
    """The repository row for "owner/name" (matched case-insensitively, as GitHub
    does), created if new. Two runs creating it at once: the unique index decides."""
    found = Repository.objects.filter(full_name__iexact=full_name).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return Repository.objects.create(full_name=full_name)
    except IntegrityError:
        return Repository.objects.get(full_name__iexact=full_name)


def link_papers(papers) -> int:
    """Give each paper its signals row and link its GitHub repository, read from
    Paper.code_url (Hugging Face's githubRepo, or a link found in the abstract or
    comments, ingest). Only papers whose code_url changed since are written."""
    papers = list(papers.only("pk", "code_url"))
    rows = PaperSignals.objects.in_bulk([p.pk for p in papers])
    linked = 0
    for paper in papers:
        row = rows.get(paper.pk)
        if row is not None and row.linked_url == paper.code_url:
            continue
        name = github_full_name(paper.code_url)
        repository = repository_named(name) if name else None
        PaperSignals.objects.update_or_create(
            paper_id=paper.pk, defaults={"repository": repository, "linked_url": paper.code_url}
        )
        linked += 1
    return linked


def papers_to_link():
    """Featured papers without a signals row, or whose code link changed."""
    return (
        Paper.objects.featured()
        .filter(Q(code_signals__isnull=True) | ~Q(code_signals__linked_url=F("code_url")))
        .order_by("-daily_date", "-id")
    )


# --- GitHub stars ------------------------------------------------------------------------


def _tiers(field_latest: str, field_checked: str, tiers, now):
    today = now.date()
    due = Q(**{f"{field_checked}__isnull": True})
    newer_than = None
    for days, every in tiers:
        stale = Q(**{f"{field_checked}__lt": now - every})
        band = Q()
        if days is not None:
            band &= Q(**{f"{field_latest}__gte": today - dt.timedelta(days=days)})
        if newer_than is not None:
            band &= Q(**{f"{field_latest}__lt": today - dt.timedelta(days=newer_than)}) | Q(
                **{f"{field_latest}__isnull": True}
            )
        due |= band & stale
        newer_than = days
    return due


def due_repositories(now=None, limit: int | None = None):
    """Repositories to ask GitHub about now: never asked first, then those of the most
    recently featured papers (see the tiers above)."""
    now = now or timezone.now()
    repos = Repository.objects.annotate(latest=Max("papers__paper__daily_date")).filter(
        _tiers("latest", "checked_at", GITHUB_TIERS, now)
    )
    repos = repos.exclude(
        status=Repository.Status.MISSING, checked_at__gte=now - dt.timedelta(days=7)
    ).order_by(F("checked_at").asc(nulls_first=True), F("latest").desc(nulls_last=True), "id")
    return repos[: limit or settings.GITHUB_REFRESH_LIMIT]


def record_stars(repository: Repository, stars: int, today: dt.date):
    StarCount.objects.update_or_create(repository=repository, day=today, defaults={"stars": stars})
    repository.stars_gained = repository.velocity(today)
    Repository.objects.filter(pk=repository.pk).update(stars_gained=repository.stars_gained)


def apply_repository(repository: Repository, data: dict, etag="", last_modified="", now=None):
    """Store GitHub's repository object (a 200) on `repository`: its current name and
    id, its stars (and today's count). A repository renamed onto a name or id that
    another row already holds is merged into that row."""
    problem = repository_problem(data)
    if problem:
        raise GitHubError(problem)
    now = now or timezone.now()
    github_id = data.get("id") if isinstance(data.get("id"), int) else None
    with transaction.atomic():
        same = Q(full_name__iexact=data["full_name"])
        if github_id is not None:
            same |= Q(github_id=github_id)
        other = Repository.objects.exclude(pk=repository.pk).filter(same).first()
        if other is not None:
            PaperSignals.objects.filter(repository=repository).update(repository=other)
            repository.delete()
            repository = other
        repository.full_name = data["full_name"]
        repository.github_id = github_id
        repository.stars = stars_of(data)
        repository.status = Repository.Status.OK
        repository.etag = etag
        repository.last_modified = last_modified
        repository.checked_at = now
        repository.error = ""
        repository.save()
        record_stars(repository, repository.stars, now.date())
    return repository


def refresh_repository(repository: Repository, client: GitHubClient, report: Report, now=None):
    """Ask GitHub about one repository. RateLimited is raised for the caller to stop."""
    now = now or timezone.now()
    name = repository.full_name
    try:
        answer = client.repository(name, repository.etag, repository.last_modified)
    except GitHubError as exc:
        Repository.objects.filter(pk=repository.pk).update(checked_at=now, error=str(exc))
        report.fail(f"{name}: {exc}")
        return
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        report.fail(f"{name}: GitHub unreachable ({exc.__class__.__name__}: {exc})")
        return
    if answer.status == "missing":
        Repository.objects.filter(pk=repository.pk).update(
            status=Repository.Status.MISSING,
            checked_at=now,
            error=f"not found on GitHub ({answer.data.get('message') or 'HTTP 404'})",
        )
        report.fail(f"{name}: not found on GitHub (404); marked missing")
        return
    if answer.status == "not_modified":
        Repository.objects.filter(pk=repository.pk).update(
            checked_at=now, status=Repository.Status.OK, error=""
        )
        if repository.stars is not None:
            record_stars(repository, repository.stars, now.date())
        report.not_modified += 1
        return
    stored = apply_repository(repository, answer.data, answer.etag, answer.last_modified, now)
    if stored.full_name.lower() != name.lower():
        report.renamed.append(f"{name} → {stored.full_name}")
        log.info("GitHub repository %s is now %s", name, stored.full_name)
    report.refreshed += 1


def refresh_repositories(repositories, report: Report, client=None, on_item=None):
    own = client is None
    client = client or GitHubClient()
    repositories = list(repositories)
    try:
        for done, repository in enumerate(repositories):
            try:
                refresh_repository(repository, client, report)
            except RateLimited as exc:
                left = len(repositories) - done
                report.stopped = f"{exc}; {left} repositories not refreshed"
                report.failures.append(report.stopped)
                log.warning("code signals: %s", report.stopped)
                return
            if on_item:
                on_item()
    finally:
        if own:
            client.client.close()


# --- Hugging Face models, datasets and Spaces ---------------------------------------------


def due_papers(now=None, limit: int | None = None):
    """Featured papers whose Hugging Face repos are due a check (tiers above)."""
    now = now or timezone.now()
    papers = Paper.objects.visible().featured()
    due = Q(code_signals__isnull=True) | _tiers(
        "daily_date", "code_signals__hf_checked_at", HF_TIERS, now
    )
    papers = papers.filter(due).order_by(
        F("code_signals__hf_checked_at").asc(nulls_first=True), "-daily_date", "-id"
    )
    return papers[: limit or settings.HF_REPOS_REFRESH_LIMIT]


def store_artifacts(paper, artifacts: hf.Artifacts, now=None):
    PaperSignals.objects.update_or_create(
        paper=paper,
        defaults={
            "models_count": artifacts.counts["models"],
            "datasets_count": artifacts.counts["datasets"],
            "spaces_count": artifacts.counts["spaces"],
            "hf_models": artifacts.models,
            "hf_datasets": artifacts.datasets,
            "hf_spaces": artifacts.spaces,
            "hf_checked_at": now or timezone.now(),
            "hf_error": "",
        },
    )


def refresh_artifacts(papers, report: Report, http=None, on_item=None):
    own = http is None
    http = http or hf.client()
    try:
        for paper in papers:
            try:
                artifacts = hf.fetch(paper.arxiv_id, http)
            except TransientSourceError as exc:
                report.stopped = f"Hugging Face unavailable ({exc})"
                report.failures.append(report.stopped)
                return
            except (SourceError, httpx.TransportError) as exc:
                PaperSignals.objects.update_or_create(
                    paper=paper, defaults={"hf_checked_at": timezone.now(), "hf_error": str(exc)}
                )
                report.fail(f"{paper.arxiv_id}: {exc}")
            else:
                store_artifacts(paper, artifacts)
                for skipped in artifacts.skipped:
                    report.fail(skipped)
                report.artifacts += 1
            if on_item:
                on_item()
    finally:
        if own:
            http.close()


# --- Recorded responses (--file) ------------------------------------------------------------


def apply_file(path: Path, paper, report: Report):
    """A saved response: GitHub's repository object (matched to its repository by id or
    name, or linked to `paper`), or Hugging Face's /api/arxiv/{id}/repos (for `paper`)."""
    where = Path(path).name
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        report.fail(f"{where}: not JSON ({exc})")
        return
    if isinstance(data, dict) and "full_name" in data:
        problem = repository_problem(data)
        if problem:
            report.fail(f"{where}: {problem}")
            return
        repository = None
        if isinstance(data.get("id"), int):
            repository = Repository.objects.filter(github_id=data["id"]).first()
        repository = repository or repository_named(data["full_name"])
        apply_repository(repository, data)
        if paper is not None:
            PaperSignals.objects.update_or_create(
                paper=paper, defaults={"repository": repository, "linked_url": paper.code_url}
            )
        report.refreshed += 1
        return
    if isinstance(data, dict) and any(kind in data for kind in hf.KINDS):
        if paper is None:
            report.fail(f"{where}: a Hugging Face repos response needs --paper")
            return
        try:
            artifacts = hf.parse(Path(path).read_bytes(), where)
        except SourceError as exc:
            report.fail(str(exc))
            return
        store_artifacts(paper, artifacts)
        for skipped in artifacts.skipped:
            report.fail(skipped)
        report.artifacts += 1
        return
    report.fail(f"{where}: neither a GitHub repository nor a Hugging Face repos response")
