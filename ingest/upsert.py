"""Upsert papers by arXiv id, in batches: the one way any source writes papers.

Each batch is one transaction:

    1. clean and validate the records (a bad record fails alone, named);
    2. lock the stored rows of the batch (SELECT ... FOR UPDATE, in id order);
    3. merge each record into its stored row (the rules in clean.py) and skip rows it
       doesn't change, so the same input twice writes nothing;
    4. INSERT the new papers, upsert the changed ones (INSERT ... ON CONFLICT
       (arxiv_id) DO UPDATE), resolve their authors in bulk and rewrite their
       authorships.

Two runs at once: the unique arxiv_id decides. A run that inserts a paper another run
inserted first gets an IntegrityError, rolls the batch back and does it again (now
seeing the stored row). Deadlocks between batches that lock the same rows are retried
the same way. So nothing is duplicated and nothing is half-written.

The merge rules are in clean.py, authors in authors.py, the row writers in writers.py.
"""

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

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

from papers.models import Authorship, Paper

from .authors import resolve_authors, spellings
from .clean import COMPARED, InvalidRecord, merge, prepare
from .records import IngestResult, PaperRecord, RecordError, SourceError, unexpected
from .writers import chunks, insert_authorships, insert_papers, upsert_papers

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
RETRIES = 4
# SQLSTATEs worth another go: unique violation (a concurrent insert), deadlock,
# serialization failure.
_RETRYABLE_STATES = {"23505", "40P01", "40001"}


# --- One batch ------------------------------------------------------------------------------


def _stored_rows(ids: list[str]) -> dict[str, dict]:
    """The stored rows of these papers, locked until the batch commits."""
    return {
        row["arxiv_id"]: row
        for chunk in chunks(ids)
        for row in Paper.objects.filter(arxiv_id__in=chunk)
        .order_by("arxiv_id")
        .select_for_update()
        .values("id", "arxiv_id", *COMPARED)
    }


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

    pks = insert_papers(new_rows, now) if new_rows else {}
    result.created += len(new_rows)
    if changed_rows:
        upsert_papers(changed_rows, now)
        result.updated += len(changed_rows)
        pks.update({row["arxiv_id"]: stored[row["arxiv_id"]]["id"] for row in changed_rows})
    if keep_ids:
        result.ids.update(pks)
        result.created_ids.extend(row["arxiv_id"] for row in new_rows)

    if author_lists:
        keys, spelling = spellings(n for names in author_lists.values() for n in names)
        missing = {k: name for k, name in spelling.items() if k not in known_authors}
        author_ids = known_authors | (resolve_authors(missing) if missing else {})
        rewritten = [pks[a] for a in author_lists if a in stored]
        for chunk in chunks(rewritten):
            Authorship.objects.filter(paper_id__in=chunk).delete()
        authorships = []
        for arxiv_id, names in author_lists.items():
            seen: set[int] = set()
            for name in names:
                author_id = author_ids.get(keys[name])
                if author_id and author_id not in seen:
                    seen.add(author_id)
                    authorships.append((pks[arxiv_id], author_id, len(seen) - 1))
        insert_authorships(authorships)
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
    for chunk in chunks(ids):
        stored.update(Paper.objects.filter(arxiv_id__in=chunk).values_list("arxiv_id", flat=True))
    _, spelling = spellings(
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
            except Exception as exc:
                # One odd record fails alone; the run goes on.
                total.fail(f"{item.name()}: {unexpected(item.name(), exc)}")
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
