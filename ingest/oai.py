"""arXiv's OAI-PMH interface, for backfill.

    GET {ARXIV_OAI_URL}?verb=ListRecords&metadataPrefix=arXiv&from=2026-11-01&set=cs
    GET {ARXIV_OAI_URL}?verb=ListRecords&resumptionToken=...

Two formats: `arXiv` (structured authors, created/updated dates, no version number)
and `arXivRaw` (the version history with dates: the version number and both dates
come from it). Pages are followed by resumptionToken; arXiv throttles with
`503 Retry-After`, which the client waits out. OAI errors (`badArgument`,
`badResumptionToken`, ...) raise SourceError with the repository's words;
`noRecordsMatch` is simply an empty result.
"""

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from . import xmlparse
from .arxiv import daily_date_if_new
from .http import SourceClient, raise_for_client_error
from .models import HarvestCheckpoint
from .records import IngestResult, PaperRecord, RecordError, SourceError, read_record
from .text import split_authors
from .upsert import ingest

log = logging.getLogger(__name__)

SOURCE = "arXiv OAI-PMH"
FORMATS = ("arXiv", "arXivRaw")


class OaiError(SourceError):
    """An OAI-PMH error reply (<error code="...">)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass
class OaiPage:
    token: str | None = None
    complete_size: int | None = None
    items: list[PaperRecord | RecordError] = field(default_factory=list)
    broken: bool = False  # cut short: its token (if any) can't be trusted


def _date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _optional(meta, name: str) -> str:
    return xmlparse.text_of(meta, f"{{*}}{name}") or ""


def _common(meta, arxiv_id: str, label: str) -> dict:
    categories = (_optional(meta, "categories")).split()
    source = {"from": "oai"}
    for name in ("license", "report-no", "msc-class", "acm-class", "submitter"):
        value = xmlparse.text_of(meta, f"{{*}}{name}")
        if value:
            source[name] = value.strip()
    return {
        "arxiv_id": arxiv_id,
        "title": xmlparse.text_of(meta, "{*}title"),
        "abstract": _optional(meta, "abstract"),
        "comments": _optional(meta, "comments"),
        "journal_ref": _optional(meta, "journal-ref"),
        "doi": _optional(meta, "doi"),
        "categories": categories,
        "source": source,
        "label": label,
    }


def _arxiv_format(meta, arxiv_id: str, label: str) -> PaperRecord:
    fields = _common(meta, arxiv_id, label)
    authors = []
    for author in meta.findall("{*}authors/{*}author"):
        parts = (
            xmlparse.text_of(author, "{*}forenames"),
            xmlparse.text_of(author, "{*}keyname"),
            xmlparse.text_of(author, "{*}suffix"),
        )
        name = " ".join(p.strip() for p in parts if p and p.strip())
        if name:
            authors.append(name)
    published = _date(xmlparse.text_of(meta, "{*}created"))
    updated = _date(xmlparse.text_of(meta, "{*}updated")) or published
    return PaperRecord(
        **fields,
        authors=authors,
        published_at=published,
        updated_at=updated,
        daily_date_if_new=daily_date_if_new(fields["categories"], published),
    )


_VERSION = re.compile(r"v(\d+)$")


def _arxivraw_format(meta, arxiv_id: str, label: str) -> PaperRecord:
    fields = _common(meta, arxiv_id, label)
    versions = []
    for element in meta.findall("{*}version"):
        match = _VERSION.search(element.get("version") or "")
        versions.append(
            {
                "version": element.get("version"),
                "number": int(match.group(1)) if match else None,
                "date": xmlparse.text_of(element, "{*}date"),
                "size": xmlparse.text_of(element, "{*}size"),
            }
        )
    numbered = [v for v in versions if v["number"]]
    fields["source"]["versions"] = [
        {k: v[k] for k in ("version", "date", "size") if v[k]} for v in versions
    ]
    published = xmlparse.rfc2822_datetime(numbered[0]["date"]) if numbered else None
    return PaperRecord(
        **fields,
        version=max((v["number"] for v in numbered), default=None),
        authors=split_authors(xmlparse.text_of(meta, "{*}authors") or ""),
        published_at=published,
        updated_at=xmlparse.rfc2822_datetime(numbered[-1]["date"]) if numbered else None,
        daily_date_if_new=daily_date_if_new(fields["categories"], published),
    )


def _record(record, label: str) -> PaperRecord | RecordError | None:
    header = record.find("{*}header")
    identifier = (xmlparse.text_of(header, "{*}identifier") or "").strip()
    if header is not None and header.get("status") == "deleted":
        return None
    meta = record.find("{*}metadata/*")
    if meta is None:
        return RecordError(f"{label} ({identifier or 'no identifier'})", "record has no metadata")
    arxiv_id = (xmlparse.text_of(meta, "{*}id") or identifier.rsplit(":", 1)[-1]).strip()
    label = f"{label} ({arxiv_id or identifier or 'no id'})"
    if not arxiv_id:
        return RecordError(label, "record has no <id>")
    if not (xmlparse.text_of(meta, "{*}title") or "").strip():
        return RecordError(label, "record has no <title>")
    if meta.tag.rsplit("}", 1)[-1] == "arXivRaw":
        return _arxivraw_format(meta, arxiv_id, label)
    return _arxiv_format(meta, arxiv_id, label)


def parse_response(content: bytes, where: str = "") -> OaiPage:
    root, error = xmlparse.parse(content)
    prefix = f"{where}: " if where else ""
    if root is None or not str(root.tag).endswith("OAI-PMH"):
        raise SourceError(f"{prefix}not an OAI-PMH response ({error or f'root is <{root.tag}>'})")
    page = OaiPage()
    for oai_error in root.findall("{*}error"):
        code = oai_error.get("code") or "error"
        if code == "noRecordsMatch":
            return page
        raise OaiError(f"{prefix}OAI-PMH {code}: {(oai_error.text or '').strip()}", code)
    records, broken = xmlparse.split_at_break(
        root.findall("{*}ListRecords/{*}record") + root.findall("{*}GetRecord/{*}record"), error
    )
    for n, record in enumerate(records, 1):
        label = f"{prefix}record {n}"
        item = read_record(_record, label, record, label)
        if item is not None:
            page.items.append(item)
    token = root.find("{*}ListRecords/{*}resumptionToken")
    if token is not None and (token.text or "").strip():
        page.token = token.text.strip()
        size = token.get("completeListSize")
        page.complete_size = int(size) if size and size.isdigit() else None
    if error:
        what = xmlparse.text_of(broken, "{*}header/{*}identifier") if broken is not None else None
        name = f" in record {what.strip()}" if what else ""
        page.items.append(RecordError(where or "response", f"{error}{name}; it was skipped"))
        # A broken page can't be trusted to carry a whole token: stop here (a re-run
        # asks for this page again, and the upsert skips what is already stored).
        page.token = None
        page.broken = True
    return page


def read_file(path: str | Path) -> Iterator[PaperRecord | RecordError]:
    yield from parse_response(Path(path).read_bytes(), where=Path(path).name).items


def client(**kwargs) -> SourceClient:
    return SourceClient(SOURCE, min_interval=settings.ARXIV_REQUEST_INTERVAL, **kwargs)


def window_key(
    metadata_prefix: str = "arXiv",
    from_date: dt.date | None = None,
    until: dt.date | None = None,
    set_spec: str | None = None,
) -> str:
    return f"{metadata_prefix}|from={from_date or ''}|until={until or ''}|set={set_spec or ''}"


class Harvest:
    """ListRecords for one window (format, from, until, set), page by page, following
    resumptionTokens, as an iterator of records.

    Checkpoints: `position` is the token to start from so that nothing handed out so
    far is missed: the token of the page being read, and once its last record has
    been handed out, the next page's token. After each committed batch `save(token)`
    stores it (HarvestCheckpoint), and a harvest of the same window made with
    `resume=True` starts there: a task retried after a network error, a task that
    reached its time limit and queued its own continuation, or `ingest_oai` run again.
    `finished` once the last page is read; the caller then calls `clear()` after the
    last batch is committed. A saved token that arXiv no longer accepts
    (badResumptionToken: tokens expire) starts the window again from the beginning.
    """

    def __init__(
        self,
        *,
        metadata_prefix: str = "arXiv",
        from_date: dt.date | None = None,
        until: dt.date | None = None,
        set_spec: str | None = None,
        resume: bool = True,
        max_pages: int | None = None,
        http: SourceClient | None = None,
    ):
        if metadata_prefix not in FORMATS:
            raise SourceError(f"unknown metadataPrefix {metadata_prefix!r} (use arXiv or arXivRaw)")
        self.params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
        if from_date:
            self.params["from"] = from_date.isoformat()
        if until:
            self.params["until"] = until.isoformat()
        if set_spec:
            self.params["set"] = set_spec
        self.window = window_key(metadata_prefix, from_date, until, set_spec)
        self.max_pages = max_pages
        self.http = http
        self.position: str | None = None
        self.pages = 0
        self.finished = False
        self.resumed: HarvestCheckpoint | None = None
        if resume:
            self.resumed = HarvestCheckpoint.objects.filter(window=self.window).first()
            if self.resumed:
                self.position, self.pages = self.resumed.token, self.resumed.pages

    def __iter__(self) -> Iterator[PaperRecord | RecordError]:
        own = self.http is None
        http = self.http or client()
        read = 0
        try:
            while True:
                # Following a token, the other arguments must not be repeated (OAI-PMH).
                params = (
                    {"verb": "ListRecords", "resumptionToken": self.position}
                    if self.position
                    else self.params
                )
                try:
                    page = self._get(http, params, f"page {self.pages + 1}")
                except OaiError as exc:
                    if exc.code != "badResumptionToken" or not self.resumed or read:
                        raise
                    log.warning("%s: the saved token has expired; starting over", self.window)
                    self.clear()
                    self.resumed, self.position, self.pages = None, None, 0
                    continue
                yield from page.items
                read += 1
                self.pages += 1
                if page.broken:
                    return  # `position` still names this page: a re-run asks again
                self.position = page.token
                if not page.token:
                    self.finished = True
                    return
                if self.max_pages and read >= self.max_pages:
                    return
        finally:
            if own:
                http.close()

    @staticmethod
    def _get(http: SourceClient, params: dict, where: str) -> OaiPage:
        response = http.get(settings.ARXIV_OAI_URL, params=params)
        if response.status_code >= 400:
            # OAI errors come as XML with a code; prefer it to the bare status.
            if response.content.strip():
                try:
                    parse_response(response.content, where)
                except OaiError as exc:
                    raise OaiError(f"{exc} (HTTP {response.status_code})", exc.code) from None
                except SourceError as exc:
                    raise SourceError(f"{exc} (HTTP {response.status_code})") from None
            raise_for_client_error(response, SOURCE)
        return parse_response(response.content, where)

    def save(self, token: str | None):
        """After a committed batch: resume from `token` (None: from the start)."""
        if token:
            HarvestCheckpoint.objects.update_or_create(
                window=self.window, defaults={"token": token, "pages": self.pages}
            )

    def clear(self):
        HarvestCheckpoint.objects.filter(window=self.window).delete()


def harvest(**kwargs) -> Iterator[PaperRecord | RecordError]:
    """Records of a window without checkpoints (see Harvest)."""
    yield from Harvest(resume=False, **kwargs)


def ingest_window(*, resume: bool = True, on_item=None, **kwargs) -> tuple[IngestResult, Harvest]:
    """Harvest a window into the database, saving a checkpoint after each committed
    batch and resuming from the last one (unless `resume` is False). On a transient
    error the checkpoint is saved before the error is raised, for the retry."""
    run = Harvest(resume=resume, **kwargs)
    result = ingest(
        run,
        keep_ids=False,
        on_item=on_item,
        mark=lambda: run.position,
        on_batch=lambda _result, token: run.save(token),
    )
    if run.finished:
        run.clear()
    return result, run
