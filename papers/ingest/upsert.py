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
import functools
import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    OperationalError,
    connection,
    reset_queries,
    transaction,
)
from django.utils import timezone

from ..arxiv_ids import parse_arxiv_id
from ..models import Author, Authorship, Paper, normalise_name, slug_for
from . import text
from .records import IngestResult, PaperRecord, RecordError, SourceError

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


_NON_WORD = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=65536)
def author_key(name: str) -> str:
    """papers.models.normalise_name, cut to the column's length. Names recur (a batch
    looks each one up twice, and prolific authors are everywhere), hence the cache;
    plain ASCII names, most of them, skip the Unicode decomposition, which can't
    change them."""
    if name.isascii():
        key = " ".join(_NON_WORD.sub(" ", name.lower()).split())
    else:
        key = normalise_name(name)
    return key[:NAME_LENGTH].strip()


def _author_ids(keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        found.update(
            Author.objects.filter(normalised_name__in=chunk).values_list("normalised_name", "id")
        )
    return found


def _resolve_authors_pg(names: dict[str, str]) -> dict[str, int]:
    """PostgreSQL: the batch's names go into a temporary table with COPY; one INSERT
    ... ON CONFLICT DO NOTHING adds the new ones, one join reads all the ids."""
    other = [
        f
        for f in Author._meta.concrete_fields
        if f.column not in {"id", "name", "normalised_name", "slug"}
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS import_author_names"
            " (normalised_name text PRIMARY KEY, name text, slug text) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE import_author_names")
        # COPY runs on psycopg's own cursor: have Django translate its errors.
        with connection.wrap_database_errors:
            with cursor.cursor.copy("COPY import_author_names FROM STDIN") as copy:
                for key, name in names.items():
                    copy.write_row((key, name[:NAME_LENGTH], slug_for(key)))
        columns = ", ".join(["name", "normalised_name", "slug", *(f.column for f in other)])
        cursor.execute(
            f"INSERT INTO papers_author ({columns})"
            f" SELECT t.name, t.normalised_name, t.slug{', %s' * len(other)}"
            " FROM import_author_names t"
            " WHERE NOT EXISTS (SELECT 1 FROM papers_author a"
            "                   WHERE a.normalised_name = t.normalised_name)"
            " ORDER BY t.normalised_name"
            " ON CONFLICT DO NOTHING",
            [f.get_db_prep_save(f.get_default(), connection) for f in other],
        )
        cursor.execute(
            "SELECT t.normalised_name, a.id FROM import_author_names t"
            " JOIN papers_author a ON a.normalised_name = t.normalised_name"
        )
        return dict(cursor.fetchall())


def resolve_authors(names: dict[str, str]) -> dict[str, int]:
    """Author ids for {normalised name: display name}, creating the missing Authors.
    Safe against a concurrent run creating the same ones (ON CONFLICT DO NOTHING,
    then read back)."""
    if connection.vendor == "postgresql":
        ids = _resolve_authors_pg(names)
    else:
        ids = _author_ids(list(names))
        missing = [key for key in names if key not in ids]
        if missing:
            Author.objects.bulk_create(
                [
                    Author(name=names[k][:NAME_LENGTH], normalised_name=k, slug=slug_for(k))
                    for k in missing
                ],
                ignore_conflicts=True,
                batch_size=2000,
            )
            ids.update(_author_ids(missing))
    for key in names.keys() - ids.keys():
        # The slug was taken by an author with another normalised name (e.g. one
        # renamed by hand): give this one a numbered slug.
        ids[key] = _create_with_free_slug(names[key][:NAME_LENGTH], key)
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


# --- Writing rows --------------------------------------------------------------------------
# On PostgreSQL new papers and authorships go in with COPY (ids drawn from the sequence
# first), several times faster than a multi-row INSERT for the snapshot's millions. A
# concurrent insert of the same paper makes COPY fail on the unique arxiv_id like an
# INSERT would, and the batch is retried. Elsewhere (SQLite), bulk_create.


def _copy(table: str, model, rows: list[dict]):
    """COPY rows (dicts of column -> value) into `table`; columns the rows don't give
    get the field's default, so fields added to the model later still work."""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and "id" not in rows[0])]
    defaults = {
        f.column: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if f.column not in rows[0]
    }
    json_columns = {f.column for f in fields if f.get_internal_type() == "JSONField"}
    columns = [f.column for f in fields]
    # COPY runs on psycopg's own cursor: have Django translate its errors (a unique
    # violation must be an IntegrityError, which upsert_batch retries).
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        (json.dumps(row[c]) if c in json_columns else row[c])
                        if c in row
                        else defaults[c]
                        for c in columns
                    ]
                )


