"""Importing papers into a library (and optionally a collection): a list of arXiv ids or
links, or a BibTeX file.

Everything is read and checked before anything is written, and written in one
transaction: an import that is refused (too large, too many ids, a BibTeX "bomb") adds
nothing. Papers this site has are saved at once; the others are fetched from arXiv by
one task (library.tasks.fetch_imported_papers), within /submit/'s per-user limit, then
saved. Fetching them does not feature them: an import of 500 old papers leaves today's
list as it was.
"""

import dataclasses
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_ratelimit.core import get_usage

from papers.arxiv_ids import parse_arxiv_id
from papers.models import Paper
from papers.queueing import enqueue_on_commit

from .models import SavedPaper
from .tasks import fetch_imported_papers

MAX_IDS = 500
MAX_FILE_BYTES = 1024 * 1024
MAX_TEXT_CHARS = 200_000
# A real .bib file nests braces a few levels deep and defines a handful of @string
# macros; far past that it is an attack on the parser (a "BibTeX bomb"), refused whole.
MAX_BRACE_DEPTH = 32
MAX_STRING_MACROS = 100


class ImportRefused(Exception):
    """The whole import is refused, with a message for the user; nothing was written."""


@dataclasses.dataclass
class Line:
    label: str  # what the user wrote (a line, or a BibTeX entry's key)
    arxiv_id: str = ""
    # saved | already | fetching | invalid | duplicate | hidden | limited | missing
    status: str = ""
    message: str = ""
    paper: Paper | None = None


def lines_from_text(text: str) -> list[Line]:
    """One id or link per line (commas and spaces separate too); blank lines skipped."""
    if len(text) > MAX_TEXT_CHARS:
        raise ImportRefused(
            f"That is too much text to import at once: at most {MAX_IDS} ids or links."
        )
    items = [item for item in re.split(r"[\s,]+", text) if item]
    _check_count(len(items))
    lines = []
    for item in items:
        line = Line(label=item[:200])
        try:
            line.arxiv_id = parse_arxiv_id(item).id
        except ValidationError:
            line.status, line.message = "invalid", "Not an arXiv id or link."
        lines.append(line)
    return lines


def _check_count(count: int):
    if count > MAX_IDS:
        raise ImportRefused(
            f"This import names {count:,} papers; at most {MAX_IDS} can be imported at "
            "once. Nothing was imported: split the list and import it in parts."
        )


_ENTRY = re.compile(r"@\s*([A-Za-z]+)\s*[{(]\s*([^,\s{}()]*)", re.ASCII)
_ARXIV_IN_ENTRY = [
    re.compile(r"\beprint\s*=\s*[{\"]\s*(?:arxiv:)?([^}\"\s]+)", re.IGNORECASE),
    re.compile(r"\barxiv(?:id)?\s*=\s*[{\"]\s*(?:arxiv:)?([^}\"\s]+)", re.IGNORECASE),
    re.compile(r"10\.48550/arxiv\.([^}\"\s,]+)", re.IGNORECASE),
    re.compile(r"arxiv\.org/(?:abs|pdf)/([^}\"\s,]+)", re.IGNORECASE),
    re.compile(
        r"\barxiv:\s*([0-9]{4}\.[0-9]{4,5}(?:v[0-9]+)?|[a-z-]+(?:\.[A-Z]{2})?/[0-9]{7})",
        re.IGNORECASE,
    ),
]  # fmt: skip


