"""arXiv's bulk metadata snapshot: JSON lines, ~2.7 million, several GB.

The file is streamed line by line (never loaded whole) and written in batches, one
transaction each (ingest.upsert). Memory stays flat: a batch of records at a
time. Gzipped files (`.gz`) are read as they are.

Resuming: the import is an idempotent upsert, so running it again after a crash
continues without duplicates (stored papers come out "unchanged"). `--resume` also
skips the part of the file already committed: after each batch the byte offset and
line number of its last line are written to a checkpoint file next to the input
(`<file>.checkpoint`), and a resumed run seeks there.
"""

import contextlib
import dataclasses
import gc
import gzip
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from . import xmlparse
from .records import IngestResult, PaperRecord, RecordError, read_record
from .text import split_authors
from .upsert import ingest

log = logging.getLogger(__name__)

SOURCE_FIELDS = ("submitter", "report-no", "license", "versions")


def record_from_json(data, label: str) -> PaperRecord | RecordError:
    if not isinstance(data, dict):
        return RecordError(label, f"expected a JSON object, got {type(data).__name__}")
    arxiv_id = data.get("id")
    if not isinstance(arxiv_id, str) or not arxiv_id:
        return RecordError(label, "missing field 'id'")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        return RecordError(f"{label} ({arxiv_id})", "missing field 'title'")
    parsed = data.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        # [last, first, suffix, (affiliation)] -> "first last suffix"
        authors = [
            " ".join(filter(None, (a[1], a[0], a[2] if len(a) > 2 else "")))
            for a in parsed
            if isinstance(a, list) and len(a) >= 2
        ]
    else:
        authors = split_authors(data.get("authors") or "")
    versions = data.get("versions") if isinstance(data.get("versions"), list) else []
    numbers = [
        int(v["version"][1:])
        for v in versions
        if isinstance(v, dict) and str(v.get("version", ""))[1:].isdigit()
    ]
    first = versions[0].get("created") if versions and isinstance(versions[0], dict) else None
    last = versions[-1].get("created") if versions and isinstance(versions[-1], dict) else None
    categories = (data.get("categories") or "").split()
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        version=max(numbers) if numbers else None,
        abstract=data.get("abstract") or "",
        comments=data.get("comments") or "",
        journal_ref=data.get("journal-ref") or "",
        doi=data.get("doi") or "",
        categories=categories,
        primary_category=categories[0] if categories else "",
        published_at=xmlparse.rfc2822_datetime(first),
        updated_at=xmlparse.rfc2822_datetime(last),
        authors=authors,
        source={"from": "snapshot"} | {k: data[k] for k in SOURCE_FIELDS if data.get(k)},
        label=label,
    )


@dataclasses.dataclass
class Checkpoint:
    offset: int = 0
    line: int = 0


class SnapshotReader:
    """Iterates over the records of a snapshot file. `position` is where the last
    yielded line ends: after a batch is committed, that is where to resume."""

    def __init__(self, path: str | Path, start: Checkpoint | None = None, limit: int | None = None):
        self.path = Path(path)
        self.position = start or Checkpoint()
        self.limit = limit
        self.gzipped = self.path.suffix == ".gz"
        self.finished = False  # read to the end of the file
        self.checkpoint_failed = False

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def _open(self):
        return gzip.open(self.path, "rb") if self.gzipped else open(self.path, "rb")

    def __iter__(self) -> Iterator[PaperRecord | RecordError]:
        offset, line_no, read = self.position.offset, self.position.line, 0
        with self._open() as handle:
            if offset:
                handle.seek(offset)
            for raw in handle:
                offset += len(raw)
                line_no += 1
                if not raw.strip():
                    self.position = Checkpoint(offset, line_no)
                    continue
                label = f"line {line_no}"
                try:
                    data = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    truncated = not raw.endswith(b"\n")
                    what = (
                        "truncated record (the file ends mid-line)"
                        if truncated
                        else "malformed JSON"
                    )
                    item = RecordError(label, f"{what}: {exc}")
                else:
                    item = read_record(record_from_json, label, data, label)
                self.position = Checkpoint(offset, line_no)
                yield item
                read += 1
                if self.limit is not None and read >= self.limit:
                    return
        self.finished = True

    # --- checkpoints ---

    @property
    def checkpoint_path(self) -> Path:
        return self.path.with_name(self.path.name + ".checkpoint")

    def _identity(self) -> dict:
        stat = self.path.stat()
        return {"path": str(self.path.resolve()), "size": stat.st_size, "mtime": stat.st_mtime}

    def load_checkpoint(self) -> Checkpoint | None:
        try:
            data = json.loads(self.checkpoint_path.read_text())
        except (OSError, ValueError):
            return None
        if {k: data.get(k) for k in ("path", "size", "mtime")} != self._identity():
            return None  # another file, or this one changed: start over
        return Checkpoint(int(data["offset"]), int(data["line"]))

    def save_checkpoint(self, position: Checkpoint):
        """Best effort: a directory we can't write to costs --resume, not the import."""
        data = self._identity() | dataclasses.asdict(position)
        # Written aside and renamed, so a crash never leaves half a checkpoint; named by
        # process and thread, so two imports of one file don't trip over each other.
        tmp = self.checkpoint_path.with_name(
            f"{self.checkpoint_path.name}.{os.getpid()}-{threading.get_ident()}.tmp"
        )
        try:
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.checkpoint_path)
        except OSError as exc:
            if not self.checkpoint_failed:
                log.warning("No checkpoint for --resume (%s)", exc)
            self.checkpoint_failed = True

    def clear_checkpoint(self):
        try:
            self.checkpoint_path.unlink(missing_ok=True)
        except OSError:
            pass


@contextlib.contextmanager
def _fewer_collections(young: int = 10_000):
    """An import allocates millions of short-lived objects (records, rows, strings),
    none of them in reference cycles, and each collection of Python's cyclic garbage
    collector walks every object alive: Django's own hundreds of thousands included.
    Those are frozen out of its sight, and the young generation is collected every
    `young` allocations instead of 700: about a fifth less Python CPU per paper
    (README, Ingestion). Both are put back afterwards."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def import_file(
    path: str | Path,
    *,
    limit: int | None = None,
    resume: bool = False,
    batch_size: int = 2000,
    on_item=None,
    reader: SnapshotReader | None = None,
    writers: int = 2,
) -> IngestResult:
    """Import a snapshot file (or its first `limit` records). With `resume`, start
    after the last batch a previous run committed. The checkpoint is kept up to date
    either way and removed once the whole file is in. Pass `reader` to watch its
    `position` (progress bars)."""
    reader = reader or SnapshotReader(path)
    reader.limit = limit
    if resume:
        reader.position = reader.load_checkpoint() or Checkpoint()
    with _fewer_collections():
        result = ingest(
            reader,
            batch_size=batch_size,
            keep_ids=False,
            on_item=on_item,
            mark=lambda: reader.position,
            on_batch=lambda _, position: reader.save_checkpoint(position),
            background=writers,
        )
    if reader.finished:
        reader.clear_checkpoint()
    return result