def _insert_papers(rows: list[dict], now) -> dict[str, int]:
    """Insert new papers; arxiv_id -> pk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('papers_paper', 'id'))"
                " FROM generate_series(1, %s)",
                [len(rows)],
            )
            pks = [pk for (pk,) in cursor.fetchall()]
        columns = [
            {
                "id": pk,
                "arxiv_id": row["arxiv_id"],
                "created_at": now,
                "modified_at": now,
                **{f: row[f] for f in COMPARED},
            }
            for pk, row in zip(pks, rows, strict=True)
        ]
        _copy("papers_paper", Paper, columns)
        return {row["arxiv_id"]: pk for pk, row in zip(pks, rows, strict=True)}
    papers = [Paper(modified_at=now, **row) for row in rows]
    Paper.objects.bulk_create(papers)
    return {p.arxiv_id: p.pk for p in papers}


def _upsert_papers(rows: list[dict], now):
    """Rewrite changed papers (their rows are locked): INSERT ... ON CONFLICT DO UPDATE."""
    Paper.objects.bulk_create(
        [Paper(modified_at=now, **row) for row in rows],
        update_conflicts=True,
        unique_fields=["arxiv_id"],
        update_fields=[*COMPARED, "modified_at"],
    )


def _insert_authorships(rows: list[tuple[int, int, int]]):
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(
            "papers_authorship",
            Authorship,
            [{"paper_id": p, "author_id": a, "position": n} for p, a, n in rows],
        )
    else:
        Authorship.objects.bulk_create(
            [Authorship(paper_id=p, author_id=a, position=n) for p, a, n in rows],
            batch_size=5000,
        )


# --- One batch ------------------------------------------------------------------------------


def _stored_rows(ids: list[str]) -> dict[str, dict]:
    """The stored rows of these papers, locked until the batch commits."""
    return {
        row["arxiv_id"]: row
        for chunk in _chunks(ids)
        for row in Paper.objects.filter(arxiv_id__in=chunk)
        .order_by("arxiv_id")
        .select_for_update()
        .values("id", "arxiv_id", *COMPARED)
    }


def _spellings(names) -> tuple[dict[str, str], dict[str, str]]:
    """({name: key}, {key: first spelling met}) for author names."""
    keys = {name: author_key(name) for name in names}
    spelling: dict[str, str] = {}
    for name, key in keys.items():
        if key:
            spelling.setdefault(key, name)  # a new Author takes the first spelling met
    return keys, spelling


def _write_batch(
    records: list[PaperRecord], keep_ids: bool, known_authors: dict[str, int]
) -> IngestResult:
    result = IngestResult()
    by_id = {r.arxiv_id: r for r in records}
    ids = sorted(by_id)
    stored = _stored_rows(ids)
    new_rows: list[dict] = []
    changed_rows: list[dict] = []
    author_lists: dict[str, list[str]] = {}
    now = timezone.now()
    for arxiv_id in ids:
        record, current = by_id[arxiv_id], stored.get(arxiv_id)
        row = merge(record, current)
        row["arxiv_id"] = arxiv_id
        if current is None:
            new_rows.append(row)
            author_lists[arxiv_id] = record.authors or []
        elif any(row[f] != current[f] for f in COMPARED):
            changed_rows.append(row)
            if row["author_names"] != current["author_names"]:
                author_lists[arxiv_id] = record.authors or []
        else:
            result.unchanged += 1
            if keep_ids:
                result.ids[arxiv_id] = current["id"]

    pks = _insert_papers(new_rows, now) if new_rows else {}
    result.created += len(new_rows)
    if changed_rows:
        _upsert_papers(changed_rows, now)
        result.updated += len(changed_rows)
        pks.update({row["arxiv_id"]: stored[row["arxiv_id"]]["id"] for row in changed_rows})
    if keep_ids:
        result.ids.update(pks)
        result.created_ids.extend(row["arxiv_id"] for row in new_rows)

    if author_lists:
        keys, spelling = _spellings(n for names in author_lists.values() for n in names)
        missing = {k: name for k, name in spelling.items() if k not in known_authors}
        author_ids = known_authors | (resolve_authors(missing) if missing else {})
        rewritten = [pks[a] for a in author_lists if a in stored]
        for chunk in _chunks(rewritten):
            Authorship.objects.filter(paper_id__in=chunk).delete()
        authorships = []
        for arxiv_id, names in author_lists.items():
            seen: set[int] = set()
            for name in names:
                author_id = author_ids.get(keys[name])
                if author_id and author_id not in seen:
                    seen.add(author_id)
                    authorships.append((pks[arxiv_id], author_id, len(seen) - 1))
        _insert_authorships(authorships)
    return result


def _retryable(exc: DatabaseError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in _RETRYABLE_STATES or (
        isinstance(exc, IntegrityError)
        and "UNIQUE constraint failed: papers_paper.arxiv_id" in str(exc)
    )


def _authors_of_new_papers(records: list[PaperRecord]) -> dict[str, int]:
    """Create the authors of papers not stored yet, committed on their own before the
    batch: batches written side by side then never wait for each other over a shared
    new author (an Author is just a name; one left unused by a failed batch is
    harmless). Inside a caller's transaction there is nothing to gain: skipped."""
    if connection.in_atomic_block:
        return {}
    ids = [r.arxiv_id for r in records]
    stored = set()
    for chunk in _chunks(ids):
        stored.update(Paper.objects.filter(arxiv_id__in=chunk).values_list("arxiv_id", flat=True))
    _, spelling = _spellings(
        name for r in records if r.arxiv_id not in stored for name in r.authors or ()
    )
    if not spelling:
        return {}
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return resolve_authors(spelling)
        except DatabaseError as exc:
            if not _retryable(exc) or attempt == RETRIES - 1:
                raise
    return {}


