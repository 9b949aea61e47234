"""Filters for showing paper text: does a page need KaTeX (has_math), and abstracts and
comments with their web addresses as links (linkify)."""

import re
from collections.abc import Iterable

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .papers_tags import _CLOSING, _MATH_DELIMITER

register = template.Library()

# What site.js hands to KaTeX's auto-render: $...$, $$...$$, \(...\), \[...\].
_MATH_START = re.compile(r"(?<!\\)\$|\\\(|\\\[")

# An http(s) address in running text. It ends at white space, at characters that can't
# be in a bare URL (<>"'`{}|\^), and at a math delimiter; trailing punctuation is
# trimmed afterwards (_trim), the way a reader reads "see https://x.org/a." or "(at
# https://x.org/b)".
_URL = re.compile(r"\bhttps?://[^\s<>\"'`{}|\\^$]+", re.IGNORECASE)
_TRAILING = ".,;:!?*"
_PAIRS = {")": "(", "]": "["}


def _has_math_text(text) -> bool:
    return bool(text) and bool(_MATH_START.search(str(text)))


@register.filter
def has_math(value) -> bool:
    """Whether `value` (a text, a paper, or papers: a page, a list) holds anything KaTeX
    would render. For papers: in a title or an abstract. A page of papers is iterated
    as the list below will iterate it, so this costs no query of its own."""
    if value is None:
        return False
    if isinstance(value, str):
        return _has_math_text(value)
    if hasattr(value, "title"):
        deferred = value.get_deferred_fields() if hasattr(value, "get_deferred_fields") else ()
        abstract = "" if "abstract" in deferred else getattr(value, "abstract", "")
        return _has_math_text(value.title) or _has_math_text(abstract)
    if isinstance(value, Iterable):
        return any(has_math(item) for item in value)
    return False


def _trim(url: str) -> tuple[str, str]:
    """(the address, what followed it in the sentence): trailing punctuation and a
    closing bracket the address did not open stay outside the link."""
    tail = ""
    while url:
        last = url[-1]
        if last in _TRAILING:
            pass
        elif last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
            pass
        else:
            break
        tail = last + tail
        url = url[:-1]
    return url, tail


def _link_urls(text: str) -> str:
    """Escaped `text` (no math in it) with each address as a link."""
    out, position = [], 0
    for match in _URL.finditer(text):
        url, tail = _trim(match.group(0))
        if len(url) <= len("https://"):
            continue
        out.append(escape(text[position : match.start()]))
        href = escape(url)
        out.append(f'<a href="{href}" rel="nofollow ugc">{href}</a>')
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return "".join(out)


def _math_spans(text: str):
    """(start, end) of each formula in `text`, as site.js's delimiters read it: an
    address inside one is left as it is, for KaTeX to read (a link would split the
    formula's text). A formula left open runs to the end of the text."""
    opener = start = None
    for match in _MATH_DELIMITER.finditer(text):
        token = match.group(1)
        if opener is None and token in _CLOSING:
            opener, start = token, match.start()
        elif opener is not None and token == _CLOSING[opener]:
            yield start, match.end()
            opener = start = None
    if opener is not None:
        yield start, len(text)


@register.filter(is_safe=True)
def linkify(text) -> str:
    """Escape `text` and make its http(s) addresses links (rel="nofollow ugc": the text
    comes from arXiv's authors, not from this site). Text inside formulas is escaped
    and left alone. Takes plain text only: for text already marked up (search
    highlights), use it before `marked`, never after."""
    text = str(text or "")
    out, position = [], 0
    for start, end in _math_spans(text):
        out.append(_link_urls(text[position:start]))
        out.append(escape(text[start:end]))
        position = end
    out.append(_link_urls(text[position:]))
    return mark_safe("".join(out))