def lines_from_bibtex(data: bytes) -> list[Line]:
    """An entry per paper, its arXiv id read from eprint=, an arXiv DOI or URL. Not a
    full BibTeX parser: the file is only scanned for those fields, and macros are
    never expanded, so no input can make it do more work than the file's length."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; at most 1 MB can be imported. "
            "Nothing was imported."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    _check_not_a_bomb(text)
    entries = [m for m in _ENTRY.finditer(text) if m.group(1).lower() not in _NOT_ENTRIES]
    if not entries:
        raise ImportRefused("No BibTeX entries were found in this file. Nothing was imported.")
    _check_count(len(entries))
    lines = []
    for index, match in enumerate(entries):
        end = entries[index + 1].start() if index + 1 < len(entries) else len(text)
        body = text[match.end() : end]
        line = Line(label=match.group(2)[:200] or f"entry {index + 1}")
        for pattern in _ARXIV_IN_ENTRY:
            found = pattern.search(body)
            if found:
                try:
                    line.arxiv_id = parse_arxiv_id(found.group(1).rstrip(".")).id
                    break
                except ValidationError:
                    continue
        if not line.arxiv_id:
            line.status, line.message = "invalid", "No arXiv id in this entry."
        lines.append(line)
    return lines


_NOT_ENTRIES = {"string", "preamble", "comment"}


def _check_not_a_bomb(text: str):
    macros = len(re.findall(r"@\s*string\s*[{(]", text, re.IGNORECASE))
    if macros > MAX_STRING_MACROS:
        raise ImportRefused(
            f"This file defines {macros:,} @string macros (at most {MAX_STRING_MACROS}): "
            "it does not look like a bibliography. Nothing was imported."
        )
    depth = deepest = 0
    for char in text:
        if char == "{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_BRACE_DEPTH:
                raise ImportRefused(
                    f"Braces in this file nest more than {MAX_BRACE_DEPTH} levels deep: it "
                    "does not look like a bibliography. Nothing was imported."
                )
        elif char == "}":
            depth = max(depth - 1, 0)


def _submission_usage(request, increment=False):
    return get_usage(
        request,
        group="papers:submit",
        key="user",
        rate=lambda group, request: settings.SUBMIT_RATE_LIMIT,
        increment=increment,
    )


def _submission_budget(request) -> int:
    """How many more papers the user may have fetched now: /submit/'s limit, shared,
    which keeps one user's imports from keeping the arXiv API (and the worker) busy
    for everyone."""
    usage = _submission_usage(request)
    if usage is None:
        return MAX_IDS
    return max(usage["limit"] - usage["count"], 0)


def run_import(request, lines: list[Line], collection=None) -> list[Line]:
    """Save the papers named by `lines` to the user's library (and `collection`),
    fill in each line's status, and queue one fetch for the papers the site lacks."""
    user = request.user
    wanted = {line.arxiv_id for line in lines if line.arxiv_id}
    papers = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=wanted)}
    already = set(
        SavedPaper.objects.filter(user=user, paper__arxiv_id__in=wanted).values_list(
            "paper__arxiv_id", flat=True
        )
    )
    budget = _submission_budget(request)
    seen = set()
    to_save = []
    to_fetch = []
    for line in lines:
        if not line.arxiv_id:
            continue
        if line.arxiv_id in seen:
            line.status, line.message = "duplicate", "Listed twice: imported once."
            continue
        seen.add(line.arxiv_id)
        paper = papers.get(line.arxiv_id)
        if paper is not None and paper.is_hidden:
            line.status, line.message = "hidden", "Hidden by the moderators."
        elif paper is not None:
            line.paper = paper
            to_save.append(paper)
            if paper.arxiv_id in already:
                line.status, line.message = "already", "Already in your library."
            else:
                line.status, line.message = "saved", "Saved."
        elif len(to_fetch) >= budget:
            line.status = "limited"
            line.message = (
                "Not on this site yet, and you have reached the submission limit "
                f"({settings.SUBMIT_RATE_LIMIT}): import it again later."
            )
        else:
            to_fetch.append(line.arxiv_id)
            line.status = "fetching"
            line.message = "Fetching from arXiv: it joins your library when it arrives."
    with transaction.atomic():
        SavedPaper.objects.bulk_create(
            [SavedPaper(user=user, paper=paper) for paper in to_save], ignore_conflicts=True
        )
        if collection is not None and to_save:
            collection.add_papers(to_save)
        if to_fetch:
            for _ in to_fetch:
                _submission_usage(request, increment=True)
            enqueue_on_commit(
                fetch_imported_papers,
                user.pk,
                to_fetch,
                collection.pk if collection else None,
                on_failure=lambda: _unqueued(lines),
            )
    return lines


def _unqueued(lines: list[Line]):
    """The fetch could not be queued (the task broker is down): say so on its lines."""
    for line in lines:
        if line.status == "fetching":
            line.status = "missing"
            line.message = "Fetching is paused for a moment: import it again in a few minutes."