def upsert_batch(records: list[PaperRecord], keep_ids: bool = True) -> IngestResult:
    """Write one batch of prepared records in one transaction. If the batch fails on
    its data (not on a concurrent writer, not on the connection), each record is tried
    on its own so one bad record can't take the others with it."""
    # The last record for an id wins (a source may list a paper twice).
    records = list({r.arxiv_id: r for r in records}.values())
    known_authors = _authors_of_new_papers(records)
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return _write_batch(records, keep_ids, known_authors)
        except DatabaseError as exc:
            if _retryable(exc) and attempt < RETRIES - 1:
                log.info("A batch of %d papers met a concurrent writer; again", len(records))
                continue
            if len(records) == 1 or (isinstance(exc, OperationalError) and not _retryable(exc)):
                raise
            break
    result = IngestResult()
    for record in records:
        try:
            result.merge(upsert_batch([record], keep_ids), keep_ids)
        except (IntegrityError, DataError) as exc:
            result.fail(f"{record.name()}: not stored ({exc.__class__.__name__}: {exc})".strip())
            log.warning("%s: not stored: %s", record.name(), exc)
    return result


# --- A whole run -----------------------------------------------------------------------------


class _Writers:
    """Writes batches in threads of their own (each with its own database connection)
    while the caller reads and cleans the next ones, so Python's work and PostgreSQL's
    overlap and PostgreSQL works on both cores. The queue holds a few batches at most:
    memory stays flat. Batches may commit out of order, so `on_batch` hears of a batch
    (its checkpoint) only once every batch before it has committed too."""

    def __init__(self, count, keep_ids, on_batch):
        self.queue: queue.Queue = queue.Queue(maxsize=count + 1)
        self.keep_ids = keep_ids
        self.on_batch = on_batch
        self.result = IngestResult()
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.sent = 0
        self.done: dict[int, tuple[IngestResult, Any]] = {}
        self.reported = 0
        self.threads = [
            threading.Thread(target=self._run, name=f"ingest-writer-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self):
        try:
            while (job := self.queue.get()) is not None:
                if self.error is None:
                    self._write(*job)
        finally:
            connection.close()

    def _write(self, number, batch, mark):
        try:
            done = upsert_batch(batch, self.keep_ids)
            reset_queries()
            with self.lock:
                self.result.merge(done, self.keep_ids)
                self.done[number] = (done, mark)
                while self.reported in self.done:
                    finished, its_mark = self.done.pop(self.reported)
                    self.reported += 1
                    if self.on_batch:
                        self.on_batch(finished, its_mark)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc

    def put(self, batch, mark):
        if self.error:
            raise self.error
        self.queue.put((self.sent, batch, mark))
        self.sent += 1

    def finish(self) -> IngestResult:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if self.error:
            raise self.error
        return self.result


def ingest(
    items: Iterable[PaperRecord | RecordError],
    *,
    batch_size: int = BATCH_SIZE,
    keep_ids: bool = True,
    on_item: Callable[[PaperRecord | RecordError], None] | None = None,
    on_batch: Callable[[IngestResult, Any], None] | None = None,
    mark: Callable[[], Any] | None = None,
    background: int = 0,
) -> IngestResult:
    """Consume records (and read errors) from a source, writing them in batches.

    A SourceError from the source (an error feed, an OAI error, HTTP 4xx) ends the run
    as one more failure; a transient error (network, HTTP 5xx/429) is raised for the
    caller to retry, with the result so far as `exc.partial_result`. Either way the
    records read before it are written first.

    on_item is called for each item (progress bars); on_batch(result, mark()) after
    each committed batch, with what mark() said when the batch was cut (checkpoints).
    background: write in that many threads of their own (the snapshot import) unless
    the caller is inside a transaction, which other threads' connections can't join.
    """
    total = IngestResult()
    batch: list[PaperRecord] = []
    writer = None
    if background and not connection.in_atomic_block:
        writer = _Writers(background, keep_ids, on_batch)

    def flush():
        if not batch:
            return
        cut = mark() if mark else None
        if writer:
            writer.put(list(batch), cut)
        else:
            done = upsert_batch(batch, keep_ids)
            # With DEBUG on, Django keeps every query it ran: not for millions of rows.
            reset_queries()
            total.merge(done, keep_ids)
            if on_batch:
                on_batch(done, cut)
        batch.clear()

    def finish():
        if writer:
            total.merge(writer.finish(), keep_ids)

    iterator = iter(items)
    try:
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                break
            except SourceError as exc:
                total.fail(str(exc))
                log.warning("%s", exc)
                break
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
        finish()
    except BaseException as exc:
        # Keep what was read before the failure, then let the caller know.
        try:
            flush()
            finish()
        except BaseException:
            log.exception("Writing the records read before a failure failed too")
        exc.partial_result = total
        raise
    return total
