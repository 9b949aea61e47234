"""A BibTeX entry for a paper, in the form arXiv's own "Export BibTeX Citation" gives."""

import re
import unicodedata

_NON_KEY = re.compile(r"[^a-z0-9]")


def _ascii_word(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return _NON_KEY.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())


def _balanced(text: str) -> str:
    """BibTeX fails on unbalanced braces; drop them all if they don't pair up."""
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        return text.replace("{", "").replace("}", "")
    return text


def cite_key(paper, authors: list[str]) -> str:
    """surname + year + first significant title word, e.g. vaswani2017attention."""
    surname = _ascii_word(authors[0].split()[-1]) if authors and authors[0].split() else ""
    year = paper.published_at.year if paper.published_at else ""
    words = [_ascii_word(w) for w in re.sub(r"\$[^$]*\$", " ", paper.title).split()]
    first = next((w for w in words if len(w) > 3), words[0] if words else "")
    key = f"{surname}{year}{first}"
    return key or _NON_KEY.sub("", paper.arxiv_id.lower())


def bibtex(paper, authors: list[str]) -> str:
    fields = [
        ("title", " ".join(paper.title.split())),
        ("author", " and ".join(authors)),
        ("year", str(paper.published_at.year) if paper.published_at else ""),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category),
        ("doi", paper.doi),
        ("journal", paper.journal_ref),
        ("url", paper.abs_url),
    ]
    entry_type = "article" if paper.journal_ref else "misc"
    lines = [f"@{entry_type}{{{cite_key(paper, authors)},"]
    lines += [f"      {name}={{{_balanced(value)}}}," for name, value in fields if value]
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    return "\n".join(lines)
