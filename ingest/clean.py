"""Cleaning records and merging them into stored rows: the rules every source obeys.

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

from django.core.exceptions import ValidationError
from django.utils import timezone

from papers.arxiv_ids import parse_arxiv_id

from . import text
from .records import PaperRecord

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
