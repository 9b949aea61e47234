import datetime as dt
import re

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from papers.models import Paper

# github.com/<owner>/<name>, as papers link their code (a trailing .git, a path into
# the repository or a fragment is allowed). Owners GitHub reserves are not repositories.
_GITHUB = re.compile(
    r"^https?://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})"
    r"(?:[/#?].*)?$",
    re.IGNORECASE,
)
_NOT_OWNERS = frozenset(
    "about apps collections enterprise explore features login marketplace orgs pricing "
    "search settings site sponsors topics trending users".split()
)


def github_full_name(url: str | None) -> str:
    """ "owner/name" of a GitHub repository URL, else ""."""
    match = _GITHUB.match((url or "").strip())
    if not match:
        return ""
    owner, name = match.group(1), match.group(2)
    if name.lower().endswith(".git"):
        name = name[:-4]
    if owner.lower() in _NOT_OWNERS or not name or name in (".", ".."):
        return ""
    return f"{owner}/{name}"


class Repository(models.Model):
    """A GitHub repository that papers link to as their code (codesignals.service).

    Denormalised: `stars` is the latest stargazers_count; `stars_gained` the stars gained
    over the last STAR_VELOCITY_DAYS days of StarCount rows, rewritten with each fetch.
    `etag`/`last_modified` make the next fetch conditional (a 304 costs no quota).
    `github_id` follows the repository through renames and transfers (a 301).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Not fetched yet"
        OK = "ok", "Found"
        MISSING = "missing", "Not found on GitHub"

    full_name = models.CharField(max_length=200)
    github_id = models.BigIntegerField(null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stars = models.PositiveIntegerField(null=True, blank=True)
    stars_gained = models.IntegerField(default=0)
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="Last asked GitHub")
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint(Lower("full_name"), name="one_repository_per_name"),
        ]
        indexes = [models.Index(fields=["checked_at"], name="repository_checked")]

    def __str__(self):
        return self.full_name

    @property
    def url(self):
        return f"https://github.com/{self.full_name}"

    def velocity(self, today: dt.date, days: int | None = None) -> int:
        """Stars gained between the count `days` days before `today` (or the earliest
        count since then) and today's. 0 with a single count."""
        days = days or settings.STAR_VELOCITY_DAYS
        counts = self.star_counts.filter(day__lte=today)
        latest = counts.order_by("-day").first()
        if latest is None:
            return 0
        start = today - dt.timedelta(days=days)
        before = counts.filter(day__lte=start).order_by("-day").first()
        before = before or counts.filter(day__gt=start).order_by("day").first()
        return latest.stars - before.stars


class StarCount(models.Model):
    """A repository's stars as seen on one day (the last fetch of the day wins)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="star_counts")
    day = models.DateField()
    stars = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "day"], name="one_star_count_per_day")
        ]

    def __str__(self):
        return f"{self.repository} {self.day}: {self.stars}"


class PaperSignals(models.Model):
    """What a paper's card and page show about its code and artifacts: its GitHub
    repository (from Paper.code_url, codesignals.service.link_papers) and the models,
    datasets and Spaces on Hugging Face that cite it (GET /api/arxiv/{id}/repos).
    The lists keep at most HF_REPOS_KEPT items each; the counts are the full ones."""

    paper = models.OneToOneField(
        Paper, primary_key=True, on_delete=models.CASCADE, related_name="code_signals"
    )
    repository = models.ForeignKey(
        Repository, null=True, blank=True, on_delete=models.SET_NULL, related_name="papers"
    )
    models_count = models.PositiveIntegerField(default=0)
    datasets_count = models.PositiveIntegerField(default=0)
    spaces_count = models.PositiveIntegerField(default=0)
    hf_models = models.JSONField(default=list, blank=True)
    hf_datasets = models.JSONField(default=list, blank=True)
    hf_spaces = models.JSONField(default=list, blank=True)
    # The Paper.code_url the repository was read from: linked again only when it
    # changes, so a repository renamed since (a 301) stays linked under its new name.
    linked_url = models.CharField(max_length=500, blank=True)
    hf_checked_at = models.DateTimeField(null=True, blank=True)
    hf_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "paper signals"

    def __str__(self):
        return f"signals of {self.paper_id}"

    @property
    def has_artifacts(self):
        return bool(self.models_count or self.datasets_count or self.spaces_count)


def signals_of(paper) -> PaperSignals | None:
    try:
        return paper.code_signals
    except PaperSignals.DoesNotExist:
        return None
