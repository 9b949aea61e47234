"""A library or a collection for a reference manager: BibTeX, RIS and CSV.

BibTeX entries are the paper page's own (papers.citation), with citation keys made
unique within the file: "vaswani2017attention" for the first paper that would get it
(in arXiv id order, so a key does not change when newer papers join), then
"vaswani2017attentiona", "vaswani2017attentionb", ... Text stays in Unicode (the file
is UTF-8, as biber and every reference manager read it) and TeX already in a title
(Schr\\"odinger) is kept; RIS has no TeX, so there the accents become Unicode.
"""

import csv
import io
import re
import string
import unicodedata

from papers import citation

# TeX accent commands and the combining characters they stand for.
_ACCENTS = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303",
    "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
    "c": "\u0327", "k": "\u0328", "r": "\u030a",
}  # fmt: skip
_LETTERS = {
    "ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "aa": "å", "AA": "Å",
    "oe": "œ", "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ",
}  # fmt: skip
_SYMBOL_ACCENT = re.compile(r"\{?\\([\"'`^~=.])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))\}?")
_LETTER_ACCENT = re.compile(r"\{?\\([uvHckr])(?:\s*\{\s*(\\?[A-Za-z])\s*\}|\s+([A-Za-z]))\}?")
_LETTER_MACRO = re.compile(r"\{?\\(ss|ae|AE|aa|AA|oe|OE|[oOlLij])(?![A-Za-z])\s*(?:\{\})?\}?")


def _accented(match) -> str:
    base = match.group(2) or match.group(3)
    if base.startswith("\\"):
        base = _LETTERS.get(base[1:], base[1:])
    return unicodedata.normalize("NFC", base + _ACCENTS[match.group(1)])


def tex_to_unicode(text: str) -> str:
    """Schr\\"odinger, {\\'e}t{\\'e}, \\v{C}ech, {\\o}ksendal -> Unicode. Math and other
    commands are left as they are."""
    if "\\" not in text:
        return text
    text = _SYMBOL_ACCENT.sub(_accented, text)
    text = _LETTER_ACCENT.sub(_accented, text)
    return _LETTER_MACRO.sub(lambda m: _LETTERS[m.group(1)], text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def authors_of(paper) -> list[str]:
    """The paper's authors in order (from with_all_authors' prefetch)."""
    return [authorship.author.name for authorship in paper.all_authorships]


def citation_keys(papers) -> dict[int, str]:
    """Unique keys for the papers (see the module docstring)."""
    by_key: dict[str, list] = {}
    for paper in papers:
        by_key.setdefault(citation.cite_key(paper, authors_of(paper)), []).append(paper)
    keys = {}
    for base, group in by_key.items():
        group.sort(key=lambda p: p.arxiv_id)
        for index, paper in enumerate(group):
            keys[paper.pk] = base + _suffix(index) if index else base
    return keys


def _suffix(index: int) -> str:
    """1 -> a, 2 -> b, ..., 26 -> z, 27 -> aa."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = string.ascii_lowercase[rest] + letters
    return letters


def bibtex(papers) -> str:
    papers = list(papers)
    keys = citation_keys(papers)
    entries = []
    for paper in papers:
        authors = authors_of(paper)
        entry = citation.bibtex(paper, authors)
        head, _, rest = entry.partition("\n")
        kind = head.split("{", 1)[0]
        entries.append(f"{kind}{{{keys[paper.pk]},\n{rest}")
    return "\n\n".join(entries) + "\n" if entries else ""


def ris(papers) -> str:
    """One RIS record per paper (TY  - ... ER  - ), CRLF-free."""
    papers = list(papers)
    keys = citation_keys(papers)
    lines = []
    for paper in papers:
        # UNPB ("unpublished work"): RIS has no preprint type; reference managers read it.
        lines.append("TY  - JOUR" if paper.journal_ref else "TY  - UNPB")
        lines.append(f"ID  - {keys[paper.pk]}")
        lines.append(f"TI  - {tex_to_unicode(_one_line(paper.title))}")
        for name in authors_of(paper):
            lines.append(f"AU  - {_ris_name(tex_to_unicode(name))}")
        if paper.published_at:
            lines.append(f"PY  - {paper.published_at.year}")
            lines.append(f"DA  - {paper.published_at:%Y/%m/%d}")
        if paper.abstract:
            lines.append(f"AB  - {tex_to_unicode(_one_line(paper.abstract))}")
        if paper.journal_ref:
            lines.append(f"JO  - {_one_line(paper.journal_ref)}")
        if paper.doi:
            lines.append(f"DO  - {paper.doi.strip()}")
        lines.append("PB  - arXiv")
        lines.append(f"AN  - arXiv:{paper.arxiv_id}")
        lines.append(f"UR  - {paper.abs_url}")
        lines.append(f"L1  - {paper.pdf_url}")
        for category in paper.categories or [paper.primary_category]:
            if category:
                lines.append(f"KW  - {category}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)


def _ris_name(name: str) -> str:
    """RIS wants "Last, First": the last word is taken as the surname, as arXiv gives
    names first name first."""
    parts = name.split()
    if len(parts) < 2:
        return name
    return f"{parts[-1]}, {' '.join(parts[:-1])}"


def csv_text(papers, extra=None) -> str:
    """A spreadsheet of the papers. `extra(paper)` -> dict of more columns (the
    library's saved and read dates, a collection's notes)."""
    out = io.StringIO()
    rows = []
    for paper in papers:
        row = {
            "arxiv_id": paper.arxiv_id,
            "title": _one_line(paper.title),
            "authors": "; ".join(authors_of(paper)),
            "published": f"{paper.published_at:%Y-%m-%d}" if paper.published_at else "",
            "primary_category": paper.primary_category,
            "doi": paper.doi,
            "url": paper.abs_url,
            "code": paper.code_url,
        }
        if extra:
            row.update(extra(paper))
        rows.append(row)
    fields = list(rows[0]) if rows else ["arxiv_id", "title", "authors", "published", "url"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        # A cell starting with = + - @ would be a formula in a spreadsheet.
        writer.writerow({k: _no_formula(v) for k, v in row.items()})
    return out.getvalue()


def _no_formula(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
