"""Upsert papers by arXiv id, in batches: the one way any source writes papers.

Each batch is one transaction:

    1. clean and validate the records (a bad record fails alone, named);
    2. lock the stored rows of the batch (SELECT ... FOR UPDATE, in id order);
    3. merge each record into its stored row (rules below) and skip rows it
       doesn't change, so the same input twice writes nothing;
    4. INSERT the new papers, upsert the changed ones (INSERT ... ON CONFLICT
       (arxiv_id) DO UPDATE), resolve their authors in bulk and rewrite their
       authorships.

Two runs at once: the unique arxiv_id decides. A run that inserts a paper another run
inserted first gets an IntegrityError, rolls the batch back and does it again (now
seeing the stored row). Deadlocks between batches that lock the same rows are retried
the same way. So nothing is duplicated and nothing is half-written.

Merge rules (record -> stored row):

    metadata        from arXiv, if the record's version >= the stored version (or,
                    for a source without versions, its update date is not older);
                    Hugging Face only fills in what is empty
    daily_date      set when empty, never cleared or moved
    submitted_by    set when empty
    code/project    a link the source states outright replaces the stored one; a
                    link found in the abstract or comments fills an empty field
    source          the record's raw data replaces Paper.source[<its source>]
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.utils import timezone

from ..arxiv_ids import parse_arxiv_id
from ..models import Author, Authorship, Paper, normalise_name, slug_for
from . import text
from .records import IngestResult, PaperRecord, RecordError

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
RETRIES = 4
# Authors: name and normalised name are CharField(300).
NAME_LENGTH = 300
DOI_LENGTH = 255
CATEGORY_LENGTH = 32

METADATA = (
    "title",
    "abstract",
    "comments",
    "journal_ref",
    "doi",
    "primary_category",
    "categories",
    "published_at",
    "updated_at",
)
COMPARED = (
    "version",
    *METADATA,
    "code_url",
    "project_url",
    "daily_date",
    "submitted_by_id",
    "author_names",
    "author_count",
    "source",
)
DEFAULTS = {
    "title": "",
    "abstract": "",
    "comments": "",
    "journal_ref": "",
    "doi": "",
    "primary_category": "",
    "categories": [],
    "published_at": None,
    "updated_at": None,
}
# SQLSTATEs worth another go: unique violation (a concurrent insert), deadlock,
# serialization failure.
_RETRYABLE_STATES = {"23505", "40P01", "40001"}


class InvalidRecord(ValueError):
    pass


# --- Clean and validate ---------------------------------------------------------------


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, dt.UTC)
    return value


def prepare(record: PaperRecord) -> PaperRecord:
    """The record cleaned (text, HTML, ids, lengths); InvalidRecord if it can't be stored."""
    try:
        parsed = parse_arxiv_id(record.arxiv_id or "")
    except ValidationError as exc:
        raise InvalidRecord(exc.messages[0]) from None
    record.arxiv_id = parsed.id
    if record.version is None and parsed.version and record.authoritative:
        record.version = parsed.version
    if record.title is None:
        raise InvalidRecord("missing title")
    record.title = text.clean_title(record.title)
    if not record.title:
        raise InvalidRecord("empty title")
    if record.abstract is not None:
        record.abstract = text.clean_abstract(record.abstract)
    for field in ("comments", "journal_ref"):
        value = getattr(record, field)
        if value is not None:
            setattr(record, field, text.squash(text.sanitise(value)))
    if record.doi is not None:
        record.doi = text.squash(record.doi)
        if len(record.doi) > DOI_LENGTH:
            # Several DOIs in one field: keep the first.
            record.doi = record.doi.split()[0][:DOI_LENGTH]
    if record.categories is not None:
        record.categories = [c for c in dict.fromkeys(record.categories) if c]
        if any(len(c) > CATEGORY_LENGTH for c in record.categories):
            raise InvalidRecord("a category name is too long")
        if record.primary_category is None and record.categories:
            record.primary_category = record.categories[0]
    if record.primary_category and len(record.primary_category) > CATEGORY_LENGTH:
        raise InvalidRecord(f"primary category {record.primary_category[:40]!r} is too long")
    if record.authors is not None:
        record.authors = [n for n in (text.clean_name(a) for a in record.authors) if n]
    record.published_at = _aware(record.published_at)
    record.updated_at = _aware(record.updated_at)
    record.code_url = _valid_url(record.code_url)
    record.project_url = _valid_url(record.project_url)
    return record


def _valid_url(url: str | None) -> str:
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")) or len(url) > text.MAX_URL_LENGTH:
        return ""
    return url


# --- Merge ------------------------------------------------------------------------------


def _authors_fields(names: list[str]) -> dict:
    return {"author_names": ", ".join(names), "author_count": len(names)}


