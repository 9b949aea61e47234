"""What every source turns its data into, and what an ingestion run reports."""

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class SourceError(Exception):
    """The source answered, but not with data: an error feed, an OAI error, HTTP 4xx, a
    file that is not what it should be. Not retried."""


class TransientSourceError(Exception):
    """The source is unavailable for now (HTTP 5xx or 429). Tasks retry on it."""

    def __init__(self, message, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclasses.dataclass
class PaperRecord:
    """One paper as a source describes it. None means "this source doesn't say" (the
    stored value is kept); "" means "this source says there is none".

    - version: the arXiv version, if the source gives it. A record updates the
      metadata of a stored paper only if its version is at least the stored one.
    - authoritative: arXiv's own metadata (API, OAI, snapshot). Other sources (Hugging
      Face) only fill in what is missing.
    - code_url / project_url: links the source states outright (Hugging Face's
      githubRepo / projectPage); links found in the text are picked out by upsert.
    - daily_date: the paper is featured on that day (kept if it already has one).
    - daily_date_if_new: featured on that day only if this run creates the paper
      (DAILY_CATEGORIES: new papers in chosen categories).
    - source_key / source: the raw record, kept in Paper.source[source_key].
    - label: how to name the record in a message ("line 12", "entry 3 (2406.12345)").
    """

    arxiv_id: str
    title: str | None = None
    version: int | None = None
    authoritative: bool = True
    abstract: str | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    primary_category: str | None = None
    categories: list[str] | None = None
    published_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    authors: list[str] | None = None
    code_url: str = ""
    project_url: str = ""
    daily_date: dt.date | None = None
    daily_date_if_new: dt.date | None = None
    submitted_by_id: int | None = None
    source_key: str = "arxiv"
    source: dict[str, Any] | None = None
    label: str = ""

    def name(self) -> str:
        if self.label and self.arxiv_id and self.arxiv_id not in self.label:
            return f"{self.label} ({self.arxiv_id})"
        return self.label or self.arxiv_id or "a record"


@dataclasses.dataclass
class RecordError:
    """A record that could not be read. The records around it are still ingested."""

    label: str
    message: str

    def __str__(self):
        return f"{self.label}: {self.message}" if self.label else self.message


def unexpected(label: str, exc: Exception) -> str:
    """The message for a record that broke the code in a way no check foresaw (a number
    where a source should give text, ...). Logged with its traceback: it is a bug to fix
    or a check to add, but it fails that record only."""
    log.warning("%s: unexpected %s", label, exc.__class__.__name__, exc_info=exc)
    return f"could not be read ({exc.__class__.__name__}: {exc})"


def read_record(build: Callable[..., "PaperRecord | RecordError"], label: str, *args):
    """build(*args), or a RecordError naming the record if building it raised. Readers
    are generators: an exception escaping one would end the whole run."""
    try:
        return build(*args)
    except Exception as exc:
        return RecordError(label, unexpected(label, exc))


@dataclasses.dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    # arXiv id -> Paper pk of every record written or found unchanged, when asked for.
    ids: dict[str, int] = dataclasses.field(default_factory=dict)
    created_ids: list[str] = dataclasses.field(default_factory=list)

    MAX_ERRORS_KEPT = 1000

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    def fail(self, message: str):
        self.failed += 1
        if len(self.errors) < self.MAX_ERRORS_KEPT:
            self.errors.append(message)

    def merge(self, other: "IngestResult", keep_ids: bool = True):
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        room = self.MAX_ERRORS_KEPT - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])
        if keep_ids:
            self.ids.update(other.ids)
            self.created_ids.extend(other.created_ids)
        return self

    def summary(self) -> str:
        return (
            f"{self.created} created / {self.updated} updated / "
            f"{self.unchanged} unchanged / {self.failed} failed"
        )
