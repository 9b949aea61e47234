"""The arXiv API (Atom 1.0): new papers by category and submission date, or by id.

    GET {ARXIV_API_URL}?search_query=(cat:cs.LG OR cat:cs.CL) AND
        submittedDate:[202611250000 TO 202611272359]
        &sortBy=submittedDate&sortOrder=descending&start=0&max_results=200

Pages are fetched with `start`/`max_results` until a page comes back empty or
`opensearch:totalResults` is reached, one request every ARXIV_REQUEST_INTERVAL seconds
(arXiv's terms: at most one every 3 s). Both the current format and the 2016 one
(hard-wrapped text, `rel="self"` links, http links) are read. An error (HTTP 400 with
arXiv's error feed, "incorrect id format for abc") raises SourceError with arXiv's own
words.
"""

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from . import xmlparse
from .http import SourceClient, raise_for_client_error
from .records import PaperRecord, RecordError, SourceError, read_record

log = logging.getLogger(__name__)

SOURCE = "arXiv API"
_ERROR_ID = "arxiv.org/api/errors"


def daily_date_if_new(categories: list[str], published_at: dt.datetime | None) -> dt.date | None:
    """The day a paper joins the daily list because it is new in one of
    settings.DAILY_CATEGORIES (empty by default: only submitted and Hugging Face
    papers are featured). Old papers met during a backfill don't join."""
    wanted = settings.DAILY_CATEGORIES
    if not wanted or published_at is None or not set(categories) & set(wanted):
        return None
    if published_at < timezone.now() - dt.timedelta(days=settings.DAILY_NEW_DAYS):
        return None
    return published_at.astimezone(dt.UTC).date()


@dataclass
class FeedPage:
    total: int | None = None
    entries: int = 0
    items: list[PaperRecord | RecordError] = field(default_factory=list)


def _entry_record(entry, label: str) -> PaperRecord | RecordError:
    entry_id = (xmlparse.text_of(entry, "{*}id") or "").strip()
    if not entry_id:
        return RecordError(label, "entry has no <id>")
    arxiv_id = entry_id.rsplit("/abs/", 1)[-1]
    label = f"{label} ({arxiv_id})"
    title = xmlparse.text_of(entry, "{*}title")
    if title is None or not title.strip():
        return RecordError(label, "entry has no <title>")
    primary = entry.find("{*}primary_category")
    categories = [c.get("term") for c in entry.findall("{*}category") if c.get("term")]
    published_at = xmlparse.iso_datetime(xmlparse.text_of(entry, "{*}published"))
    authors, affiliations = [], []
    for author in entry.findall("{*}author"):
        name = xmlparse.text_of(author, "{*}name")
        if name:
            authors.append(name)
            affiliations.extend([name, a.text] for a in author.findall("{*}affiliation") if a.text)
    source = {"from": "api", "id": entry_id}
    if affiliations:
        source["affiliations"] = affiliations
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=xmlparse.text_of(entry, "{*}summary") or "",
        comments=xmlparse.text_of(entry, "{*}comment") or "",
        journal_ref=xmlparse.text_of(entry, "{*}journal_ref") or "",
        doi=xmlparse.text_of(entry, "{*}doi") or "",
        primary_category=primary.get("term") if primary is not None else None,
        categories=categories,
        published_at=published_at,
        updated_at=xmlparse.iso_datetime(xmlparse.text_of(entry, "{*}updated")),
        authors=authors,
        daily_date_if_new=daily_date_if_new(categories, published_at),
        source=source,
        label=label,
    )


