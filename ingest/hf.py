"""The Hugging Face daily papers API (JSON).

    GET {HF_DAILY_PAPERS_URL}?date=2026-11-27&limit=100&p=0

Each item is a paper featured that day. Two shapes are read:

- current: `paper.submittedOnDailyAt` is when it was featured (-> daily_date),
  `paper.githubRepo` / `paper.projectPage` are its links;
- 2024: no `submittedOnDailyAt`; the day is the list's date (the `date` asked for, or
  else the item's own `publishedAt`, the time it was put on the list).

The whole item is kept in Paper.source["hf"]. Hugging Face is not arXiv: its metadata
only fills in what a paper lacks (arXiv's own is fetched for new papers by the task).
"""

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from . import xmlparse
from .http import SourceClient, raise_for_client_error
from .records import PaperRecord, RecordError, SourceError, read_record

SOURCE = "Hugging Face daily papers"
PAGE_SIZE = 100


def _items(content: bytes | str, where: str) -> Iterator[dict | RecordError]:
    """The items of a JSON array, one by one, so that a file cut short or broken in the
    middle still yields every item before the break."""
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if data is not None:
        if isinstance(data, dict) and "error" in data:
            raise SourceError(f"{where}: {SOURCE} error: {data['error']}")
        if not isinstance(data, list):
            raise SourceError(f"{where}: expected a JSON list of papers, got {type(data).__name__}")
        yield from data
        return
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip())
    if not text[position : position + 1] == "[":
        raise SourceError(f"{where}: not JSON (expected a list of papers)")
    position += 1
    n = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            yield RecordError(where, f"truncated JSON after item {n} (no closing bracket)")
            return
        if text[position] == "]":
            return
        try:
            item, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            yield RecordError(
                f"{where}: item {n + 1}",
                f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
                "the rest of the file was not read",
            )
            return
        n += 1
        yield item


def _day(value) -> dt.date | None:
    parsed = xmlparse.iso_datetime(value) if isinstance(value, str) else None
    return parsed.astimezone(dt.UTC).date() if parsed else None


def _record(item, label: str, list_date: dt.date | None) -> PaperRecord | RecordError:
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        return RecordError(label, "item has no 'paper' object")
    paper = item["paper"]
    arxiv_id = paper.get("id")
    if not isinstance(arxiv_id, str) or not arxiv_id.strip():
        return RecordError(label, "missing field 'paper.id'")
    label = f"{label} ({arxiv_id})"
    title = paper.get("title") or item.get("title")
    if not isinstance(title, str) or not title.strip():
        return RecordError(label, "missing field 'paper.title'")
    authors = paper.get("authors")
    if authors is not None and not isinstance(authors, list):
        return RecordError(label, "'paper.authors' is not a list")
    names = [a.get("name") for a in authors or [] if isinstance(a, dict) and a.get("name")]
    featured = _day(paper.get("submittedOnDailyAt")) or list_date or _day(item.get("publishedAt"))
    if featured is None:
        return RecordError(label, "no day featured (no submittedOnDailyAt and no list date)")
    if paper.get("withdrawnAt"):
        featured = None  # withdrawn from the list: indexed, not featured
    summary = paper.get("summary") if isinstance(paper.get("summary"), str) else None
    return PaperRecord(
        arxiv_id=arxiv_id.strip(),
        title=title,
        authoritative=False,
        abstract=summary,
        authors=names or None,
        published_at=xmlparse.iso_datetime(paper.get("publishedAt")),
        code_url=paper.get("githubRepo") or "",
        project_url=paper.get("projectPage") or "",
        daily_date=featured,
        source_key="hf",
        source=item,
        label=label,
    )


def parse(
    content: bytes | str, list_date: dt.date | None = None, where: str = "response"
) -> Iterator[PaperRecord | RecordError]:
    n = 0
    for item in _items(content, where):
        if isinstance(item, RecordError):
            yield item
            continue
        n += 1
        label = f"{where}: item {n}"
        yield read_record(_record, label, item, label, list_date)


def read_file(path: str | Path, list_date: dt.date | None = None):
    yield from parse(Path(path).read_bytes(), list_date, where=Path(path).name)


def fetch(
    day: dt.date | None = None, http: SourceClient | None = None
) -> Iterator[PaperRecord | RecordError]:
    """The list for `day` (Hugging Face's latest list when None), page by page."""
    own = http is None
    http = http or SourceClient(SOURCE)
    try:
        for page in range(settings.HF_MAX_PAGES):
            params = {"limit": PAGE_SIZE, "p": page}
            if day:
                params["date"] = day.isoformat()
            response = http.get(settings.HF_DAILY_PAPERS_URL, params=params)
            raise_for_client_error(response, SOURCE, response.text[:200].strip())
            count = 0
            for item in parse(response.content, day, where=f"{day or 'latest'} page {page}"):
                count += 1
                yield item
            if count < PAGE_SIZE:
                break
    finally:
        if own:
            http.close()