def _is_newer(record: PaperRecord, stored: dict) -> bool:
    if not record.authoritative:
        return False
    if record.version is not None:
        return record.version >= stored["version"]
    # No version in this source (OAI's arXiv format): go by arXiv's update date.
    if record.updated_at is None:
        return False
    return stored["updated_at"] is None or record.updated_at >= stored["updated_at"]


def merge(record: PaperRecord, stored: dict | None) -> dict:
    """The row as it should be after this record: all COMPARED fields."""
    found_code, found_project = text.find_links(record.abstract, record.comments)
    if stored is None:
        row = {f: getattr(record, f) for f in METADATA}
        for field, default in DEFAULTS.items():
            if row[field] is None:
                row[field] = list(default) if isinstance(default, list) else default
        row["version"] = record.version or 1
        row["code_url"] = record.code_url or found_code
        row["project_url"] = record.project_url or found_project
        row["daily_date"] = record.daily_date or record.daily_date_if_new
        row["submitted_by_id"] = record.submitted_by_id
        row.update(_authors_fields(record.authors or []))
        row["source"] = {record.source_key: record.source} if record.source is not None else {}
        return row

    row = {f: stored[f] for f in COMPARED}
    if _is_newer(record, stored):
        for field in METADATA:
            value = getattr(record, field)
            if value is not None:
                row[field] = value
        if record.version is not None:
            row["version"] = record.version
        if record.authors is not None:
            row.update(_authors_fields(record.authors))
        update_source = True
    else:
        # An older version, or a source that isn't arXiv: fill in the blanks only.
        for field in METADATA:
            value = getattr(record, field)
            if value and not row[field]:
                row[field] = value
        if record.authors and not row["author_count"]:
            row.update(_authors_fields(record.authors))
        update_source = not record.authoritative
    if update_source and record.source is not None:
        row["source"] = {**(row["source"] or {}), record.source_key: record.source}
    row["code_url"] = record.code_url or row["code_url"] or found_code
    row["project_url"] = record.project_url or row["project_url"] or found_project
    if row["daily_date"] is None and record.daily_date:
        row["daily_date"] = record.daily_date
    if row["submitted_by_id"] is None and record.submitted_by_id:
        row["submitted_by_id"] = record.submitted_by_id
    return row


# --- Authors ----------------------------------------------------------------------------


def _chunks(items: list, size: int = 5000):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def resolve_authors(names: Iterable[str]) -> dict[str, int]:
    """normalised name -> Author id for every name, creating the missing Authors.
    Safe against a concurrent run creating the same ones (ON CONFLICT DO NOTHING,
    then read back)."""
    wanted: dict[str, str] = {}
    for name in names:
        key = normalise_name(name)[:NAME_LENGTH].strip()
        if key and key not in wanted:
            wanted[key] = name[:NAME_LENGTH]
    ids: dict[str, int] = {}
    for chunk in _chunks(list(wanted)):
        ids.update(
            Author.objects.filter(normalised_name__in=chunk).values_list("normalised_name", "id")
        )
    missing = [key for key in wanted if key not in ids]
    if missing:
        Author.objects.bulk_create(
            [Author(name=wanted[k], normalised_name=k, slug=slug_for(k)) for k in missing],
            ignore_conflicts=True,
            batch_size=2000,
        )
        for chunk in _chunks(missing):
            ids.update(
                Author.objects.filter(normalised_name__in=chunk).values_list(
                    "normalised_name", "id"
                )
            )
    for key in wanted.keys() - ids.keys():
        # The slug was taken by an author with another normalised name (e.g. one
        # renamed by hand): give this one a numbered slug.
        ids[key] = _create_with_free_slug(wanted[key], key)
    return ids


def _create_with_free_slug(name: str, key: str) -> int:
    base = slug_for(key)[: NAME_LENGTH - 8]
    for n in range(2, 1000):
        try:
            with transaction.atomic():
                return Author.objects.create(name=name, normalised_name=key, slug=f"{base}-{n}").pk
        except IntegrityError:
            existing = (
                Author.objects.filter(normalised_name=key).values_list("id", flat=True).first()
            )
            if existing:
                return existing
    raise IntegrityError(f"no free slug for author {name!r}")


def _authorships(paper_id: int, names: list[str], author_ids: dict[str, int]) -> list[Authorship]:
    rows, seen = [], set()
    for name in names:
        author_id = author_ids.get(normalise_name(name)[:NAME_LENGTH].strip())
        if author_id and author_id not in seen:
            seen.add(author_id)
            rows.append(Authorship(paper_id=paper_id, author_id=author_id, position=len(rows)))
    return rows


# --- One batch ------------------------------------------------------------------------------