def parse_feed(content: bytes, where: str = "") -> FeedPage:
    """Records from one Atom page. Raises SourceError for arXiv's error feed and for a
    response with no feed at all."""
    root, error = xmlparse.parse(content)
    page = FeedPage()
    prefix = f"{where}: " if where else ""
    if root is None or not str(root.tag).endswith("feed"):
        raise SourceError(f"{prefix}not an Atom feed ({error or f'root is <{root.tag}>'})")
    entries, broken = xmlparse.split_at_break(root.findall("{*}entry"), error)
    for entry in entries:
        if _ERROR_ID in (xmlparse.text_of(entry, "{*}id") or ""):
            message = (xmlparse.text_of(entry, "{*}summary") or "unknown error").strip()
            raise SourceError(f"{prefix}arXiv API error: {message}")
    total = xmlparse.text_of(root, "{*}totalResults")
    page.total = int(total) if total and total.strip().isdigit() else None
    page.entries = len(entries)
    for n, entry in enumerate(entries, 1):
        label = f"{prefix}entry {n}"
        page.items.append(read_record(_entry_record, label, entry, label))
    if error:
        what = xmlparse.text_of(broken, "{*}id") if broken is not None else None
        name = f" in entry {what.rsplit('/abs/', 1)[-1]}" if what else ""
        page.items.append(RecordError(where or "feed", f"{error}{name}; the entry was skipped"))
    return page


def read_file(path: str | Path) -> Iterator[PaperRecord | RecordError]:
    """A saved API response: the same parsing as a fetched one."""
    content = Path(path).read_bytes()
    yield from parse_feed(content, where=Path(path).name).items


def build_query(categories: Iterable[str], since: dt.date, until: dt.date | None = None) -> str:
    until = until or timezone.now().date()
    cats = " OR ".join(f"cat:{c}" for c in categories)
    return f"({cats}) AND submittedDate:[{since:%Y%m%d}0000 TO {until:%Y%m%d}2359]"


def client(**kwargs) -> SourceClient:
    return SourceClient(SOURCE, min_interval=settings.ARXIV_REQUEST_INTERVAL, **kwargs)


def fetch(
    *,
    search_query: str = "",
    id_list: Iterable[str] = (),
    page_size: int | None = None,
    max_records: int | None = None,
    http: SourceClient | None = None,
) -> Iterator[PaperRecord | RecordError]:
    """Every record the query finds, page by page."""
    page_size = page_size or settings.ARXIV_PAGE_SIZE
    own = http is None
    http = http or client()
    params = {
        "search_query": search_query,
        "id_list": ",".join(id_list),
        "sortBy": "submittedDate" if search_query else "relevance",
        "sortOrder": "descending",
        "max_results": page_size,
    }
    start = 0
    try:
        while max_records is None or start < max_records:
            params["start"] = start
            response = http.get(settings.ARXIV_API_URL, params=params)
            where = f"page start={start}"
            if response.status_code >= 400:
                # arXiv explains a bad request in an error feed; use its words.
                parse_feed(response.content, where)
                raise_for_client_error(response, SOURCE)
            page = parse_feed(response.content, where)
            yield from page.items
            if not page.entries or id_list:
                break
            start += page.entries
            if page.total is not None and start >= page.total:
                break
    finally:
        if own:
            http.close()


def fetch_new(
    categories: Iterable[str] | None = None,
    since: dt.date | None = None,
    **kwargs,
) -> Iterator[PaperRecord | RecordError]:
    categories = list(categories or settings.ARXIV_CATEGORIES)
    since = since or (timezone.now() - dt.timedelta(days=settings.ARXIV_LOOKBACK_DAYS)).date()
    yield from fetch(search_query=build_query(categories, since), **kwargs)


def fetch_ids(ids: Iterable[str], **kwargs) -> Iterator[PaperRecord | RecordError]:
    """Papers by id, in requests of at most ARXIV_PAGE_SIZE ids."""
    ids = list(ids)
    size = settings.ARXIV_PAGE_SIZE
    given = kwargs.pop("http", None)
    http = given or client()
    try:
        for start in range(0, len(ids), size):
            yield from fetch(id_list=ids[start : start + size], http=http, **kwargs)
    finally:
        if given is None:
            http.close()