def _write_batch(records: list[PaperRecord], keep_ids: bool) -> IngestResult:
    result = IngestResult()
    by_id = {r.arxiv_id: r for r in records}
    ids = sorted(by_id)
    stored = {
        row["arxiv_id"]: row
        for chunk in _chunks(ids)
        for row in Paper.objects.filter(arxiv_id__in=chunk)
        .order_by("arxiv_id")
        .select_for_update()
        .values("id", "arxiv_id", *COMPARED)
    }
    new_rows: list[Paper] = []
    changed_rows: list[Paper] = []
    author_lists: dict[str, list[str]] = {}
    now = timezone.now()
    for arxiv_id in ids:
        record, current = by_id[arxiv_id], stored.get(arxiv_id)
        row = merge(record, current)
        if current is None:
            new_rows.append(Paper(arxiv_id=arxiv_id, modified_at=now, **row))
            author_lists[arxiv_id] = record.authors or []
        elif any(row[f] != current[f] for f in COMPARED):
            changed_rows.append(Paper(arxiv_id=arxiv_id, modified_at=now, **row))
            if row["author_names"] != current["author_names"]:
                author_lists[arxiv_id] = record.authors or []
        else:
            result.unchanged += 1
            if keep_ids:
                result.ids[arxiv_id] = current["id"]

    if new_rows:
        Paper.objects.bulk_create(new_rows)
        result.created += len(new_rows)
        if keep_ids:
            result.created_ids.extend(p.arxiv_id for p in new_rows)
    if changed_rows:
        Paper.objects.bulk_create(
            changed_rows,
            update_conflicts=True,
            unique_fields=["arxiv_id"],
            update_fields=[*COMPARED, "modified_at"],
        )
        result.updated += len(changed_rows)
    pks = {p.arxiv_id: p.pk for p in new_rows}
    pks.update({a: stored[a]["id"] for a in (p.arxiv_id for p in changed_rows)})
    if keep_ids:
        result.ids.update(pks)

    if author_lists:
        author_ids = resolve_authors(n for names in author_lists.values() for n in names)
        rewritten = [pks[a] for a in author_lists if a in stored]
        for chunk in _chunks(rewritten):
            Authorship.objects.filter(paper_id__in=chunk).delete()
        Authorship.objects.bulk_create(
            [
                row
                for arxiv_id, names in author_lists.items()
                for row in _authorships(pks[arxiv_id], names, author_ids)
            ],
            batch_size=5000,
        )
    return result


def _retryable(exc: DatabaseError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in _RETRYABLE_STATES or (
        isinstance(exc, IntegrityError)
        and "UNIQUE constraint failed: papers_paper.arxiv_id" in str(exc)
    )


def upsert_batch(records: list[PaperRecord], keep_ids: bool = True) -> IngestResult:
    """Write one batch of prepared records in one transaction. If the batch fails for a
    reason other than a concurrent writer, each record is tried on its own so one bad
    record can't take the others with it."""
    # The last record for an id wins (a source may list a paper twice).
    records = list({r.arxiv_id: r for r in records}.values())
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return _write_batch(records, keep_ids)
        except (IntegrityError, OperationalError) as exc:
            if not _retryable(exc) or attempt == RETRIES - 1:
                if len(records) == 1:
                    raise
                break
            log.info("Batch of %d papers met a concurrent writer; retrying", len(records))
        except DatabaseError:
            if len(records) == 1:
                raise
            break
    result = IngestResult()
    for record in records:
        try:
            result.merge(upsert_batch([record], keep_ids), keep_ids)
        except DatabaseError as exc:
            result.fail(f"{record.name()}: not stored ({exc.__class__.__name__}: {exc})".strip())
            log.warning("%s: not stored: %s", record.name(), exc)
    return result


# --- A whole run -----------------------------------------------------------------------------


def ingest(
    items: Iterable[PaperRecord | RecordError],
    *,
    batch_size: int = BATCH_SIZE,
    keep_ids: bool = True,
    on_item: Callable[[PaperRecord | RecordError], None] | None = None,
    on_batch: Callable[[IngestResult], None] | None = None,
) -> IngestResult:
    """Consume records (and read errors) from a source, writing them in batches.

    on_item is called for each item (progress bars); on_batch after each committed
    batch (checkpoints)."""
    total = IngestResult()
    batch: list[PaperRecord] = []

    def flush():
        if batch:
            done = upsert_batch(batch, keep_ids)
            total.merge(done, keep_ids)
            batch.clear()
            if on_batch:
                on_batch(done)

    for item in items:
        if on_item:
            on_item(item)
        if isinstance(item, RecordError):
            total.fail(str(item))
            log.warning("%s", item)
            continue
        try:
            batch.append(prepare(item))
        except InvalidRecord as exc:
            total.fail(f"{item.name()}: {exc}")
            log.warning("%s: %s", item.name(), exc)
            continue
        if len(batch) >= batch_size:
            flush()
    flush()
    return total
